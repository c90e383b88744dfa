"""The one path from a seed to generated images, shared by experiments.sample, experiments.evaluate,
the in-training evaluator and the figures that show many samples.

Sample i of seed s always has the same z: z is drawn in blocks of
`LATENT_BLOCK` rows, block b from fold_in(key(s), b * LATENT_BLOCK), and every
block is decoded at that one shape (one compilation; the last block's extra
rows are dropped). So `sample --seed=0 --num_samples=N` writes the first N
images `evaluate --seed=0` scores, whatever N.
"""

from typing import Callable

import jax
import numpy as np

from gan_jax.errors import ConfigError

LATENT_BLOCK = 1000  # rows of z per draw and per decoder call


def latent_block(seed: int, start: int, latent_dim: int) -> jax.Array:
  """z ~ N(0, I) for samples [start, start + LATENT_BLOCK) of `seed`: [LATENT_BLOCK, latent_dim] float32.

  Raises:
    ValueError: start is not a multiple of LATENT_BLOCK.
  """
  if start % LATENT_BLOCK:
    raise ValueError(f"start must be a multiple of {LATENT_BLOCK}, got {start}")
  return jax.random.normal(jax.random.fold_in(jax.random.key(seed), start), (LATENT_BLOCK, latent_dim))


def sample_images(decode: Callable[[jax.Array], np.ndarray], latent_dim: int, num_samples: int,
                  seed: int) -> np.ndarray:
  """decode(z) for the first `num_samples` latents of `seed`.

  Args:
    decode: z [LATENT_BLOCK, latent_dim] float32 -> uint8 images [LATENT_BLOCK, 28, 28].
    latent_dim: size of z.
    num_samples: images wanted, >= 1.
    seed: PRNG seed of z.
  Returns:
    uint8 [num_samples, 28, 28].
  Raises:
    ConfigError: num_samples < 1.
  """
  if num_samples < 1:
    raise ConfigError(f"--num_samples must be >= 1, got {num_samples}")
  chunks = [np.asarray(decode(latent_block(seed, start, latent_dim)))[:num_samples - start]
            for start in range(0, num_samples, LATENT_BLOCK)]
  return np.concatenate(chunks)
