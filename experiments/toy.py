"""Toy GANs with known densities: D*, C(G) = -log 4 + 2 JSD, Figure 1, and mode collapse on a ring.

  python -m experiments.toy --workdir=runs/toy                       # everything (minutes on 2 cores)
  python -m experiments.toy --workdir=runs/toy --ring_steps=20000 --seeds=5
  python -m experiments.toy --workdir=runs/ring_wgan_gp --noone_d --ring_variants=wgan_gp   # one ring variant

Writes to --workdir: toy_1d_figure1.png (p_data, a histogram of p_g and D(x) over
training, as Goodfellow et al. 2014, Figure 1), toy_1d_optimal_d.png (trained D
against D* for the log-loss and both LSGAN codings), toy_ring.png (samples of each
ring variant over training: the plain losses and the cures of gan_jax.toy.RING_VARIANTS,
WGAN, WGAN-GP and spectral normalization), and toy.json with every number.
"""

import os

from absl import app, flags
import numpy as np

from experiments import cli
from gan_jax import files, plots, toy
from gan_jax.errors import ConfigError

flags.DEFINE_string("workdir", None, "output directory", required=True)
flags.DEFINE_integer("ring_steps", 10000, "train steps of each 2-D ring GAN")
flags.DEFINE_integer("seeds", 3, "seeds per loss on the ring")
flags.DEFINE_integer("d_steps", 3000, "train steps of D against the frozen 1-D generator")
flags.DEFINE_list("ring_variants", list(toy.RING_VARIANTS), "losses and cures trained on the ring (toy.RING_VARIANTS)")
flags.DEFINE_boolean("one_d", True, "also run the 1-D checks (D*, C(G), Figure 1)")
FLAGS = flags.FLAGS


def run(workdir: str, ring_steps: int, seeds: int, d_steps: int, ring_variants=tuple(toy.RING_VARIANTS),
        one_d: bool = True) -> dict:
  """Runs the toy experiments (the 1-D ones when one_d; the ring for each of ring_variants) and
  writes their figures and toy.json; returns the numbers.

  Raises:
    ConfigError: too few steps or seeds, or an unknown ring variant.
  """
  if ring_steps < 10 or seeds < 1 or d_steps < 10:
    raise ConfigError("--ring_steps and --d_steps must be >= 10 and --seeds >= 1")
  unknown = [v for v in ring_variants if v not in toy.RING_VARIANTS]
  if unknown:
    raise ConfigError(f"unknown --ring_variants={unknown[0]}; choose from {', '.join(toy.RING_VARIANTS)}")
  os.makedirs(workdir, exist_ok=True)
  results = {"optimal_discriminator": {}, "ring": {}}
  if one_d:
    run_1d(workdir, d_steps, results)
  run_ring(workdir, ring_steps, seeds, ring_variants, results)
  results["config"] = {"ring_steps": ring_steps, "seeds": seeds, "d_steps": d_steps if one_d else None,
                       "ring_variants": list(ring_variants)}
  files.write_json(os.path.join(workdir, "toy.json"), results)
  return results


def run_1d(workdir: str, d_steps: int, results: dict) -> None:
  """The 1-D checks: trained D against D* for the log-loss and both LSGAN codings, and Figure 1."""

  checks = {"log-loss (Goodfellow et al.)": ("non_saturating", (0.0, 1.0, 1.0)),
            "LSGAN 0-1 coding": ("least_squares", (0.0, 1.0, 1.0)),
            "LSGAN Pearson coding": ("least_squares", (-1.0, 1.0, 0.0))}
  curves = {}
  for label, (loss, codes) in checks.items():
    r = toy.check_optimal_discriminator(loss, num_steps=d_steps, ls_codes=codes)
    curves[label] = (r["x"], r["d"], r["d_star"])
    results["optimal_discriminator"][label] = {k: v for k, v in r.items() if k not in ("x", "d", "d_star")}
    print(f"{label}: max |D - D*| = {r['max_abs_error']:.4f}"
          + (f", V(D, G) = {r['value']:.4f}, -log 4 + 2 JSD = {r['c_of_g']:.4f}" if "value" in r else ""))
  plots.plot_optimal_discriminators(curves, os.path.join(workdir, "toy_1d_optimal_d.png"))
  plots.plot_toy_1d_training(toy.train_1d_gan(), os.path.join(workdir, "toy_1d_figure1.png"), 4.0, 0.5)


def run_ring(workdir: str, ring_steps: int, seeds: int, ring_variants, results: dict) -> None:
  """Each ring variant over `seeds` seeds: modes covered and high-quality fraction, and toy_ring.png."""
  snapshots = sorted({0, ring_steps // 10, ring_steps // 2, ring_steps})
  shown = {}
  for loss in ring_variants:
    runs = []
    for seed in range(seeds):
      r = toy.train_ring(loss, seed=seed, num_steps=ring_steps, snapshots=snapshots)
      runs.append(r["coverage"])
      if seed == 0:
        shown[loss] = r["samples"]
      print(f"ring {loss} seed {seed}: {r['coverage']['modes_covered']}/8 modes, "
            f"{100 * r['coverage']['high_quality_fraction']:.1f}% high quality")
    results["ring"][loss] = {
        "per_seed": runs,
        "modes_covered_mean": float(np.mean([c["modes_covered"] for c in runs])),
        "high_quality_fraction_mean": float(np.mean([c["high_quality_fraction"] for c in runs]))}
  _, centres = toy.ring_of_gaussians()
  plots.plot_ring_samples(shown, centres, os.path.join(workdir, "toy_ring.png"))


def main(argv):
  del argv
  cli.run_main(lambda: run(FLAGS.workdir, FLAGS.ring_steps, FLAGS.seeds, FLAGS.d_steps, FLAGS.ring_variants,
                           FLAGS.one_d))


if __name__ == "__main__":
  app.run(main)
