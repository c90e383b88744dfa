"""Issue 13's comparisons on one GPU: every job a separate process, all sharing the GPU at once.

  python results/gpu_issue13.py --out=$OUT --data_dir=.gpudata --minutes=3.5 --mlp_minutes=5 --deadline_s=370

1. The DCGAN architecture of the fast recipe (G 128-64, D 64-128, EMA samples) under each
   loss / regularizer of CURES, on MNIST and Fashion-MNIST, each for the same training-time
   budget (--max_train_minutes), FID of 2,000 samples every epoch, then experiments.evaluate
   (10,000 samples: FID, KID, SWD, classes, recall).
2. The coursework's MLP GAN study: D dropout 0.3 and 0, seeds 0 and 1, 100 epochs, scored every
   10 epochs (2,000 samples), then experiments.evaluate.
3. The ring of 8 Gaussians: every toy.RING_VARIANTS entry, 3 seeds (experiments.toy --noone_d), one
   process per variant.

The same driver ran the Fashion-MNIST part on the 2-core CPU (results/README.md gives the command).
Training jobs still running at --deadline_s get SIGTERM (they save and stop; the summary says
so) and are evaluated from that checkpoint. Copies each run's small files (metrics, configs, scores, figures, the milestone sample
grids) to --out, and writes --out/summary.json. Every job shares one GPU and 16 CPU cores with
the others, so its speed is that of a shared machine: the comparison is at equal wall time
under equal sharing, not a benchmark.
"""

import argparse
import concurrent.futures
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

FAST_ARCH = []  # the default recipe (fast): its architecture, batch 16, Adam 8e-4 (beta1 0), G's moving average
WGAN = ["--loss=wasserstein", "--config.k_d_steps=5", "--batch_size=64"]
CURES = {
    "non_saturating": FAST_ARCH,
    "minimax": ["--loss=minimax"],
    "least_squares": ["--loss=least_squares", "--ls_coding=zero_one"],
    "wgan": WGAN + ["--critic_regularizer=clip", "--optimizer=rmsprop", "--config.learning_rate=5e-5"],
    "wgan_gp": WGAN + ["--critic_regularizer=gradient_penalty", "--config.learning_rate=1e-4", "--config.b1=0.5",
                       "--config.b2=0.9"],
    "non_saturating_sn": ["--spectral_norm"],
    "non_saturating_noise": ["--instance_noise=0.1", "--config.instance_noise_steps=20000"],
}
DATASETS = ("mnist", "fashion_mnist")
RING_VARIANTS = ("minimax", "non_saturating", "least_squares", "wgan", "wgan_gp", "non_saturating_sn")
KEPT = ("metrics.jsonl", "config.json", "eval.json", "toy.json", "train.log", "evaluate.log", "[!s]*.png",
        "samples_progress.png", "samples_epoch_0[125]0.*", "samples_epoch_100.*")


def start(name, argv, workroot):
  workdir = os.path.join(workroot, name)
  os.makedirs(workdir, exist_ok=True)
  log = open(os.path.join(workdir, "train.log"), "w")
  return {"name": name, "workdir": workdir, "argv": argv, "log": log, "start": time.time(),
          "proc": subprocess.Popen([sys.executable, "-m"] + argv + [f"--workdir={workdir}"], stdout=log,
                                   stderr=subprocess.STDOUT)}


