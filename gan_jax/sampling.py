"""The one path from a seed to generated images, shared by experiments.sample, experiments.evaluate,
the in-training evaluator and the figures that show many samples.

Sample i of seed s always has the same z: z is drawn in blocks of
`LATENT_BLOCK` rows, block b from fold_in(key(s), b * LATENT_BLOCK), and every
block is decoded at that one shape (one compilation; the last block's extra
rows are dropped). So `sample --seed=0 --num_samples=N` writes the first N
images `evaluate --seed=0` scores, whatever N.
"""

from typing import Callable, Optional, Sequence

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


def sample_labels(num_samples: int, num_classes: int, classes: Optional[Sequence[int]] = None) -> np.ndarray:
  """The labels a conditional model's samples 0 .. num_samples - 1 are drawn with: `classes`
  (default all num_classes) in turn, so every class gets as many samples (within one).

  Returns:
    int32 [num_samples].
  Raises:
    ConfigError: no classes, or a class outside 0 .. num_classes - 1.
  """
  classes = list(range(num_classes)) if classes is None else list(classes)
  if not classes or any(not 0 <= c < num_classes for c in classes):
    raise ConfigError(f"--labels must be classes in 0..{num_classes - 1}, got {classes}")
  return np.asarray(classes, np.int32)[np.arange(num_samples) % len(classes)]


def sample_images(decode: Callable[..., np.ndarray], latent_dim: int, num_samples: int, seed: int,
                  num_classes: int = 0, classes: Optional[Sequence[int]] = None) -> np.ndarray:
  """decode(z) for the first `num_samples` latents of `seed`; decode(z, y) for a conditional model.

  Args:
    decode: z [LATENT_BLOCK, latent_dim] float32 (and, with num_classes, y [LATENT_BLOCK] int32)
      -> uint8 images [LATENT_BLOCK, 28, 28].
    latent_dim: size of z.
    num_samples: images wanted, >= 1.
    seed: PRNG seed of z.
    num_classes: > 0 for a conditional model: sample i has label `sample_labels(...)[i]`.
    classes: the labels to draw (see sample_labels); default all.
  Returns:
    uint8 [num_samples, 28, 28].
  Raises:
    ConfigError: num_samples < 1, or bad classes.
  """
  if num_samples < 1:
    raise ConfigError(f"--num_samples must be >= 1, got {num_samples}")
  if num_classes:
    blocks = -(-num_samples // LATENT_BLOCK)
    labels = sample_labels(blocks * LATENT_BLOCK, num_classes, classes)
  chunks = []
  for start in range(0, num_samples, LATENT_BLOCK):
    z = latent_block(seed, start, latent_dim)
    given = (labels[start:start + LATENT_BLOCK],) if num_classes else ()
    chunks.append(np.asarray(decode(z, *given))[:num_samples - start])
  return np.concatenate(chunks)
