"""Tables and figures of issue 13's GPU comparison (results/issue13_gpu/, made by results/gpu_issue13.sh).

  python results/issue13_table.py --data_dir=../shared/data    # writes results/issue13_gpu/tables.md and *.png

Reads each run's metrics.jsonl, eval.json (experiments.evaluate, 10,000 samples) and toy.json.
Writes fid_against_minutes.png (every DCGAN cure, via gan_jax.plots), critic_vs_fid.png (the
Wasserstein runs' W1 estimate against FID), mlp_dropout_samples.png (the MLP GAN's fixed-z grids
at epochs 10-40, read from the runs' PNGs), ring.png (the ring variants' toy_ring.png stacked) and
tables.md.
"""

import argparse
import glob
import json
import os

import matplotlib.image
import numpy as np

from gan_jax import evaluation, files, plots
from gan_jax.train import MetricsLog

ROOT = os.path.join(os.path.dirname(__file__), "issue13_gpu")
FASHION_ROOT = os.path.join(os.path.dirname(__file__), "issue13_cpu_fashion")  # three cures, on the 2-core CPU
CURES = ("non_saturating", "minimax", "least_squares", "wgan", "wgan_gp", "non_saturating_sn", "non_saturating_noise")
LABELS = {"non_saturating": "non-saturating (the fast recipe)", "minimax": "minimax",
          "least_squares": "least squares (0-1 codes)", "wgan": "WGAN (clip 0.01, RMSProp 5e-5, 5 critic steps, b64)",
          "wgan_gp": "WGAN-GP (lambda 10, Adam 1e-4 (0.5, 0.9), 5 critic steps, b64)",
          "non_saturating_sn": "non-saturating + spectral norm", "non_saturating_noise":
          "non-saturating + instance noise (0.1, annealed over 20,000 steps)"}


def records(run, root=ROOT):
  return MetricsLog(os.path.join(root, run, "metrics.jsonl")).read()


def scores(run, root=ROOT):
  path = os.path.join(root, run, "eval.json")
  return json.load(open(path)) if os.path.exists(path) else None


def fid_at(recs, minutes, since_first_step=False):
  """The last in-training FID at or before `minutes` of training (from the first logged step if since_first_step)."""
  start = next(r["train_seconds"] for r in recs if "d_loss" in r) / 60 if since_first_step else 0.0
  scored = [r for r in recs if "test_fid" in r and r["train_seconds"] / 60 - start <= minutes + 1e-9]
  return scored[-1]["test_fid"] if scored else float("nan")


def dcgan_table(dataset, root=ROOT):
  runs = [c for c in CURES if os.path.isdir(os.path.join(root, f"dcgan_{dataset}_{c}"))]
  recs = {c: records(f"dcgan_{dataset}_{c}", root) for c in runs}
  done = {c: max(r["train_seconds"] for r in recs[c] if "train_seconds" in r) / 60 for c in runs}
  first = {c: next(r["train_seconds"] for r in recs[c] if "d_loss" in r) / 60 for c in runs}
  common = min(done.values())
  common_after = min(done[c] - first[c] for c in runs)
  lines = [f"| cure | train min reached | min to first logged step | steps | epochs | FID @ {common:.2f} min "
           f"| FID @ {common_after:.2f} min after the first step | best in-training FID | FID (10k) | KID x1e3 | "
           f"SWD x1e3 | precision | recall | classes |", "|---" * 14 + "|"]
  for c in runs:
    r, s = recs[c], scores(f"dcgan_{dataset}_{c}", root)
    last = [x for x in r if "d_loss" in x][-1]
    best = min(x["test_fid"] for x in r if "test_fid" in x)
    tail = (f"{s['scores']['fid']:.1f} | {s['scores']['kid']:.1f} | {s['scores']['swd']:.1f} | "
            f"{s['scores']['precision']:.3f} | {s['scores']['recall']:.3f} | {s['scores']['classes_covered']}"
            if s else "- | - | - | - | - | -")
    lines.append(f"| {LABELS[c]} | {done[c]:.2f} | {first[c]:.2f} | {last['step']} | {last['epoch']} | "
                 f"{fid_at(r, common):.1f} | {fid_at(r, common_after, True):.1f} | {best:.1f} | {tail} |")
  return "\n".join(lines), recs


def ring_table():
  lines = ["| variant | modes covered (of 8), seeds 0-2 | mean | high-quality fraction, seeds 0-2 | mean |",
           "|---|---|---|---|---|"]
  for path in sorted(glob.glob(os.path.join(ROOT, "ring_*", "toy.json"))):
    for name, v in json.load(open(path))["ring"].items():
      modes = [c["modes_covered"] for c in v["per_seed"]]
      hq = [c["high_quality_fraction"] for c in v["per_seed"]]
      lines.append(f"| {name} | {', '.join(map(str, modes))} | {np.mean(modes):.2f} | "
                   f"{', '.join(f'{h:.3f}' for h in hq)} | {np.mean(hq):.3f} |")
  return "\n".join(lines)


