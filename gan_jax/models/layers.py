"""Layers shared by the models.

`SubPixelConvTranspose` is a transposed convolution with the parameters and the
output of `flax.linen.ConvTranspose` (padding "SAME", `transpose_kernel=False`),
computed as one stride-1 convolution to `stride**2 * features` channels followed
by depth-to-space (Shi et al. 2016, "Real-Time Single Image and Video
Super-Resolution Using an Efficient Sub-Pixel CNN"). It exists because XLA:CPU's
gradient of a stride-2 `ConvTranspose` is very slow (3.4 s against 50 ms in
PyTorch for the DCGAN 128->64 layer, batch 256, on a 2-core CPU); the
sub-pixel form is the same linear map, and its backward pass is fast.
"""

import functools
from typing import Any, Optional, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax.models import conv as fast_conv

# --config.precision -> the dtype convolutions and matrix products take their operands in
# (None: the inputs' own, float32); see `mixed_precision`.
PRECISIONS = {"float32": None, "bfloat16": jnp.bfloat16}


def mixed_precision(compute_dtype: Optional[Any], layer: str) -> dict:
  """Keyword arguments that make a flax `nn.Dense` (layer "dense") or `nn.Conv` (layer "conv") mixed precision.

  With compute_dtype (e.g. jnp.bfloat16), the layer rounds its input and its float32
  parameters to that dtype, multiplies with float32 accumulation and returns float32
  (`preferred_element_type`), so BatchNorm, activations, losses, gradients' sums and
  the optimizer stay in float32 (Micikevicius et al. 2018, "Mixed Precision
  Training", with float32 master weights). None: {} (float32 throughout).
  """
  if compute_dtype is None:
    return {}
  if layer == "dense":
    return {"dtype": compute_dtype,
            "dot_general": functools.partial(jax.lax.dot_general, preferred_element_type=jnp.float32)}
  return {"dtype": compute_dtype,
          "conv_general_dilated": functools.partial(jax.lax.conv_general_dilated, preferred_element_type=jnp.float32)}


