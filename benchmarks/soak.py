"""Soak test of stopping and resuming: a DCGAN run killed and restarted for half an hour.

  python -m benchmarks.soak --workdir=runs/soak --data_dir=../shared/data --minutes=30

The run (`python -m experiments.dcgan`, the given --max_steps, a checkpoint every
--checkpoint_every_steps) is stopped every --min_seconds..--max_seconds
(uniformly, from --seed): with SIGTERM every --sigterm_every-th time, otherwise
with kill -9. After each stop the same command is started again. Once
--minutes have passed the run is left to finish, and an uninterrupted run with
the same flags is trained beside it.

Reported per restart: the newest step the run had logged (it logs every step),
the step it resumed from, and the steps lost: at most one checkpoint interval
after kill -9, none after SIGTERM. At the end: whether the final parameters,
batch statistics and optimizer state equal the uninterrupted run's, bitwise.

Writes --out (default results/soak.md) and the same as JSON beside it.
Exit status 1 when a bound or the final equality fails.
"""

import datetime
import json
import os
import platform
import random
import shlex
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import orbax.checkpoint as ocp
from absl import app, flags, logging

from gan_jax import files

flags.DEFINE_string("workdir", None, "directory for the two runs (interrupted/, uninterrupted/)", required=True)
flags.DEFINE_string("data_dir", "", "directory holding <dataset>/*.gz")
flags.DEFINE_float("minutes", 30.0, "how long the run is stopped and restarted")
flags.DEFINE_integer("max_steps", 26000, "train steps of the run: more than --minutes allow, so that it is not "
                     "done before the soak ends (the default DCGAN, logging every step, runs about "
                     "12-20 steps/s on 2 CPU cores)")
flags.DEFINE_integer("checkpoint_every_steps", 200, "checkpoint interval: the most steps a kill -9 may lose")
flags.DEFINE_float("min_seconds", 60.0, "shortest time between a (re)start and its stop")
flags.DEFINE_float("max_seconds", 240.0, "longest time between a (re)start and its stop")
flags.DEFINE_integer("sigterm_every", 3, "every this many-th stop is SIGTERM, the others kill -9")
flags.DEFINE_integer("seed", 0, "seed of the stop times")
flags.DEFINE_string("flags", "", "more flags of experiments.dcgan for both runs, separated by spaces")
flags.DEFINE_string("out", "results/soak.md", "the report (Markdown); the JSON goes beside it")
FLAGS = flags.FLAGS


def _command(workdir: str) -> list[str]:
  return [sys.executable, "-m", "experiments.dcgan", f"--workdir={workdir}", f"--max_steps={FLAGS.max_steps}",
          "--num_epochs=1000",  # the run's length is --max_steps
          f"--config.checkpoint_every_steps={FLAGS.checkpoint_every_steps}", "--config.log_every_steps=1",
          "--config.show_progress=false", "--config.eval_every_epochs=0",
          *([f"--data_dir={FLAGS.data_dir}"] if FLAGS.data_dir else []), *shlex.split(FLAGS.flags)]


def _last_logged_step(workdir: str) -> int:
  path = os.path.join(workdir, "metrics.jsonl")
  if not os.path.exists(path):
    return 0
  with open(path) as f:
    steps = [json.loads(line)["step"] for line in f if line.strip()]
  return steps[-1] if steps else 0


def _resumed_from(stdout: str) -> int:
  for line in stdout.splitlines():
    if line.startswith("gan_jax: resuming") and " from step " in line:
      return int(line.rsplit(" ", 1)[-1])
  return 0


def _final_state(workdir: str) -> tuple[int, dict]:
  with ocp.CheckpointManager(os.path.abspath(os.path.join(workdir, "checkpoints"))) as manager:
    step = manager.latest_step()
    return step, manager.restore(step)


