"""Encoders and decoders of the (denoising) autoencoder, for 28x28x1 images.

MLP: x [B, 784] -> hidden widths -> code h [B, code_dim] -> mirrored widths -> 784
logits. With `tied_kernels` the MLP decoder uses the encoder's kernels
transposed (W' = W^T, Vincent et al. 2008), keeping only its own biases.
Conv: 5x5 stride-2 convolutions 32, 64 -> Dense code; Dense 7*7*64 -> 5x5
stride-2 transposed convolutions 32, 1 (sub-pixel form, see layers.py).
"""

from typing import Callable, Optional, Sequence

import flax.linen as nn
import jax

from gan_jax.models.layers import SubPixelConvTranspose

ACTIVATIONS = {"sigmoid": nn.sigmoid, "relu": nn.relu}


class MLPEncoder(nn.Module):
  """x -> code h. Attributes: code_dim, features (hidden widths), activation ("sigmoid" or "relu")."""
  code_dim: int = 32
  features: Sequence[int] = (256,)
  activation: str = "sigmoid"

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    """x: [B, 28, 28, 1] float32 in [0, 1] (possibly corrupted) -> h: [B, code_dim] float32."""
    act: Callable = ACTIVATIONS[self.activation]
    h = x.reshape(x.shape[0], -1)
    for i, f in enumerate(tuple(self.features) + (self.code_dim,)):
      h = act(nn.Dense(f, name=f"layer_{i}")(h))
    return h


class MLPDecoder(nn.Module):
  """code h -> reconstruction logits, mirroring MLPEncoder.

  Attributes:
    features: the encoder's hidden widths (used in reverse).
    activation: of the hidden layers.
    image_shape: (28, 28, 1).
  """
  features: Sequence[int] = (256,)
  activation: str = "sigmoid"
  image_shape: Sequence[int] = (28, 28, 1)

  @nn.compact
  def __call__(self, h: jax.Array, tied_kernels: Optional[Sequence[jax.Array]] = None) -> jax.Array:
    """Decodes.

    Args:
      h: [B, code_dim] float32.
      tied_kernels: the encoder's kernels [in_i, out_i] in encoder order, for tied
        weights; None gives the decoder its own kernels.
    Returns:
      logits: [B, 28, 28, 1] float32; x_recon = sigmoid(logits) in [0, 1].
    """
    act: Callable = ACTIVATIONS[self.activation]
    size = 1
    for d in self.image_shape:
      size *= d
    widths = tuple(reversed(tuple(self.features))) + (size,)
    for i, f in enumerate(widths):
      if tied_kernels is None:
        h = nn.Dense(f, name=f"layer_{i}")(h)
      else:
        kernel = tied_kernels[len(widths) - 1 - i]  # [f, in]: the mirrored encoder layer
        h = h @ kernel.T + self.param(f"bias_{i}", nn.initializers.zeros_init(), (f,))
      if i < len(widths) - 1:
        h = act(h)
    return h.reshape((h.shape[0],) + tuple(self.image_shape))


class ConvEncoder(nn.Module):
  """x -> code h with two 5x5 stride-2 convolutions (ReLU) and a Dense code layer."""
  code_dim: int = 32
  features: Sequence[int] = (32, 64)

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    """x: [B, 28, 28, 1] float32 in [0, 1] -> h: [B, code_dim] float32 (linear code)."""
    h = x
    for i, f in enumerate(self.features):
      h = nn.relu(nn.Conv(f, (5, 5), strides=(2, 2), padding="SAME", name=f"conv_{i}")(h))
    return nn.Dense(self.code_dim, name="code")(h.reshape(h.shape[0], -1))


class ConvDecoder(nn.Module):
  """code h -> logits with Dense 7x7xF and two 5x5 stride-2 transposed convolutions."""
  features: Sequence[int] = (32, 64)

  @nn.compact
  def __call__(self, h: jax.Array, tied_kernels=None) -> jax.Array:
    """h: [B, code_dim] float32 -> logits [B, 28, 28, 1] float32 (tied_kernels must be None)."""
    if tied_kernels is not None:
      raise ValueError("the convolutional decoder has no tied-weights form")
    f14, f7 = self.features
    h = nn.relu(nn.Dense(7 * 7 * f7, name="project")(h)).reshape(h.shape[0], 7, 7, f7)
    h = nn.relu(SubPixelConvTranspose(f14, (5, 5), (2, 2), name="deconv_14x14")(h))
    return SubPixelConvTranspose(1, (5, 5), (2, 2), name="deconv_28x28")(h)
