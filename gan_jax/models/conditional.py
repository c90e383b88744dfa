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


class PlaneDiscriminator(nn.Module):
  """A discriminator that also sees a vector, as a second input plane (`discriminate_with_plane`):
  the base of `ConditionalDiscriminator` (a label) and BiGAN's `JointDiscriminator` (a latent z).

  Attributes:
    discriminator: the wrapped module, x [B, 28, 28, 2] -> logits [B].
  """
  discriminator: nn.Module

  @property
  def conv_gradients(self) -> str:
    """The wrapped D's (gan_jax.gan.discriminate hands a "fast" D the whole batch)."""
    return getattr(self.discriminator, "conv_gradients", "autodiff")


class ConditionalDiscriminator(PlaneDiscriminator):
  """D(x, y): `discriminator` on x with a second channel, Dense(one_hot(y)) reshaped to x's image.

  Attributes:
    discriminator: the wrapped module, x [B, 28, 28, 2] -> logits [B].
    num_classes: number of labels.
  """
  num_classes: int = 10

  @nn.compact
  def __call__(self, x: jax.Array, labels: jax.Array, train: bool = True,
               example_keys: Optional[jax.Array] = None) -> jax.Array:
    """x: [B, 28, 28, 1] float32 in [-1, 1], labels: [B] int32 -> logits [B] float32 (see the wrapped D)."""
    return discriminate_with_plane(self.discriminator, x, jax.nn.one_hot(labels, self.num_classes, dtype=x.dtype),
                                   "label_plane", train, example_keys)


def discriminate_with_plane(discriminator: nn.Module, x: jax.Array, vector: jax.Array, name: str, train: bool,
                            example_keys: Optional[jax.Array]) -> jax.Array:
  """discriminator([x, Dense(vector) reshaped to x's image]): D sees a vector [B, V] as a second input
  plane (the Dense layer, named `name`, belongs to the calling module). Call it inside a compact method."""
  plane = nn.Dense(x.shape[1] * x.shape[2], name=name)(vector)
  h = jnp.concatenate([x, plane.reshape(x.shape[:3] + (1,))], -1)
  if example_keys is not None:
    return discriminator(h, train=train, example_keys=example_keys)
  return discriminator(h, train=train)


def continuous_codes(z: jax.Array, num_continuous: int) -> jax.Array:
  """InfoGAN's continuous codes c ~ Uniform(-1, 1) from the last `num_continuous` entries of z ~ N(0, I):
  c = erf(z / sqrt(2)) = 2 Phi(z) - 1, uniform on (-1, 1) when z is standard normal (the probability
  integral transform), so every sampler of z draws the codes too. [B, latent_dim] -> [B, num_continuous]."""
  return jax.scipy.special.erf(z[:, z.shape[1] - num_continuous:] / jnp.sqrt(2.0).astype(z.dtype))


class InfoGANGenerator(nn.Module):
  """G(z, c) of InfoGAN (Chen et al. 2016, Section 5): `generator` on [noise, one_hot(c_cat), c_cont].

  z [B, latent_dim] holds the noise (its first latent_dim - num_continuous entries) and, in its last
  num_continuous entries, the Gaussian draws that `continuous_codes` maps to the continuous codes
  c_cont ~ Uniform(-1, 1); the categorical code c_cat [B] int32 is passed as `labels`, like a CGAN's
  class (gan_jax.gan draws it uniformly). `continuous` sets c_cont directly (figures that vary one
  code, e.g. from -2 to 2 as in the paper's Figure 2).

  Attributes:
    generator: the wrapped module, [B, latent_dim - num_continuous + num_categories + num_continuous]
      -> x [B, 28, 28, 1].
    num_categories: values of the categorical code (10).
    num_continuous: continuous codes (2).
  """
  generator: nn.Module
  num_categories: int = 10
  num_continuous: int = 2

  def __call__(self, z: jax.Array, labels: jax.Array, train: bool = True,
               continuous: Optional[jax.Array] = None) -> jax.Array:
    """z: [B, latent_dim] float32, labels: [B] int32 in [0, num_categories), continuous: optional
    [B, num_continuous] float32 -> x [B, 28, 28, 1] in [-1, 1]."""
    codes = continuous_codes(z, self.num_continuous) if continuous is None else continuous.astype(z.dtype)
    noise = z[:, :z.shape[1] - self.num_continuous]
    return self.generator(jnp.concatenate([noise, jax.nn.one_hot(labels, self.num_categories, dtype=z.dtype), codes],
                                          -1), train=train)


class QHead(nn.Module):
  """InfoGAN's Q network on D's features (Chen et al. 2016, Section 4 and Appendix C.1: Q shares
  all of D's layers but the last, then one hidden dense layer of 128 units).

  Attributes:
    num_outputs: num_categories logits of the categorical code, then the means of the continuous
      codes (a Gaussian of fixed unit std, as the paper's MNIST code does).
    leaky_relu_slope: the hidden layer's negative slope.
  """
  num_outputs: int
  leaky_relu_slope: float = 0.2

  @nn.compact
  def __call__(self, features: jax.Array) -> jax.Array:
    """features: [B, F] float32 (D's last hidden layer) -> [B, num_outputs] float32."""
    h = nn.leaky_relu(nn.Dense(128, name="hidden")(features), self.leaky_relu_slope)
    return nn.Dense(self.num_outputs, name="out")(h)
