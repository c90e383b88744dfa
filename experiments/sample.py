"""Exports generated images from a trained GAN's newest checkpoint.

  python -m experiments.sample --workdir=runs/dcgan_mnist --num_samples=10000 --out=samples.npz [--seed=0]

Writes FILE.npz with `images`: uint8 [N, 28, 28] (0 = black, 255 = white), the
format later evaluation reads. The generator runs in inference mode (BatchNorm
running averages); z ~ N(0, I) from --seed.
"""

import json
import os

from absl import app, flags
import jax
import ml_collections
import numpy as np

from experiments import cli
from gan_jax import checkpoint as ckpt
from gan_jax import gan
from gan_jax.errors import CheckpointError, ConfigError
from gan_jax.models import build_discriminator, build_generator

flags.DEFINE_string("workdir", None, "a training run's directory (holds config.json and checkpoints/)", required=True)
flags.DEFINE_integer("num_samples", 10000, "number of images")
flags.DEFINE_string("out", None, "output .npz path", required=True)
flags.DEFINE_integer("seed", 0, "PRNG seed of z")
flags.DEFINE_integer("batch_size", 500, "images generated per call")


def export_samples(workdir: str, num_samples: int, out: str, seed: int = 0, batch_size: int = 500) -> np.ndarray:
  """Generates `num_samples` images from the newest checkpoint in `workdir` and writes `out`.

  Returns:
    images: uint8 [num_samples, 28, 28].
  Raises:
    ConfigError: bad arguments; CheckpointError: no config.json or no readable checkpoint.
  """
  if num_samples < 1:
    raise ConfigError(f"--num_samples must be >= 1, got {num_samples}")
  if not out.endswith(".npz"):
    raise ConfigError(f"--out must end in .npz, got {out!r}")
  config_path = os.path.join(workdir, "config.json")
  if not os.path.exists(config_path):
    raise CheckpointError(f"{config_path} not found; pass the --workdir of a training run")
  with open(config_path) as f:
    config = ml_collections.ConfigDict(json.load(f))
  generator, discriminator = build_generator(config), build_discriminator(config)
  state = ckpt.Checkpointer(workdir).restore(gan.init_state(config, generator, discriminator))
  key = jax.random.key(seed)
  chunks = []
  for start in range(0, num_samples, batch_size):
    z = jax.random.normal(jax.random.fold_in(key, start), (min(batch_size, num_samples - start), config.latent_dim))
    x = gan.generate(generator, *gan.sampling_variables(state), z)
    chunks.append(gan.to_uint8(x))
  images = np.concatenate(chunks)
  tmp = out[:-len(".npz")] + ".tmp.npz"
  np.savez_compressed(tmp, images=images)
  os.replace(tmp, out)
  return images


def main(argv):
  del argv
  f = flags.FLAGS
  cli.run_main(lambda: print(
      f"wrote {f.out}: images {export_samples(f.workdir, f.num_samples, f.out, f.seed, f.batch_size).shape} uint8"))


if __name__ == "__main__":
  app.run(main)
