"""DCGAN generator and discriminator (Radford et al. 2016), for 28x28x1 images.

The default widths and layers are those of the TensorFlow DCGAN tutorial
(https://www.tensorflow.org/tutorials/generative/dcgan):

  G: z [B, 100] -> Dense 7*7*256 (no bias) -> BN -> LeakyReLU -> reshape 7x7x256
     -> ConvT 5x5 /1 -> 128 (7x7) -> BN -> LeakyReLU
     -> ConvT 5x5 /2 -> 64 (14x14) -> BN -> LeakyReLU
     -> ConvT 5x5 /2 -> 1 (28x28) -> tanh
  D: x [B, 28, 28, 1] -> Conv 5x5 /2 -> 64 -> LeakyReLU -> Dropout 0.3
     -> Conv 5x5 /2 -> 128 -> LeakyReLU -> Dropout 0.3 -> flatten -> Dense 1 (a logit)

Keras' defaults are kept where they change the numbers: LeakyReLU slope 0.3,
BatchNorm momentum 0.99 and epsilon 1e-3, Glorot-uniform kernels, zero biases.
"""

from typing import Optional, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models.layers import SubPixelConvTranspose

_KERNEL_INIT = nn.initializers.xavier_uniform()


def _conv_transpose(impl: str, features: int, strides: int, name: str) -> nn.Module:
  """A 5x5 "SAME" transposed convolution without bias, in the chosen form."""
  if impl == "subpixel":
    return SubPixelConvTranspose(features, (5, 5), (strides, strides), use_bias=False,
                                 kernel_init=_KERNEL_INIT, name=name)
  if impl == "xla":
    return nn.ConvTranspose(features, (5, 5), (strides, strides), padding="SAME", use_bias=False,
                            kernel_init=_KERNEL_INIT, name=name)
  raise ValueError(f"conv_transpose must be 'subpixel' or 'xla', got {impl!r}")


class DCGANGenerator(nn.Module):
  """G: latent z -> image, the TF-tutorial DCGAN generator.

  Attributes:
    features: widths of the 7x7, 7x7 and 14x14 feature maps (default 256, 128, 64).
    leaky_relu_slope: negative slope of the LeakyReLUs.
    conv_transpose: "subpixel" (fast on CPU, the default) or "xla" (`nn.ConvTranspose`);
      the two compute the same function with the same parameters.
    batch_norm_axis_name: the mapped axis over which BatchNorm averages its batch
      statistics under `jax.pmap` (set by `gan_jax.parallel`); None on one device
      or under `jax.jit` sharding.
  """
  features: Sequence[int] = (256, 128, 64)
  leaky_relu_slope: float = 0.3
  conv_transpose: str = "subpixel"
  batch_norm_axis_name: Optional[str] = None

  def _batch_norm(self, train: bool, name: str) -> nn.BatchNorm:
    return nn.BatchNorm(use_running_average=not train, momentum=0.99, epsilon=1e-3,
                        axis_name=self.batch_norm_axis_name if train else None, name=name)

  @nn.compact
  def __call__(self, z: jax.Array, train: bool = True) -> jax.Array:
    """Generates images.

    Args:
      z: [B, latent_dim] float32, usually N(0, I).
      train: True uses batch statistics in BatchNorm (and updates the running
        averages in the mutable "batch_stats" collection); False uses the running averages.
    Returns:
      x_fake: [B, 28, 28, 1] float32 in [-1, 1].
    """
    f7, f7b, f14 = self.features
    act = lambda h: nn.leaky_relu(h, self.leaky_relu_slope)
    h = nn.Dense(7 * 7 * f7, use_bias=False, kernel_init=_KERNEL_INIT, name="project")(z)
    h = act(self._batch_norm(train, "bn_project")(h))
    h = h.reshape(z.shape[0], 7, 7, f7)
    h = _conv_transpose(self.conv_transpose, f7b, 1, "deconv_7x7")(h)
    h = act(self._batch_norm(train, "bn_7x7")(h))
    h = _conv_transpose(self.conv_transpose, f14, 2, "deconv_14x14")(h)
    h = act(self._batch_norm(train, "bn_14x14")(h))
    h = _conv_transpose(self.conv_transpose, 1, 2, "deconv_28x28")(h)
    return jnp.tanh(h)


class DCGANDiscriminator(nn.Module):
  """D: image -> logit of "real", the TF-tutorial DCGAN discriminator.

  Attributes:
    features: widths of the 14x14 and 7x7 feature maps (default 64, 128).
    dropout_rate: dropout after each convolution (0.3 in the tutorial).
    leaky_relu_slope: negative slope of the LeakyReLUs.
  """
  features: Sequence[int] = (64, 128)
  dropout_rate: float = 0.3
  leaky_relu_slope: float = 0.3

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True) -> jax.Array:
    """Scores images.

    Args:
      x: [B, 28, 28, 1] float32 in [-1, 1].
      train: True applies dropout and needs the "dropout" PRNG stream.
    Returns:
      logits: [B] float32; D(x) = sigmoid(logits) is the probability that x is real.
    """
    h = x
    for i, f in enumerate(self.features):
      h = nn.Conv(f, (5, 5), strides=(2, 2), padding="SAME", kernel_init=_KERNEL_INIT, name=f"conv_{i}")(h)
      h = nn.leaky_relu(h, self.leaky_relu_slope)
      h = nn.Dropout(self.dropout_rate, deterministic=not train)(h)
    h = h.reshape(h.shape[0], -1)
    return nn.Dense(1, kernel_init=_KERNEL_INIT, name="logit")(h)[:, 0]
