"""MLP generator and discriminator of the vanilla GAN (Goodfellow et al. 2014), for 28x28x1 images.

  G: z [B, 100] -> 256 -> 512 -> 1024 -> 784 (tanh) -> [B, 28, 28, 1]
  D: x [B, 28, 28, 1] -> 784 -> 1024 -> 512 -> 256 -> 1 (a logit)
LeakyReLU (slope 0.2) between layers; dropout after each hidden layer of D
(0.3 by default, as in the course's coursework; 0 turns it off).
"""

from typing import Any, Optional, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models.conditional import QHead
from gan_jax.models.layers import mixed_precision


class MLPGenerator(nn.Module):
  """G: latent z -> image, a multilayer perceptron.

  Attributes:
    features: hidden widths (default 256, 512, 1024).
    image_shape: output shape per example, (28, 28, 1).
    leaky_relu_slope: negative slope of the LeakyReLUs.
    batch_norm_axis_name: unused (no BatchNorm); accepted so that every generator
      is built the same way.
    compute_dtype: None (float32), or the operand dtype of the matrix products, e.g.
      jnp.bfloat16 (see gan_jax.models.layers.mixed_precision).
  """
  features: Sequence[int] = (256, 512, 1024)
  image_shape: Sequence[int] = (28, 28, 1)
  leaky_relu_slope: float = 0.2
  batch_norm_axis_name: Optional[str] = None
  compute_dtype: Optional[Any] = None

  @nn.compact
  def __call__(self, z: jax.Array, train: bool = True) -> jax.Array:
    """z: [B, latent_dim] float32 -> x_fake: [B, 28, 28, 1] float32 in [-1, 1] (`train` is unused)."""
    del train
    h = z
    for i, f in enumerate(self.features):
      h = nn.leaky_relu(nn.Dense(f, name=f"hidden_{i}", **mixed_precision(self.compute_dtype, "dense"))(h),
                        self.leaky_relu_slope)
    size = 1
    for d in self.image_shape:
      size *= d
    return jnp.tanh(nn.Dense(size, name="out", **mixed_precision(self.compute_dtype, "dense"))(h)).reshape((z.shape[0],) + tuple(self.image_shape))


class MLPDiscriminator(nn.Module):
  """D: image -> logit of "real", a multilayer perceptron with dropout.

  Attributes:
    features: hidden widths (default 1024, 512, 256).
    dropout_rate: dropout after each hidden layer.
    leaky_relu_slope: negative slope of the LeakyReLUs.
    compute_dtype: as for MLPGenerator.
    num_classes: > 0 adds AC-GAN's auxiliary classifier head (see DCGANDiscriminator).
    q_outputs: > 0 adds InfoGAN's Q head (see DCGANDiscriminator).
  """
  features: Sequence[int] = (1024, 512, 256)
  dropout_rate: float = 0.3
  leaky_relu_slope: float = 0.2
  compute_dtype: Optional[Any] = None
  num_classes: int = 0
  q_outputs: int = 0

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True) -> Any:
    """x: [B, 28, 28, C] float32 in [-1, 1] -> logits [B] float32 (dropout on when `train`); with
    num_classes > 0, (logits, class_logits [B, num_classes]); with q_outputs > 0, (logits, q [B, q_outputs])."""
    h = x.reshape(x.shape[0], -1)
    for i, f in enumerate(self.features):
      h = nn.leaky_relu(nn.Dense(f, name=f"hidden_{i}", **mixed_precision(self.compute_dtype, "dense"))(h),
                        self.leaky_relu_slope)
      h = nn.Dropout(self.dropout_rate, deterministic=not train)(h)
    self.sow("intermediates", "features", h)  # D's penultimate features (see DCGANDiscriminator)
    logits = nn.Dense(1, name="logit", **mixed_precision(self.compute_dtype, "dense"))(h)[:, 0]
    if self.q_outputs:
      return logits, QHead(self.q_outputs, self.leaky_relu_slope, name="q")(h)
    if not self.num_classes:
      return logits
    return logits, nn.Dense(self.num_classes, name="classes")(h)
