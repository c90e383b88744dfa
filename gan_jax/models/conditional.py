"""Class-conditional wrappers of any generator and discriminator (CGAN, Mirza & Osindero 2014).

G(z, y) is the wrapped generator applied to [z, one_hot(y)]: its first layer (a
dense layer in both architectures) sees the label beside the latent. D(x, y) is
the wrapped discriminator applied to x with one more channel, a learned
projection of one_hot(y) to a 28x28 map (the MLP flattens it beside the pixels,
which is the paper's concatenation of y to D's input up to a linear map; the
DCGAN's first convolution sees it as a second input plane).
"""

from typing import Optional

import flax.linen as nn
import jax
import jax.numpy as jnp


class ConditionalGenerator(nn.Module):
  """G(z, y): `generator` on [z, one_hot(y, num_classes)].

  Attributes:
    generator: the wrapped module, z' [B, latent_dim + num_classes] -> x [B, 28, 28, 1].
    num_classes: number of labels (10 for MNIST and Fashion-MNIST).
  """
  generator: nn.Module
  num_classes: int = 10

  def __call__(self, z: jax.Array, labels: jax.Array, train: bool = True) -> jax.Array:
    """z: [B, latent_dim] float32, labels: [B] int32 in [0, num_classes) -> x [B, 28, 28, 1] in [-1, 1]."""
    return self.generator(jnp.concatenate([z, jax.nn.one_hot(labels, self.num_classes, dtype=z.dtype)], -1),
                          train=train)


class ConditionalDiscriminator(nn.Module):
  """D(x, y): `discriminator` on x with a second channel, Dense(one_hot(y)) reshaped to x's image.

  Attributes:
    discriminator: the wrapped module, x [B, 28, 28, 2] -> logits [B].
    num_classes: number of labels.
  """
  discriminator: nn.Module
  num_classes: int = 10

  @property
  def conv_gradients(self) -> str:
    """The wrapped D's (gan_jax.gan.discriminate hands a "fast" D the whole batch)."""
    return getattr(self.discriminator, "conv_gradients", "autodiff")

  @nn.compact
  def __call__(self, x: jax.Array, labels: jax.Array, train: bool = True,
               example_keys: Optional[jax.Array] = None) -> jax.Array:
    """x: [B, 28, 28, 1] float32 in [-1, 1], labels: [B] int32 -> logits [B] float32 (see the wrapped D)."""
    plane = nn.Dense(x.shape[1] * x.shape[2], name="label_plane")(jax.nn.one_hot(labels, self.num_classes, dtype=x.dtype))
    h = jnp.concatenate([x, plane.reshape(x.shape[:3] + (1,))], -1)
    if example_keys is not None:
      return self.discriminator(h, train=train, example_keys=example_keys)
    return self.discriminator(h, train=train)
