"""Scores a trained GAN or VAE (or a file of samples) offline, beside the real-vs-real baseline.

  python -m experiments.evaluate --workdir=runs/dcgan_mnist                       # newest checkpoint
  python -m experiments.evaluate --workdir=runs/vae_z20 --iwae_samples=1000        # + test ELBO and IWAE log p(x)
  python -m experiments.evaluate --samples=samples.npz --dataset=mnist            # uint8 `images` [N, 28, 28]
  python -m experiments.evaluate --workdir=runs/gan_mlp --all_checkpoints --num_samples=2000   # FID against epoch

Scores (gan_jax.metrics) use the domain classifier shipped for the dataset
(gan_jax.feature_nets, a LeNet): FID, classifier score, KID, precision/recall,
classes covered, memorization, the 1-NN two-sample test and the sliced
Wasserstein distance of pixel patches (SWD), each beside the
same score of training images against the test split. Writes eval.json in the
workdir (or FILE.eval.json beside --samples), or with --all_checkpoints
eval_by_step.json and fid_by_epoch.png, and prints a table.
"""

import os
import time

import numpy as np
from absl import app, flags

from experiments import cli
from gan_jax import data, evaluation, plots, runs, vae
from gan_jax.errors import ConfigError, DataError
from gan_jax.files import write_json

flags.DEFINE_string("workdir", None, "a GAN or VAE training run's directory (config.json, checkpoints/)")
flags.DEFINE_string("samples", None, "an .npz file with `images`: uint8 [N, 28, 28] (instead of --workdir)")
flags.DEFINE_string("dataset", None, "mnist or fashion_mnist (with --samples; a workdir knows its own)")
flags.DEFINE_string("data_dir", None, "directory holding <dataset>/*.gz (else $GAN_JAX_DATA_DIR, cache, registries)")
flags.DEFINE_integer("num_samples", 10000, "samples generated and scored")
flags.DEFINE_integer("seed", 0, "PRNG seed of the samples' z, the baseline's images and KID's subsets")
flags.DEFINE_integer("step", None, "checkpoint step to score (default: the newest)")
flags.DEFINE_bool("all_checkpoints", False, "score every checkpoint of the workdir (no memorization): FID against epoch")
flags.DEFINE_bool("baseline", True, "also score training images against the test split (real vs real)")
flags.DEFINE_bool("memorization", True, "compute the pixel-space memorization score")
flags.DEFINE_bool("swd", True, "compute the sliced Wasserstein distance of pixel patches (Karras et al. 2018)")
flags.DEFINE_integer("iwae_samples", 1000, "VAE runs: importance samples K of the log p(x) estimate (0: skip)")
flags.DEFINE_integer("iwae_images", 10000, "VAE runs: test images in the likelihood estimate")
flags.DEFINE_bool("binarize", False, "VAE runs: likelihood of a fixed stochastic binarization of the test images")
flags.DEFINE_string("out", None, "output JSON path (default: see above)")

ROW_FORMAT = "{:<22} {:>14} {:>14}"


def format_table(scores: dict, baseline: dict | None) -> str:
  """The scores of evaluation.SCORES (and any likelihood numbers) as a text table beside the baseline."""
  lines = [ROW_FORMAT.format("score", "model", "real vs real"), "-" * 52]
  for name, better in evaluation.SCORES:
    if name in scores:
      base = baseline.get(name) if baseline else None
      fmt = (lambda v: f"{v:.4g}" if isinstance(v, float) else str(v))
      lines.append(ROW_FORMAT.format(f"{name} ({better})", fmt(scores[name]), "" if base is None else fmt(base)))
  for name in ("test_elbo", "test_log_likelihood"):
    if name in scores:
      lines.append(ROW_FORMAT.format(name + " (nats)", f"{scores[name]:.2f}", ""))
  return "\n".join(lines)


def _source(f) -> tuple:
  """(workdir or None, samples path or None, dataset), checked."""
  if bool(f.workdir) == bool(f.samples):
    raise ConfigError("pass exactly one of --workdir=DIR and --samples=FILE.npz")
  if f.samples:
    if not f.dataset:
      raise ConfigError("--samples needs --dataset=mnist or --dataset=fashion_mnist")
    return None, f.samples, f.dataset
  config = runs.read_config(f.workdir)
  if f.dataset and f.dataset != config.dataset:
    raise ConfigError(f"{f.workdir} was trained on {config.dataset}; drop --dataset={f.dataset}")
  return f.workdir, None, config.dataset


