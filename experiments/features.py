"""Scores what trained models learned to represent images by, without labels, all the same way.

  python -m experiments.features --dataset=mnist --data_dir=../shared/data \
      --runs=AE=runs/ae,DAE=runs/dae,VAE=runs/vae,BiGAN=runs/bigan,DCGAN=runs/dcgan,InfoGAN=runs/infogan \
      --out=results/features_mnist.json

Every row, raw pixels first, is the representation of the training and test images
(gan_jax.runs.representation: autoencoder codes, the VAE's means of q(z|x), BiGAN's E(x),
a GAN's D penultimate features) scored by
- k-means accuracy: k-means (k = 10) on the test features, clusters matched to classes by the
  Hungarian algorithm (gan_jax.metrics.kmeans_accuracy);
- linear-probe accuracy: logistic regression fitted on the training features, accuracy on the
  test features (gan_jax.metrics.linear_probe_accuracy).
An InfoGAN row adds Q's categorical-code accuracy on the test images, matched the same way
(gan_jax.gan_run.q_test_accuracy). Writes --out (JSON, atomically) and prints a Markdown table.
"""

import time

from absl import app, flags
import numpy as np

from experiments import cli
from gan_jax import data, files, gan_run, metrics, models, runs
from gan_jax.errors import ConfigError

flags.DEFINE_string("dataset", "mnist", "mnist or fashion_mnist")
flags.DEFINE_string("data_dir", None, "directory holding <dataset>/*.gz (else $GAN_JAX_DATA_DIR, cache, registries)")
flags.DEFINE_list("runs", [], "NAME=WORKDIR pairs: the trained runs whose representations to score")
flags.DEFINE_string("out", None, "the JSON file to write", required=True)
flags.DEFINE_integer("seed", 0, "k-means' seed")
flags.DEFINE_integer("probe_iterations", 300, "L-BFGS steps of the linear probe")
flags.DEFINE_integer("max_examples", 0, "use only the first this many images of each split (0: all; for quick checks)")


def parse_runs(pairs: list) -> list:
  """[(name, workdir)] from NAME=WORKDIR strings.

  Raises:
    ConfigError: a pair without '=' or with an empty side, or a name given twice.
  """
  parsed = []
  for pair in pairs:
    name, _, workdir = pair.partition("=")
    if not name or not workdir:
      raise ConfigError(f"--runs takes NAME=WORKDIR pairs, got {pair!r}")
    parsed.append((name, workdir))
  names = [n for n, _ in parsed]
  if len(set(names)) != len(names):
    raise ConfigError(f"--runs names must differ, got {', '.join(names)}")
  return parsed


def score_representation(train: np.ndarray, train_labels: np.ndarray, test: np.ndarray, test_labels: np.ndarray,
                         seed: int = 0, probe_iterations: int = 300) -> dict:
  """{"dims", "kmeans_accuracy", "linear_probe_accuracy"} of features train [N, F] and test [M, F]."""
  return {"dims": int(train.shape[1]),
          "kmeans_accuracy": metrics.kmeans_accuracy(test, test_labels, seed),
          "linear_probe_accuracy": metrics.linear_probe_accuracy(train, train_labels, test, test_labels,
                                                                 max_iterations=probe_iterations)}


def features_table(dataset: str, data_dir: str | None, pairs: list, seed: int = 0, probe_iterations: int = 300,
                   max_examples: int = 0) -> list:
  """The rows of the table: raw pixels, then one per (name, workdir) in `pairs` (on the first
  max_examples images of each split; 0: all).

  Raises:
    ConfigError: a run of another dataset, or one with no representation (see runs.representation);
    CheckpointError: a workdir without a readable checkpoint.
  """
  loaded = [(name, workdir, runs.load_run(workdir, samplers_only=False)) for name, workdir in pairs]  # fail fast
  for name, _, run in loaded:
    if run.config.dataset != dataset:
      raise ConfigError(f"run {name} was trained on {run.config.dataset}, not --dataset={dataset}")
  if max_examples < 0:
    raise ConfigError(f"--max_examples must be >= 0, got {max_examples}")
  head = slice(None, max_examples or None)
  train_images, train_labels = (a[head] for a in data.load(dataset, "train", data_dir=data_dir))
  test_images, test_labels = (a[head] for a in data.load(dataset, "test", data_dir=data_dir))
  pixels = lambda images: images.reshape(len(images), -1).astype(np.float32) / 255.0
  rows = []
  for name, workdir, run in [("raw pixels", None, None)] + loaded:
    start = time.time()
    if run is None:
      what, train, test = "pixels in [0, 1]", pixels(train_images), pixels(test_images)
    else:
      what, train = runs.representation(run, train_images)
      test = runs.representation(run, test_images)[1]
    row = {"name": name, "representation": what, **score_representation(train, train_labels, test, test_labels, seed,
                                                                        probe_iterations)}
    if run is not None:
      row.update(workdir=workdir, step=run.step, kind=run.kind)
      if models.conditioning(run.config) == "infogan":
        row["q_categorical_accuracy"] = gan_run.q_test_accuracy(run.modules[1], run.state, test_images, test_labels)
    row["seconds"] = round(time.time() - start, 1)
    print(f"{name}: {row}", flush=True)
    rows.append(row)
  return rows


def markdown(rows: list) -> str:
  """The rows as a Markdown table, accuracies in percent."""
  lines = ["| representation | dims | k-means acc. (test) | linear probe acc. (test) | InfoGAN Q code acc. |",
           "|---|---|---|---|---|"]
  for r in rows:
    q = f"{100 * r['q_categorical_accuracy']:.1f}%" if "q_categorical_accuracy" in r else ""
    lines.append(f"| {r['name']}: {r['representation']} | {r['dims']} | {100 * r['kmeans_accuracy']:.1f}% | "
                 f"{100 * r['linear_probe_accuracy']:.1f}% | {q} |")
  return "\n".join(lines)


def main(argv):
  del argv
  f = flags.FLAGS

  def run():
    if not f.out.endswith(".json"):
      raise ConfigError(f"--out must end in .json, got {f.out!r}")
    rows = features_table(f.dataset, f.data_dir, parse_runs(f.runs), f.seed, f.probe_iterations, f.max_examples)
    files.write_json(f.out, {"dataset": f.dataset, "max_examples": f.max_examples, "rows": rows})
    print(markdown(rows))
  cli.run_main(run)


if __name__ == "__main__":
  app.run(main)
