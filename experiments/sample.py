"""Exports generated images from a trained GAN's or VAE's checkpoint.

  python -m experiments.sample --workdir=runs/dcgan_mnist --num_samples=10000 --out=samples.npz [--seed=0] [--step=N]

Writes FILE.npz with `images`: uint8 [N, 28, 28] (0 = black, 255 = white), the
format experiments.evaluate --samples reads; for a class-conditional GAN (CGAN,
AC-GAN) also `labels`: int32 [N], the class each image was drawn for, every class
of --labels (default all 10) in turn; for an InfoGAN, `codes`: int32 [N], the
categorical code of each image, drawn the same way. The images are those of
gan_jax.runs.generate_samples (GANs: G in inference mode, BatchNorm running
averages; VAEs: the decoder's Bernoulli means), drawn through gan_jax.sampling:
with the same --seed, the first N images `experiments.evaluate --workdir` scores.
"""

from absl import app, flags
import numpy as np

from experiments import cli
from gan_jax import files, runs
from gan_jax.errors import ConfigError

flags.DEFINE_string("workdir", None, "a training run's directory (holds config.json and checkpoints/)", required=True)
flags.DEFINE_integer("num_samples", 10000, "number of images")
flags.DEFINE_string("out", None, "output .npz path", required=True)
flags.DEFINE_integer("seed", 0, "PRNG seed of z (the same as experiments.evaluate's --seed)")
flags.DEFINE_integer("step", None, "checkpoint step to sample (default: the newest)")
flags.DEFINE_list("labels", None, "conditional runs: the classes (InfoGAN: categorical codes) to draw, in turn "
                  "(default: all, balanced)")


def export_samples(workdir: str, num_samples: int, out: str, seed: int = 0, step: int | None = None,
                   labels: list | None = None) -> np.ndarray:
  """Generates `num_samples` images from a checkpoint of `workdir` and writes them to `out` atomically
  (with their `labels` for a class-conditional run; `labels`: the classes to draw, default all).

  Returns:
    images: uint8 [num_samples, 28, 28].
  Raises:
    ConfigError: bad arguments, or an autoencoder run; CheckpointError: no config.json or no readable checkpoint.
  """
  if num_samples < 1:
    raise ConfigError(f"--num_samples must be >= 1, got {num_samples}")
  if not out.endswith(".npz"):
    raise ConfigError(f"--out must end in .npz, got {out!r}")
  try:
    classes = None if labels is None else [int(c) for c in labels]
  except ValueError as e:
    raise ConfigError(f"--labels must be class numbers, got {','.join(labels)}") from e
  run = runs.load_run(workdir, step)
  images = runs.generate_samples(run, num_samples, seed, classes)
  drawn = runs.sample_labels(run, num_samples, classes)
  name = "labels" if runs.class_conditional(run) else "codes"
  files.write_npz(out, images=images, **({} if drawn is None else {name: drawn}))
  return images


def main(argv):
  del argv
  f = flags.FLAGS
  cli.run_main(lambda: print(
      f"wrote {f.out}: images {export_samples(f.workdir, f.num_samples, f.out, f.seed, f.step, f.labels).shape} uint8"))


if __name__ == "__main__":
  app.run(main)
