"""The coursework's MLP dropout study in full (issue 13, item 5): 100 epochs, 2 seeds, on the 2-core CPU.

  bash results/run_issue13_mlp100.sh train     # the four runs (resumable), two at a time
  bash results/run_issue13_mlp100.sh table     # experiments.evaluate on finished runs, then this script

  python results/issue13_mlp100.py --runs=runs/mlp100 --data_dir=../shared/data

Copies each run's small files (metrics, config, scores, loss curves, the fixed-z grids of epochs 10, 20,
50 and 100) from --runs into results/issue13_mlp100/mlp_dropout<d>_seed<s>/, then writes there
samples_seed<s>.png (one fixed z: dropout 0.3 above no dropout, epochs side by side), curves.png (the
four runs' loss and D(x), D(G(z)) curves: the coursework's "training histograms"), fid_by_epoch.png and
tables.md.
"""

import argparse
import os
import shutil

import numpy as np

import issue13_table
from gan_jax import evaluation, files, plots

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "issue13_mlp100")
DROPOUTS = ("0.3", "0")
SEEDS = (0, 1)
EPOCHS = (10, 20, 50, 100)


def collect(runs_root):
  """Copies the small files of each run that exists under runs_root; returns the names copied."""
  names = []
  for dropout in DROPOUTS:
    for seed in SEEDS:
      source = os.path.join(runs_root, f"dropout{dropout}_seed{seed}")
      if not os.path.isdir(source):
        continue
      name = f"mlp_dropout{dropout}_seed{seed}"
      target = os.path.join(OUT, name)
      os.makedirs(target, exist_ok=True)
      kept = ["metrics.jsonl", "config.json", "eval.json", "curves.png"]
      kept += [f"samples_epoch_{e:03d}.{ext}" for e in EPOCHS for ext in ("png", "npz")]
      for file in kept:
        if os.path.exists(os.path.join(source, file)):
          shutil.copyfile(os.path.join(source, file), os.path.join(target, file))
      names.append(name)
  return names


def label(name):
  """mlp_dropout0.3_seed1 -> 'D dropout 0.3, seed 1'."""
  dropout, seed = name[len("mlp_dropout"):].split("_seed")
  return f"D dropout {dropout}, seed {seed}"


def grids(name):
  """{epoch: uint8 [N, 28, 28]} of the run's fixed-z samples at EPOCHS (those it has reached)."""
  found = {}
  for epoch in EPOCHS:
    path = os.path.join(OUT, name, f"samples_epoch_{epoch:03d}.npz")
    if os.path.exists(path):
      found[epoch] = np.load(path)["images"]
  return found


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--runs", default="runs/mlp100", help="the directory run_issue13_mlp100.sh trains into")
  parser.add_argument("--data_dir", default=None)
  args = parser.parse_args()
  names = collect(args.runs)
  if not names:
    raise SystemExit(f"error: no run under {args.runs}; train them first: bash results/run_issue13_mlp100.sh train")
  for seed in SEEDS:
    found = {f"D dropout {d}": grids(f"mlp_dropout{d}_seed{seed}") for d in DROPOUTS
             if f"mlp_dropout{d}_seed{seed}" in names}
    rows = {row: by_epoch for row, by_epoch in found.items() if by_epoch}
    if rows:
      plots.save_sample_progress(None, os.path.join(OUT, f"samples_seed{seed}.png"), value_range=(0, 255),
                                 runs=rows, title=f"MLP GAN, one fixed z, seed {seed}")
  issue13_table.stack_pngs([os.path.join(OUT, n, "curves.png") for n in names],
                           [label(n) for n in names], os.path.join(OUT, "curves.png"), 2,
                           panel_inches=5.5)
  baseline = evaluation.real_baseline(evaluation.load_reference("mnist", args.data_dir), num_samples=2000,
                                      memorization=False)["fid"]
  runs = {label(n): [
      {"epoch": r["epoch"], "FID (2,000 samples)": r["test_fid"]} for r in issue13_table.records(n, OUT) if "test_fid" in r]
      for n in names}
  plots.plot_score_by_epoch(None, "FID (2,000 samples)", os.path.join(OUT, "fid_by_epoch.png"), baseline=baseline,
                            title="MLP GAN on MNIST, D dropout 0.3 against none", runs=runs)
  shares = ["| run | SWD x1e3 | share of each digit class, 0-9, in 10,000 samples (LeNet's labels) |", "|---|---|---|"]
  for name in names:
    s = issue13_table.scores(name, OUT)
    if s:
      shares.append(f"| {name} | {s['scores']['swd']:.1f} | "
                    + " ".join(f"{h:.3f}" for h in s["scores"]["class_histogram"]) + " |")
  text = ["# The MLP GAN with and without D dropout 0.3, 100 epochs, 2 seeds (2-core CPU)", "",
          "Made by `bash results/run_issue13_mlp100.sh train` then `table`.", "",
          issue13_table.mlp_table(OUT), "", "\n".join(shares), "",
          f"Real-vs-real FID of 2,000 training images against the test split: {baseline:.1f}.", ""]
  files.write_text(os.path.join(OUT, "tables.md"), "\n".join(text))
  print("\n".join(text))


if __name__ == "__main__":
  main()
