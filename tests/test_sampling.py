"""gan_jax.sampling: sample i of a seed has one z, however many samples are drawn."""

import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import sampling
from gan_jax.errors import ConfigError


shapes = []  # the shapes _decode was called with


def _decode(z):
  """A stand-in decoder: the image of z is its first coordinate's bits, as uint8 [B, 28, 28]."""
  shapes.append(z.shape)
  return np.broadcast_to(np.asarray((jnp.tanh(z[:, :1, None]) + 1) * 127, np.uint8), (z.shape[0], 28, 28))


def test_a_larger_draw_starts_with_the_smaller_one_at_one_shape():
  shapes.clear()
  small = sampling.sample_images(_decode, latent_dim=3, num_samples=10, seed=4)
  large = sampling.sample_images(_decode, latent_dim=3, num_samples=sampling.LATENT_BLOCK + 5, seed=4)
  assert small.shape == (10, 28, 28) and large.shape == (sampling.LATENT_BLOCK + 5, 28, 28)
  np.testing.assert_array_equal(large[:10], small)
  assert set(shapes) == {(sampling.LATENT_BLOCK, 3)}  # every decoder call at one shape
  assert not np.array_equal(sampling.sample_images(_decode, 3, 10, seed=5), small)
  with pytest.raises(ConfigError, match="num_samples must be >= 1"):
    sampling.sample_images(_decode, 3, 0, seed=4)
  with pytest.raises(ValueError, match="multiple of"):
    sampling.latent_block(4, 3, 3)


def test_conditional_samples_are_balanced_over_the_classes_asked_for():
  np.testing.assert_array_equal(sampling.sample_labels(12, 10), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1])
  np.testing.assert_array_equal(sampling.sample_labels(5, 10, [3, 5]), [3, 5, 3, 5, 3])
  for bad in ([], [10], [-1]):
    with pytest.raises(ConfigError, match="--labels must be classes in 0..9"):
      sampling.sample_labels(5, 10, bad)
  seen = []

  def decode(z, labels):
    seen.append(np.asarray(labels))
    return np.broadcast_to(np.asarray(labels, np.uint8)[:, None, None], (len(labels), 28, 28))
  images = sampling.sample_images(decode, 4, 1500, seed=0, num_classes=10, classes=[7, 2])
  assert [len(s) for s in seen] == [sampling.LATENT_BLOCK] * 2  # one shape: one compilation
  np.testing.assert_array_equal(images[:, 0, 0], sampling.sample_labels(1500, 10, [7, 2]))
