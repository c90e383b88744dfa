"""gan_jax against PyTorch eager on the same machine: train-step throughput, and per-layer timings.

  pip install -e '.[bench]'                          # PyTorch 2.13 (CPU build), the baseline
  python -m benchmarks.run                           # all cases -> results/benchmarks.md
  python -m benchmarks.run --cases=dcgan_tutorial --rounds=7
  python -m benchmarks.run --layers                  # each conv of G and D: forward, forward+backward

Each case runs in two worker processes (benchmarks.workers), one per framework,
asked in turn, so the frameworks alternate window by window: a JAX window of
steps, then a PyTorch window, `--rounds` times, after warm-up windows (JAX's
compilation, PyTorch's allocator). A window times whole steps with the data
feeding (uint8 batch -> float -> device) included, and ends by waiting for the
results. Reported: images/s per window (median and min-max over the rounds),
the ratio of the medians (JAX / PyTorch), and JAX's achieved GFLOP/s (XLA's own
count of the compiled step's floating-point operations over its median time).

Writes --out (default results/benchmarks.md): the table, the command and the machine.
"""

import datetime
import importlib.util
import math
import multiprocessing
import os
import platform
import sys

import numpy as np
from absl import app, flags

from benchmarks import workers
from gan_jax import files

flags.DEFINE_list("cases", ["dcgan_tutorial", "dcgan_tutorial_autodiff", "dcgan_tutorial_reuse",
                            "dcgan_tutorial_bf16", "dcgan_fast", "dcgan_fast_b16", "gan_mlp", "vae", "matmul",
                            "matmul_bf16"],
                  f"cases to time: {', '.join(workers.CASES)}")
flags.DEFINE_integer("rounds", 5, "timed windows per framework (alternating)")
flags.DEFINE_float("window_seconds", 3.0, "target length of one timed window")
flags.DEFINE_integer("batch_size", 0, "batch size of every case (0: each case's default)")
flags.DEFINE_bool("layers", False, "time each convolution of the DCGANs' G and D instead of whole steps")
flags.DEFINE_list("recipes", ["tf_tutorial", "fast"], "with --layers: the DCGAN recipes whose layers are timed")
flags.DEFINE_enum("device", "cpu", ["cpu", "gpu"], "where both frameworks run (JAX's backend, PyTorch's device)")
flags.DEFINE_bool("torch", True, "also time PyTorch (needs `pip install -e '.[bench]'`)")
flags.DEFINE_string("data_dir", None, "directory holding <dataset>/*.gz (else $GAN_JAX_DATA_DIR, cache, registries)")
flags.DEFINE_string("out", None, "markdown file for the results (default results/benchmarks.md, or "
                                 "results/benchmarks_layers.md with --layers); '' writes none")
FLAGS = flags.FLAGS


class Worker:
  """A framework's worker process (benchmarks.workers.serve) and its pipe."""

  def __init__(self, framework: str):
    ctx = multiprocessing.get_context("spawn")
    self.conn, child = ctx.Pipe()
    self.process = ctx.Process(target=workers.serve, args=(framework, child), daemon=True)
    self.process.start()
    self.framework = framework

  def ask(self, *request):
    self.conn.send(request)
    status, value = self.conn.recv()
    if status != "ok":
      raise RuntimeError(f"{self.framework} worker: {value}")
    return value

  def close(self):
    try:
      self.ask("stop")
    finally:
      self.process.join(timeout=10)


def machine() -> str:
  """One line naming the CPU, its cores and the framework versions."""
  cpu = platform.processor() or platform.machine()
  try:
    with open("/proc/cpuinfo") as f:
      cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
  except (OSError, StopIteration):
    pass
  import jax
  versions = f"jax {jax.__version__}"
  try:
    import torch
    versions += f", torch {torch.__version__}"
  except ImportError:
    pass
  return f"{cpu}, {os.cpu_count()} cores visible; {versions}; Python {platform.python_version()}"


def _calibrate(worker: Worker, target_seconds: float) -> int:
  """Steps per window: warm-up windows, then as many steps as fill target_seconds."""
  worker.ask("window", 2)
  worker.ask("window", 2)
  seconds = worker.ask("window", 3) / 3
  steps = max(2, int(math.ceil(target_seconds / max(seconds, 1e-6))))
  worker.ask("window", min(steps, 20))
  return steps


def time_case(name: str, batch_size: int, frameworks: list[str]) -> dict:
  """{framework: {"images_per_s": [...], "info": ...}} for one case, the frameworks alternating."""
  result = {}
  pool = {fw: Worker(fw) for fw in frameworks}
  try:
    steps = {}
    for fw, worker in pool.items():
      info = worker.ask("case", name, batch_size, FLAGS.data_dir, FLAGS.device)
      steps[fw] = _calibrate(worker, FLAGS.window_seconds)
      result[fw] = {"info": info, "steps": steps[fw], "seconds": []}
    for _ in range(FLAGS.rounds):
      for fw, worker in pool.items():
        result[fw]["seconds"].append(worker.ask("window", steps[fw]) / steps[fw])
  finally:
    for worker in pool.values():
      worker.close()
  return result


def _stats(values):
  values = np.asarray(values)
  return float(np.median(values)), float(values.min()), float(values.max())