def _load_samples(path: str) -> tuple[np.ndarray, np.ndarray | None]:
  """(images, the `labels` a conditional model's samples file holds, else None)."""
  if not os.path.exists(path):
    raise DataError(f"{path} not found; write one with python -m experiments.sample")
  try:
    with np.load(path) as archive:
      return np.asarray(archive["images"]), (np.asarray(archive["labels"]) if "labels" in archive else None)
  except Exception as e:  # zip, pickle and key errors all mean the same to the user
    raise DataError(f"{path} is not an .npz with an `images` array ({type(e).__name__}); "
                    f"write one with python -m experiments.sample") from e


def evaluate_all_checkpoints(f, workdir: str, reference: evaluation.Reference) -> dict:
  """Scores every checkpoint of a GAN or VAE run: {"records": [{"step", "epoch", scores...}]}; draws FID by epoch."""
  config = runs.read_config(workdir)
  k = config.get("k_d_steps", 1)
  steps_per_epoch = data.steps_per_epoch(len(reference.train_images), config.batch_size * k)
  records = []
  for step in runs.checkpoint_steps(workdir):
    run = runs.load_run(workdir, step)
    scores = evaluation.score_samples(runs.generate_samples(run, f.num_samples, f.seed), reference,
                                      seed=f.seed, memorization=False)
    scores.pop("class_histogram")
    records.append({"step": step, "epoch": step / steps_per_epoch, **scores})
    print(f"step {step} (epoch {step / steps_per_epoch:.2f}): FID {scores['fid']:.3f}, "
          f"classifier score {scores['classifier_score']:.3f}")
  result = {"workdir": workdir, "num_samples": f.num_samples, "seed": f.seed, "records": records}
  if f.baseline:
    result["baseline"] = evaluation.real_baseline(reference, f.num_samples, f.seed, memorization=False)
  plots.plot_score_by_epoch(records, "fid", os.path.join(workdir, "fid_by_epoch.png"),
                            baseline=result.get("baseline", {}).get("fid"),
                            title=f"{os.path.basename(os.path.normpath(workdir))}: FID ({reference.dataset} LeNet "
                                  f"features, {f.num_samples} samples) against epoch")
  return result


def evaluate(f) -> tuple:
  """Runs the evaluation the flags ask for; returns (result dict, output path)."""
  workdir, samples_path, dataset = _source(f)
  if f.num_samples < 10:
    raise ConfigError(f"--num_samples must be >= 10, got {f.num_samples}")
  if f.all_checkpoints:
    if not workdir:
      raise ConfigError("--all_checkpoints needs --workdir")
    reference = evaluation.load_reference(dataset, f.data_dir)
    return evaluate_all_checkpoints(f, workdir, reference), f.out or os.path.join(workdir, "eval_by_step.json")
  run = runs.load_run(workdir, f.step) if workdir else None  # fails fast on a bad workdir
  samples, labels = _load_samples(samples_path) if samples_path else (None, None)
  start = time.time()
  reference = evaluation.load_reference(dataset, f.data_dir)
  if run is not None:
    samples = runs.generate_samples(run, f.num_samples, f.seed)
    labels = runs.sample_labels(run, f.num_samples) if runs.class_conditional(run) else None
  scores = evaluation.score_samples(samples, reference, seed=f.seed, memorization=f.memorization, swd=f.swd,
                                    labels=labels)
  result = {"dataset": dataset, "scores": scores, "seed": f.seed}
  if run is not None:
    result.update(workdir=workdir, step=run.step, kind=run.kind)
    if run.kind == "vae" and f.iwae_samples:
      result["scores"].update(vae.iwae_log_likelihood(
          *run.modules, run.state.params, reference.test_images[:f.iwae_images], f.iwae_samples,
          binarized=f.binarize, seed=f.seed, show_progress=True))
  else:
    result["samples"] = samples_path
  if f.baseline:
    result["baseline"] = evaluation.real_baseline(reference, len(samples), f.seed, memorization=f.memorization,
                                                  swd=f.swd)
  result["seconds"] = round(time.time() - start, 1)
  print(format_table(result["scores"], result.get("baseline")))
  out = f.out or (os.path.join(workdir, "eval.json") if workdir else os.path.splitext(samples_path)[0] + ".eval.json")
  return result, out


def main(argv):
  del argv

  def go():
    result, out = evaluate(flags.FLAGS)
    write_json(out, result)
    print(f"wrote {out}")
  cli.run_main(go)


if __name__ == "__main__":
  app.run(main)