def evaluate(job, data_dir, baseline, num_samples):
  with open(os.path.join(job["workdir"], "evaluate.log"), "w") as log:
    rc = subprocess.call([sys.executable, "-m", "experiments.evaluate", f"--workdir={job['workdir']}",
                          f"--data_dir={data_dir}", "--memorization=false", f"--baseline={str(baseline).lower()}",
                          f"--num_samples={num_samples}"],
                         stdout=log, stderr=subprocess.STDOUT)
  return rc


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--out", required=True)
  parser.add_argument("--data_dir", required=True)
  parser.add_argument("--workroot", default="/tmp/issue13")
  parser.add_argument("--accelerator", default="gpu")
  parser.add_argument("--minutes", type=float, default=4.0, help="training-time budget of each DCGAN run")
  parser.add_argument("--mlp_epochs", type=int, default=100)
  parser.add_argument("--mlp_minutes", type=float, default=5.5, help="the MLP runs' budget, a guard")
  parser.add_argument("--ring_steps", type=int, default=10000)
  parser.add_argument("--deadline_s", type=float, default=420, help="SIGTERM to training jobs still running then")
  parser.add_argument("--extra", default="", help="flags added to every GAN training run (smoke tests)")
  parser.add_argument("--cures", default=",".join(CURES))
  parser.add_argument("--datasets", default=",".join(DATASETS))
  parser.add_argument("--mlp_seeds", default="0,1")
  parser.add_argument("--eval_samples", type=int, default=10000, help="samples experiments.evaluate scores")
  parser.add_argument("--ring_seeds", type=int, default=3)
  parser.add_argument("--ring_variants", default=",".join(RING_VARIANTS), help="'' for none")
  args = parser.parse_args()
  t0 = time.time()
  os.makedirs(args.out, exist_ok=True)
  common = [f"--data_dir={args.data_dir}", f"--accelerator={args.accelerator}", "--config.show_progress=false",
            "--config.checkpoint_every_steps=0"] + args.extra.split()
  jobs = [start(f"ring_{variant}", ["experiments.toy", "--noone_d", f"--ring_steps={args.ring_steps}",
                                    f"--seeds={args.ring_seeds}", f"--ring_variants={variant}"], args.workroot)
          for variant in args.ring_variants.split(",") if variant]
  for seed in [int(s) for s in args.mlp_seeds.split(",") if s]:
    for dropout in (0.3, 0.0):
      jobs.append(start(f"mlp_dropout{dropout:g}_seed{seed}",
                        ["experiments.gan_mlp", f"--num_epochs={args.mlp_epochs}", f"--d_dropout={dropout}",
                         f"--seed={seed}", "--config.eval_every_epochs=10",
                         f"--max_train_minutes={args.mlp_minutes}"] + common, args.workroot))
  for dataset in args.datasets.split(","):
    for cure in args.cures.split(","):
      jobs.append(start(f"dcgan_{dataset}_{cure}",
                        ["experiments.dcgan", f"--dataset={dataset}", "--num_epochs=200",
                         f"--max_train_minutes={args.minutes}", "--config.eval_every_epochs=1"]
                        + CURES[cure] + common, args.workroot))
  print(f"started {len(jobs)} jobs at {time.time() - t0:.0f} s", flush=True)
  while any(j["proc"].poll() is None for j in jobs):
    for j in jobs:
      if "end" not in j and j["proc"].poll() is not None:
        j["end"] = time.time()
    if time.time() - t0 > args.deadline_s:
      for j in jobs:
        if j["proc"].poll() is None:
          j["proc"].send_signal(signal.SIGTERM)
          j["terminated"] = True
      for j in jobs:
        try:
          j["proc"].wait(timeout=60)
        except subprocess.TimeoutExpired:
          j["proc"].kill()
      break
    time.sleep(2)
  for j in jobs:
    j["rc"], j["seconds"] = j["proc"].wait(), round(j.get("end", time.time()) - j["start"])
    j["log"].close()
    print(f"{j['name']}: rc {j['rc']}{' (stopped at the deadline)' if j.get('terminated') else ''}, "
          f"{j['seconds']} s", flush=True)
  # Runs stopped at the deadline saved a checkpoint (SIGTERM) and are scored from it too.
  gans = [j for j in jobs if not j["name"].startswith("ring") and j["rc"] == 0]
  baseline_for = {}
  for j in gans:  # the real-vs-real baseline once per dataset
    dataset = "fashion_mnist" if "fashion" in j["name"] else "mnist"
    baseline_for.setdefault(dataset, j["name"])
  with concurrent.futures.ThreadPoolExecutor(8) as pool:
    rcs = dict(zip([j["name"] for j in gans], pool.map(
        lambda j: evaluate(j, args.data_dir, baseline_for.get(
            "fashion_mnist" if "fashion" in j["name"] else "mnist") == j["name"], args.eval_samples), gans)))
  print(f"evaluated {len(gans)} runs at {time.time() - t0:.0f} s: {rcs}", flush=True)
  summary = []
  for j in jobs:
    dest = os.path.join(args.out, j["name"])
    os.makedirs(dest, exist_ok=True)
    grids = sorted(glob.glob(os.path.join(j["workdir"], "samples_epoch_*.png")))
    for pattern in KEPT:
      for path in glob.glob(os.path.join(j["workdir"], pattern)) + grids[-1:]:
        shutil.copy(path, dest)
    summary.append({"name": j["name"], "argv": j["argv"], "rc": j["rc"], "seconds": j["seconds"],
                    "stopped_at_deadline": bool(j.get("terminated")), "evaluate_rc": rcs.get(j["name"])})
  with open(os.path.join(args.out, "summary.json"), "w") as f:
    json.dump({"total_seconds": round(time.time() - t0), "args": vars(args), "jobs": summary}, f, indent=1)
  print(f"done in {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
  main()