def steps_table(results: dict) -> list[str]:
  lines = ["| case | batch | gan_jax images/s (median, min-max) | PyTorch images/s | ratio | gan_jax GFLOP/s |",
           "|---|---|---|---|---|---|"]
  for name, (batch_size, res) in results.items():
    desc = workers.CASES[name][3]
    if workers.CASES[name][0] is None:  # a matrix product
      cells = []
      for fw in ("jax", "torch"):
        if fw in res:
          med, lo, hi = _stats([2.0 * batch_size ** 3 / s / 1e9 for s in res[fw]["seconds"]])
          cells.append(f"{med:.0f} GFLOP/s ({lo:.0f}-{hi:.0f})")
        else:
          cells.append("-")
      ratio = "-"
      if "torch" in res:
        ratio = f"{np.median(res['torch']['seconds']) / np.median(res['jax']['seconds']):.2f}"
      lines.append(f"| {desc} | {batch_size} | {cells[0]} | {cells[1]} | {ratio} | {cells[0].split(' ')[0]} |")
      continue
    jax_rate = [batch_size / s for s in res["jax"]["seconds"]]
    med, lo, hi = _stats(jax_rate)
    jax_cell = f"{med:.0f} ({lo:.0f}-{hi:.0f})"
    torch_cell, ratio = "-", "-"
    if "torch" in res:
      tmed, tlo, thi = _stats([batch_size / s for s in res["torch"]["seconds"]])
      torch_cell, ratio = f"{tmed:.0f} ({tlo:.0f}-{thi:.0f})", f"**{med / tmed:.2f}**"
    flops = res["jax"]["info"].get("flops")
    gflops = f"{flops / np.median(res['jax']['seconds']) / 1e9:.0f}" if flops else "-"
    lines.append(f"| {desc} (`{name}`) | {batch_size} | {jax_cell} | {torch_cell} | {ratio} | {gflops} |")
  return lines


def layers_table(frameworks: list[str]) -> list[str]:
  batch_size = FLAGS.batch_size or 256
  lines = [f"Batch {batch_size}, float32; milliseconds per call (median); forward GFLOP/s in brackets. "
           "fwd+bwd is the forward pass and both gradients (input and weights); gan_jax's with XLA's autodiff "
           "gradients and with gan_jax.models.conv's (`--config.conv_gradients=fast`).", "",
           "| recipe | layer | shape | gan_jax forward | PyTorch forward | gan_jax fwd+bwd, autodiff | "
           "gan_jax fwd+bwd, fast | PyTorch fwd+bwd | ratio (PyTorch / fast) |", "|---|---|---|---|---|---|---|---|---|"]
  pool = {fw: Worker(fw) for fw in frameworks}
  try:
    for recipe in FLAGS.recipes:
      for spec in workers.layer_specs(recipe):
        ms = {}
        for mode in ("forward", "backward"):
          for gradients in ("autodiff", "fast"):
            if mode == "forward" and gradients == "fast":
              continue  # the same forward pass
            ms["jax", mode, gradients] = 1e3 * pool["jax"].ask("layer", spec, batch_size, mode, gradients)
          if "torch" in pool:
            ms["torch", mode, None] = 1e3 * pool["torch"].ask("layer", spec, batch_size, mode)
        gflop = workers.layer_flops(spec, batch_size) / 1e9

        def cell(*key):
          if key not in ms:
            return "-"
          return f"{ms[key]:.1f}" + (f" ({gflop / ms[key] * 1e3:.0f})" if key[1] == "forward" else "")
        ratio = (f"{ms['torch', 'backward', None] / ms['jax', 'backward', 'fast']:.2f}"
                 if ("torch", "backward", None) in ms else "-")
        shape = (f"{spec['side']}x{spec['side']}x{spec['c_in']} -> {spec['c_out']}, {spec['k']}x{spec['k']} "
                 f"/{spec['stride']}")
        lines.append(f"| {recipe} | {spec['name']} | {shape} | {cell('jax', 'forward', 'autodiff')} | "
                     f"{cell('torch', 'forward', None)} | {cell('jax', 'backward', 'autodiff')} | "
                     f"{cell('jax', 'backward', 'fast')} | {cell('torch', 'backward', None)} | {ratio} |")
        print(lines[-1], flush=True)
  finally:
    for worker in pool.values():
      worker.close()
  return lines


def main(argv):
  del argv
  frameworks = ["jax"]
  if FLAGS.torch:
    if importlib.util.find_spec("torch") is not None:
      frameworks.append("torch")
    else:
      print("error: PyTorch is not installed; run pip install -e '.[bench]' (or pass --notorch)", file=sys.stderr)
      sys.exit(2)
  unknown = [c for c in FLAGS.cases if c not in workers.CASES]
  if unknown:
    print(f"error: unknown case {unknown[0]!r}; choose from {', '.join(workers.CASES)}", file=sys.stderr)
    sys.exit(2)
  command = "python -m benchmarks.run " + " ".join(sys.argv[1:])
  header = [f"# gan_jax against PyTorch eager{' (per layer)' if FLAGS.layers else ''}", "",
            f"- command: `{command.strip()}`",
            f"- machine: {machine()}",
            f"- date: {datetime.date.today().isoformat()}; float32 unless a case says otherwise; "
            f"device {FLAGS.device}", ""]
  if FLAGS.layers:
    lines = layers_table(frameworks)
  else:
    results = {}
    for name in FLAGS.cases:
      batch_size = FLAGS.batch_size or workers.CASES[name][2]
      print(f"benchmarks: {name} (batch {batch_size}) ...", flush=True)
      results[name] = (batch_size, time_case(name, batch_size, frameworks))
      print("\n".join(steps_table({name: results[name]})[2:]), flush=True)
    lines = steps_table(results)
  text = "\n".join(header + lines) + "\n"
  print(text)
  out = FLAGS.out if FLAGS.out is not None else (
      "results/benchmarks_layers.md" if FLAGS.layers else "results/benchmarks.md")
  if out:
    files.write_text(out, text)
    print(f"benchmarks: wrote {out}")


if __name__ == "__main__":
  app.run(main)
