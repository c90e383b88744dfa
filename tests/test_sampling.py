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
