"""Screens DCGAN recipe candidates over several seeds at once on one GPU (issue 9's seed spread).

  python results/gpu_sweep.py --out=$OUT/sweep.json --data_dir=.gpudata --parallel=8 --deadline_s=330

Each candidate is the default (fast) recipe plus the flags in CANDIDATES, trained for 2 epochs on MNIST and
scored by experiments.evaluate (10,000 samples). Jobs run as separate processes sharing the GPU; a job not
started before the deadline is skipped and listed as such. The summary JSON holds, per candidate and seed, the
10,000-sample FID and classes covered, and the in-training FIDs. A GPU screen only picks candidates: the
numbers quoted in results/README.md for the chosen recipe are from the 2-core CPU runs of run_issue9.sh.
"""

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import time

CANDIDATES = {
    "fast": [],
    "ls01": ["--config.label_smoothing=0.1"],
    "ema9998": ["--config.g_ema_decay=0.9998"],
    "lr1e3": ["--config.learning_rate=1e-3"],
    "lr6e4": ["--config.learning_rate=6e-4"],
    "dlr16e4": ["--config.d_learning_rate=1.6e-3"],
    "bnd": ["--config.d_batch_norm=true"],
    "b1_0": ["--config.b1=0.0"],
}


def run_job(name, flags, seed, args, deadline):
  if time.time() > deadline:
    return {"name": name, "seed": seed, "status": "skipped (deadline)"}
  workdir = os.path.join(args.workroot, f"{name}_s{seed}")
  log = open(workdir + ".log", "w")
  start = time.time()
  base = [sys.executable, "-m"]
  train = base + ["experiments.dcgan", f"--workdir={workdir}", f"--data_dir={args.data_dir}", "--num_epochs=2",
                  f"--seed={seed}", f"--accelerator={args.accelerator}"] + flags + args.extra.split()
  rc = subprocess.call(train, stdout=log, stderr=subprocess.STDOUT)
  result = {"name": name, "flags": flags, "seed": seed, "train_rc": rc, "train_s": round(time.time() - start, 1)}
  if rc == 0:
    rc = subprocess.call(base + ["experiments.evaluate", f"--workdir={workdir}", f"--data_dir={args.data_dir}",
                                 "--memorization=false", "--baseline=false"], stdout=log, stderr=subprocess.STDOUT)
    result["eval_rc"] = rc
    if rc == 0:
      with open(os.path.join(workdir, "eval.json")) as f:
        scores = json.load(f)
      result["eval"] = {k: v for k, v in scores["scores"].items() if not isinstance(v, list)}
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
      records = [json.loads(line) for line in f]
    result["in_training_fid"] = [(r["step"], round(r["test_fid"], 2)) for r in records if "test_fid" in r]
    result["images_per_sec"] = [round(r["images_per_sec"]) for r in records if "images_per_sec" in r][-3:]
  if rc != 0:
    log.flush()
    with open(workdir + ".log") as f:
      result["log_tail"] = f.read()[-2000:]
  result["status"] = "done" if rc == 0 else "failed"
  return result


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--out", required=True)
  parser.add_argument("--data_dir", required=True)
  parser.add_argument("--workroot", default="/tmp/sweep")
  parser.add_argument("--accelerator", default="gpu")
  parser.add_argument("--seeds", default="0,1,2")
  parser.add_argument("--candidates", default=",".join(CANDIDATES))
  parser.add_argument("--extra", default="", help="flags added to every training run (e.g. --max_steps=50)")
  parser.add_argument("--parallel", type=int, default=8)
  parser.add_argument("--deadline_s", type=float, default=330)
  args = parser.parse_args()
  os.makedirs(args.workroot, exist_ok=True)
  deadline = time.time() + args.deadline_s
  seeds = [int(s) for s in args.seeds.split(",")]
  jobs = [(name, CANDIDATES[name], seed) for seed in seeds for name in args.candidates.split(",")]
  results = []
  with concurrent.futures.ThreadPoolExecutor(args.parallel) as pool:
    futures = [pool.submit(run_job, name, flags, seed, args, deadline) for name, flags, seed in jobs]
    for future in concurrent.futures.as_completed(futures):
      results.append(future.result())
      r = results[-1]
      ev = r.get("eval", {})
      print(f"{r['name']:>10} seed {r['seed']}: {r['status']:<8} train {r.get('train_s', '-')} s  "
            f"FID {ev.get('fid', float('nan')):.2f} classes {ev.get('classes_covered')} "
            f"recall {ev.get('recall')} in-training {r.get('in_training_fid')} img/s {r.get('images_per_sec')}",
            flush=True)
      with open(args.out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
  main()