def _soak(interrupted: str) -> list[dict]:
  """Stops and restarts the run until --minutes have passed, then lets it finish; returns the stops."""
  chooser = random.Random(FLAGS.seed)
  env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # "resuming from step S" reaches the pipe before a kill -9
  stops, previous, start = [], None, time.time()
  while True:
    soaking = time.time() - start < FLAGS.minutes * 60
    process = subprocess.Popen(_command(interrupted), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env)
    name = None
    try:
      stdout, stderr = process.communicate(
          timeout=chooser.uniform(FLAGS.min_seconds, FLAGS.max_seconds) if soaking else None)
    except subprocess.TimeoutExpired:
      name = "SIGTERM" if (len(stops) + 1) % FLAGS.sigterm_every == 0 else "SIGKILL"
      process.send_signal(getattr(signal, name))
      stdout, stderr = process.communicate()
    if previous is not None:  # this sitting began by resuming after the previous stop
      previous["resumed_from"] = _resumed_from(stdout)
    if name is None:
      if process.returncode != 0:
        raise RuntimeError(f"the run failed (exit {process.returncode}): {stderr[-2000:]}")
      return stops
    previous = {"signal": name, "at_seconds": round(time.time() - start, 1),
                "last_logged_step": _last_logged_step(interrupted), "exit_status": process.returncode}
    stops.append(previous)
    print(f"soak: {name} at {previous['at_seconds']} s, step {previous['last_logged_step']} "
          f"(exit {process.returncode})", flush=True)


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)  # orbax logs every restore at INFO
  interrupted = os.path.join(FLAGS.workdir, "interrupted")
  uninterrupted = os.path.join(FLAGS.workdir, "uninterrupted")
  if os.path.exists(interrupted) or os.path.exists(uninterrupted):
    print(f"error: {FLAGS.workdir} holds an earlier soak; use a new --workdir", file=sys.stderr)
    sys.exit(2)
  t0 = time.time()
  restarts = _soak(interrupted)
  soak_minutes = (time.time() - t0) / 60
  for r in restarts:
    r["steps_lost"] = r["last_logged_step"] - r["resumed_from"]
    r["bound"] = 0 if r["signal"] == "SIGTERM" else FLAGS.checkpoint_every_steps
    r["ok"] = 0 <= r["steps_lost"] <= r["bound"] and (r["signal"] != "SIGTERM" or r["exit_status"] == 0)
  print("soak: the uninterrupted run", flush=True)
  whole = subprocess.run(_command(uninterrupted), capture_output=True, text=True)
  if whole.returncode != 0:
    raise RuntimeError(f"the uninterrupted run failed: {whole.stderr[-2000:]}")
  (step_a, a), (step_b, b) = _final_state(interrupted), _final_state(uninterrupted)
  keys = ("params", "batch_stats", "opt_state")
  leaves_a, leaves_b = jax.tree.leaves([a[k] for k in keys]), jax.tree.leaves([b[k] for k in keys])
  bitwise = step_a == step_b == FLAGS.max_steps and len(leaves_a) == len(leaves_b) and all(
      np.array_equal(x, y) for x, y in zip(leaves_a, leaves_b))
  max_diff = max(float(np.max(np.abs(np.asarray(x, np.float64) - np.asarray(y, np.float64)))) if np.size(x) else 0.0
                 for x, y in zip(leaves_a, leaves_b))
  ok = bitwise and all(r["ok"] for r in restarts)
  command = "python -m benchmarks.soak " + " ".join(shlex.quote(a) for a in sys.argv[1:])
  report = {"command": command, "date": datetime.date.today().isoformat(), "machine": platform.processor() or
            platform.machine(), "cpus": os.cpu_count(), "max_steps": FLAGS.max_steps,
            "checkpoint_every_steps": FLAGS.checkpoint_every_steps, "soak_minutes": round(soak_minutes, 1),
            "restarts": restarts, "final_step": step_a, "bitwise_equal": bitwise, "max_abs_difference": max_diff,
            "ok": ok}
  lines = [f"# Soak: stopping and resuming a DCGAN run for {soak_minutes:.0f} minutes", "",
           f"`{command}` ({report['date']}, {os.cpu_count()} CPUs). The run: `python -m experiments.dcgan "
           f"--max_steps={FLAGS.max_steps} --num_epochs=1000 --config.checkpoint_every_steps={FLAGS.checkpoint_every_steps} "
           f"{FLAGS.flags}`, stopped every {FLAGS.min_seconds:.0f}-{FLAGS.max_seconds:.0f} s and "
           f"started again; stops {FLAGS.sigterm_every}, {2 * FLAGS.sigterm_every}, ... are SIGTERM, the others kill -9.", "",
           "| # | signal | at (s) | last logged step | resumed from | steps lost | allowed | ok |",
           "|---|---|---|---|---|---|---|---|"]
  for i, r in enumerate(restarts, 1):
    lines.append(f"| {i} | {r['signal']} | {r['at_seconds']} | {r['last_logged_step']} | {r['resumed_from']} | "
                 f"{r['steps_lost']} | {r['bound']} | {'yes' if r['ok'] else '**no**'} |")
  lines += ["", f"Final step {step_a} of {FLAGS.max_steps}; parameters, batch statistics and optimizer state "
                f"{'bitwise equal to' if bitwise else '**differ from**'} an uninterrupted run's with the same flags "
                f"(largest absolute difference {max_diff:g}).", ""]
  files.write_text(FLAGS.out, "\n".join(lines))
  files.write_json(os.path.splitext(FLAGS.out)[0] + ".json", report)
  print("\n".join(lines))
  sys.exit(0 if ok else 1)


if __name__ == "__main__":
  app.run(main)