def mlp_table(root=ROOT):
  lines = ["| D dropout | seed | epoch | train min | FID (2k) | KID x1e3 | precision | recall | classes |",
           "|---|---|---|---|---|---|---|---|---|"]
  for dropout in ("0.3", "0"):
    for seed in (0, 1):
      run = f"mlp_dropout{dropout}_seed{seed}"
      for r in records(run, root):
        if "test_fid" in r:
          lines.append(f"| {dropout} | {seed} | {r['epoch']} | {r['train_seconds'] / 60:.2f} | {r['test_fid']:.1f} | "
                       f"{r['test_kid']:.1f} | {r['test_precision']:.3f} | {r['test_recall']:.3f} | "
                       f"{r['test_classes_covered']} |")
      s = scores(run, root)
      last = [r for r in records(run, root) if "d_loss" in r][-1]
      if s:
        lines.append(f"| {dropout} | {seed} | **{last['epoch']} (end), 10k samples** | {last['train_seconds'] / 60:.2f} | "
                     f"**{s['scores']['fid']:.1f}** | {s['scores']['kid']:.1f} | {s['scores']['precision']:.3f} | "
                     f"{s['scores']['recall']:.3f} | {s['scores']['classes_covered']} |")
  return "\n".join(lines)


def stack_pngs(paths, labels, out, columns, panel_inches=None):
  import matplotlib.pyplot as plt
  rows = -(-len(paths) // columns)
  width = panel_inches or 3.2 * (1 if columns > 1 else 3)
  height, across = matplotlib.image.imread(paths[0]).shape[:2]
  fig, axes = plt.subplots(rows, columns, figsize=(width * columns, (width * height / across + 0.3) * rows),
                           squeeze=False)
  for ax in axes.flat:
    ax.axis("off")
  for ax, path, label in zip(axes.flat, paths, labels):
    ax.imshow(matplotlib.image.imread(path))
    ax.set_title(label, fontsize=8)
  fig.tight_layout()
  plots.save_figure(fig, out, dpi=110)


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--data_dir", default=None)
  args = parser.parse_args()
  table, recs = dcgan_table("mnist")
  baseline = evaluation.real_baseline(evaluation.load_reference("mnist", args.data_dir), num_samples=2000,
                                      memorization=False)["fid"]
  plots.plot_fid_against_minutes({"MNIST, DCGAN architecture, one shared H100": {c: recs[c] for c in recs}},
                                 os.path.join(ROOT, "fid_against_minutes.png"), {"MNIST, DCGAN architecture, one shared H100": baseline})
  correlations = plots.plot_critic_estimate_against_fid({c: recs[c] for c in ("wgan", "wgan_gp") if c in recs},
                                                        os.path.join(ROOT, "critic_vs_fid.png"))
  grids = [(f"mlp_dropout{d}_seed0", e) for d in ("0.3", "0") for e in (10, 20, 30, 40)]
  stack_pngs([os.path.join(ROOT, run, f"samples_epoch_{e:03d}.png") for run, e in grids],
             [f"D dropout {run.split('dropout')[1].split('_')[0]}, epoch {e}" for run, e in grids],
             os.path.join(ROOT, "mlp_dropout_samples.png"), 4)
  rings = sorted(glob.glob(os.path.join(ROOT, "ring_*", "toy_ring.png")))
  stack_pngs(rings, [os.path.basename(os.path.dirname(p))[5:] for p in rings], os.path.join(ROOT, "ring.png"), 1)
  fashion, _ = dcgan_table("fashion_mnist", FASHION_ROOT)
  text = ["# Issue 13 on one H100 (results/gpu_issue13.sh; tables by results/issue13_table.py)", "",
          "## DCGAN architecture on MNIST, each cure for the same training-time budget", "", table, "",
          f"Real-vs-real FID of 2,000 training images against the test split: {baseline:.1f}.",
          "Spearman rank correlation of the critic's W1 estimate with FID over training: "
          + ", ".join(f"{k} {v:+.2f}" for k, v in correlations.items()) + ".", "",
          "## DCGAN architecture on Fashion-MNIST, three cures, 12 training minutes each on the 2-core CPU "
          "(results/issue13_cpu_fashion/)", "", fashion, "",
          "## Ring of 8 Gaussians, 10,000 steps", "", ring_table(), "",
          "## MLP GAN, D dropout 0.3 against none", "", mlp_table(), ""]
  files.write_text(os.path.join(ROOT, "tables.md"), "\n".join(text))
  print("\n".join(text))


if __name__ == "__main__":
  main()