def _phase_taps(kernel_size: int, stride: int) -> tuple[np.ndarray, int]:
  """Which kernel tap feeds each (output phase, input offset) pair, in one dimension.

  `lax.conv_transpose` with padding "SAME" dilates the input by `stride`, pads it
  by (pad_lo, pad_hi) and correlates it with the kernel. Output position
  o = stride * p + r then reads input x[p + d] through tap t whenever
  r + t - pad_lo = stride * d. Collecting the taps of each phase r gives a
  stride-1 correlation over a window of offsets d in [d_min, d_max].

  Returns:
    taps: int array [stride, window]; taps[r, j] is the kernel tap used by phase r
      at offset d_min + j, or `kernel_size` (an index into an appended zero tap)
      where the phase uses no tap.
    d_min: the smallest input offset, always <= 0.
  """
  pad_len = kernel_size + stride - 2
  pad_lo = kernel_size - 1 if stride > kernel_size - 1 else -(-pad_len // 2)
  taps, d_min, _ = fast_conv.tap_table([(r, t, (r + t - pad_lo) // stride)
                                        for r in range(stride) for t in range(kernel_size)
                                        if (r + t - pad_lo) % stride == 0], stride, kernel_size)
  return taps, d_min


def subpixel_kernel(kernel: jax.Array, strides: Sequence[int]) -> tuple[jax.Array, list[tuple[int, int]]]:
  """Rewrites a transposed-convolution kernel as a stride-1 sub-pixel kernel.

  Args:
    kernel: [kh, kw, C_in, C_out], the kernel of `nn.ConvTranspose` (not flipped).
    strides: (sh, sw), the transposed convolution's strides.
  Returns:
    sub_kernel: [wh, ww, C_in, sh * sw * C_out]; output channel
      (rh * sw + rw) * C_out + c holds phase (rh, rw) of output channel c.
    padding: [(lo, hi), (lo, hi)] of the stride-1 convolution that uses it.
  """
  kh, kw, c_in, c_out = kernel.shape
  (sh, sw) = strides
  taps_h, dmin_h = _phase_taps(kh, sh)
  taps_w, dmin_w = _phase_taps(kw, sw)
  padded = jnp.pad(kernel, ((0, 1), (0, 1), (0, 0), (0, 0)))  # zero tap at index k
  # gathered[rh, i, rw, j] = padded[taps_h[rh, i], taps_w[rw, j]]
  gathered = padded[taps_h[:, :, None, None], taps_w[None, None, :, :]]
  # -> [i, j, C_in, rh, rw, C_out] -> [wh, ww, C_in, sh * sw * C_out]
  sub = jnp.transpose(gathered, (1, 3, 4, 0, 2, 5))
  sub = sub.reshape(taps_h.shape[1], taps_w.shape[1], c_in, sh * sw * c_out)
  padding = [(-dmin_h, taps_h.shape[1] - 1 + dmin_h), (-dmin_w, taps_w.shape[1] - 1 + dmin_w)]
  return sub, padding


depth_to_space = fast_conv.depth_to_space


class _ConvLayer(nn.Module):
  """The attributes, kernel, mixed-precision operands and bias that Conv and SubPixelConvTranspose share."""
  features: int
  kernel_size: Sequence[int] = (5, 5)
  strides: Sequence[int] = (2, 2)
  use_bias: bool = True
  kernel_init: Any = nn.initializers.lecun_normal()
  bias_init: Any = nn.initializers.zeros_init()
  compute_dtype: Optional[Any] = None

  def _kernel(self, c_in: int) -> jax.Array:
    kh, kw = self.kernel_size
    return self.param("kernel", self.kernel_init, (kh, kw, c_in, self.features))

  def _operands(self, x: jax.Array, kernel: jax.Array) -> tuple[jax.Array, jax.Array, Optional[Any]]:
    """(x, kernel) in the operand dtype (compute_dtype, else x's), and the preferred_element_type
    of the convolution (float32 with a compute_dtype: float32 accumulation and output; else None)."""
    dtype = self.compute_dtype or x.dtype
    return x.astype(dtype), kernel.astype(dtype), jnp.float32 if self.compute_dtype else None

  def _add_bias(self, y: jax.Array) -> jax.Array:
    if not self.use_bias:
      return y
    return y + self.param("bias", self.bias_init, (self.features,)).astype(y.dtype)


class SubPixelConvTranspose(_ConvLayer):
  """A "SAME" transposed convolution, computed in sub-pixel form.

  Drop-in for `nn.ConvTranspose(features, kernel_size, strides, padding="SAME")`:
  the same parameter names and shapes (`kernel` [kh, kw, C_in, features], `bias`
  [features]), the same initialisers and the same outputs and gradients (tested
  to 1e-5 in tests/test_models.py).

  Attributes:
    features: output channels.
    kernel_size: (kh, kw).
    strides: (sh, sw); the output is [B, H * sh, W * sw, features].
    use_bias: whether to add a bias.
    compute_dtype: None, or the dtype of the convolution's operands (mixed
      precision: float32 accumulation and output; see `mixed_precision`).
  """

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    """x: [B, H, W, C_in] float -> [B, H * sh, W * sw, features] (float32 with a compute_dtype)."""
    sub, padding = subpixel_kernel(self._kernel(x.shape[-1]), self.strides)
    x, sub, preferred = self._operands(x, sub)
    y = jax.lax.conv_general_dilated(x, sub, window_strides=(1, 1), padding=padding,
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"), preferred_element_type=preferred)
    return self._add_bias(depth_to_space(y, self.strides))


class Conv(_ConvLayer):
  """A "SAME" convolution with the parameters and outputs of `flax.linen.Conv`, computed by
  `gan_jax.models.conv.conv2d` (a sub-pixel input gradient, fast on XLA:CPU for stride 2).

  Attributes:
    features: output channels.
    kernel_size: (kh, kw).
    strides: (s, s), the same along H and W.
    use_bias: whether to add a bias.
    compute_dtype: as for SubPixelConvTranspose.
  """

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    """x: [B, H, W, C_in] float -> [B, ceil(H / s), ceil(W / s), features] (float32 with a compute_dtype)."""
    kh, kw = self.kernel_size
    s = self.strides[0]
    padding = [fast_conv.same_padding(x.shape[1], kh, s), fast_conv.same_padding(x.shape[2], kw, s)]
    x, kernel, preferred = self._operands(x, self._kernel(x.shape[-1]))
    return self._add_bias(fast_conv.conv2d(x, kernel, s, padding, preferred))
