"""A strided convolution whose input gradient is written as a forward-friendly op, for XLA:CPU.

XLA:CPU runs forward convolutions well but the input gradient of a stride-2
convolution poorly: autodiff gives a convolution over a stride-dilated input
(results/benchmarks_layers.md). `conv2d` computes the same function as
`lax.conv_general_dilated` (NHWC input, HWIO kernel) under a `jax.custom_vjp`
whose input gradient is the sub-pixel (phase-decomposed) form of the transposed
convolution (Shi et al. 2016): one stride-1 convolution of dy to s*s*C_in
channels, one per input phase, then depth-to-space and a crop. The weight
gradient is XLA's own.

Measured with `python -m benchmarks.run --layers` on 2 cores of an AMD EPYC
(batch 256, float32, ms for the forward pass and both gradients; the
full table is results/benchmarks_layers.md):

| layer (DCGAN)                | XLA autodiff | this module | PyTorch eager |
|------------------------------|--------------|-------------|---------------|
| D conv_1 14x14x64 -> 128, /2 | 112-116      | 82-85       | 77-79         |
| D conv_0 28x28x1 -> 64, /2   | 9            | 11-12       | 19            |

Where this form is used: D's stride-2 convolutions (`conv_gradients="fast"`).
For D's first convolution (one input channel) it is 2-3 ms slower than XLA's
at batch 256 (0.2% of the tutorial's step); it is kept there so that the runs
of the `fast` recipe in results/ stay reproducible with the shipped default.
Where it is not: G's layers, whose sub-pixel form (gan_jax.models.layers) is a
stride-1 convolution, and a stride-1 input gradient is already a forward
convolution (the tutorial's 7x7 layer: 254-276 ms either way).
Tried and dropped, because slower than XLA's weight gradient on every DCGAN
layer (tutorial D conv_1: XLA 43 ms, 25 shifted-view matmuls 80+, one im2col
matmul 100+; G 7x7 layer: XLA 129 ms, both 375+): weight gradients as matrix
products with the batch contracted; and the forward pass as kernel-row matmuls
over a W-im2col in H-major layout (G 7x7 layer 245 ms against XLA's 131).

Tested equal to XLA's autodiff (value and both gradients, to 1e-5 relative) in
tests/test_models.py.
"""

import functools
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

_DN = ("NHWC", "HWIO", "NHWC")


def same_padding(size: int, kernel_size: int, stride: int) -> tuple[int, int]:
  """(lo, hi) padding of a "SAME" convolution of one spatial side (as lax and flax compute it)."""
  out = -(-size // stride)
  total = max((out - 1) * stride + kernel_size - size, 0)
  return total // 2, total - total // 2


def _conv(x, w, stride, padding, preferred_element_type=None):
  return lax.conv_general_dilated(x, w, (stride, stride), padding, dimension_numbers=_DN,
                                  preferred_element_type=preferred_element_type)


def tap_table(pairs: list[tuple[int, int, int]], stride: int, kernel_size: int) -> tuple[np.ndarray, int, int]:
  """Collects (phase r, kernel tap t, offset m) triples into a per-phase tap table, in one dimension.

  Returns:
    taps: int [stride, window]; taps[r, j] is the tap phase r applies at offset
      m_min + j, or kernel_size (an index into an appended zero tap) where it uses none.
    m_min, m_max: the offset window.
  """
  m_min = min(m for _, _, m in pairs)
  m_max = max(m for _, _, m in pairs)
  taps = np.full((stride, m_max - m_min + 1), kernel_size, dtype=np.int32)
  for r, t, m in pairs:
    taps[r, m - m_min] = t
  return taps, m_min, m_max


def depth_to_space(x: jax.Array, strides: Sequence[int]) -> jax.Array:
  """[B, H, W, sh*sw*C] with channel (rh*sw + rw)*C + c -> [B, H*sh, W*sw, C]."""
  b, h, w, channels = x.shape
  sh, sw = strides
  c = channels // (sh * sw)
  x = x.reshape(b, h, w, sh, sw, c)
  x = jnp.transpose(x, (0, 1, 3, 2, 4, 5))
  return x.reshape(b, h * sh, w * sw, c)


def _input_grad_phases(kernel_size: int, stride: int, lo: int) -> tuple[np.ndarray, int, int]:
  """The sub-pixel form of a stride-s convolution's input gradient, in one dimension.

  For y[o] = sum_t x[s*o + t - lo] w[t], the gradient at input i = s*p + r is
  dx[s*p + r] = sum_t dy[o] w[t] over s*o = s*p + r + lo - t, i.e. a stride-1
  correlation of dy over offsets m = o - p with taps t = r + lo - s*m.

  Returns: see tap_table (offsets are those of dy).
  """
  return tap_table([(r, t, (r + lo - t) // stride) for r in range(stride) for t in range(kernel_size)
                    if (r + lo - t) % stride == 0], stride, kernel_size)


def _input_grad(dy, w, stride, padding, in_shape, preferred_element_type=None):
  """dx of a stride-s convolution, as one stride-1 convolution to s*s*C_in channels and depth-to-space."""
  kh, kw, c_in, _ = w.shape
  s = stride
  taps_h, mh_min, mh_max = _input_grad_phases(kh, s, padding[0][0])
  taps_w, mw_min, mw_max = _input_grad_phases(kw, s, padding[1][0])
  padded = jnp.pad(w, ((0, 1), (0, 1), (0, 0), (0, 0)))  # zero tap at index k
  # sub[j, j', C_out, rh, rw, C_in] = w[taps_h[rh, j], taps_w[rw, j'], C_in, C_out]
  gathered = padded[taps_h[:, :, None, None], taps_w[None, None, :, :]]  # [rh, j, rw, j', C_in, C_out]
  sub = jnp.transpose(gathered, (1, 3, 5, 0, 2, 4)).reshape(taps_h.shape[1], taps_w.shape[1], -1, s * s * c_in)
  # Output phase rows p run over ceil(H_in / s); dy is read at p + m for m in [m_min, m_max].
  ph, pw = -(-in_shape[1] // s), -(-in_shape[2] // s)
  oh, ow = dy.shape[1], dy.shape[2]
  pad = [(-mh_min, ph - 1 + mh_max - (oh - 1)), (-mw_min, pw - 1 + mw_max - (ow - 1))]
  phases = _conv(dy.astype(w.dtype), sub, 1, pad, preferred_element_type)  # [B, ph, pw, s*s*C_in], channel (rh*s + rw)*C_in + c
  return depth_to_space(phases, (s, s))[:, :in_shape[1], :in_shape[2]]


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4))
def _conv2d(x, w, stride, padding, preferred_element_type):
  return _conv(x, w, stride, [tuple(p) for p in padding], preferred_element_type)


def _conv2d_fwd(x, w, stride, padding, preferred_element_type):
  return _conv2d(x, w, stride, padding, preferred_element_type), (x, w)


def _conv2d_bwd(stride, padding, preferred_element_type, residuals, dy):
  x, w = residuals
  padding = [tuple(p) for p in padding]
  dx = _input_grad(dy, w, stride, padding, x.shape, preferred_element_type).astype(x.dtype)
  dw = jax.vjp(lambda w_: _conv(x, w_, stride, padding, preferred_element_type), w)[1](dy)[0]
  return dx, dw


_conv2d.defvjp(_conv2d_fwd, _conv2d_bwd)


def conv2d(x: jax.Array, w: jax.Array, stride: int, padding: Sequence[tuple[int, int]],
           preferred_element_type=None) -> jax.Array:
  """lax.conv_general_dilated(x, w, (stride, stride), padding) with a sub-pixel input gradient.

  Args:
    x: [B, H, W, C_in] float (NHWC).
    w: [kh, kw, C_in, C_out] float (HWIO), of x's dtype.
    stride: the same stride along H and W (1 or more).
    padding: ((lo, hi), (lo, hi)) explicit padding of H and W.
    preferred_element_type: None (x's dtype) or the dtype to accumulate and return
      in, e.g. float32 for bfloat16 operands (mixed precision); the input gradient
      then convolves dy rounded to x's dtype, as the forward pass does.
  Returns:
    [B, H_out, W_out, C_out], the same values as lax.conv_general_dilated; its
    gradients equal XLA's autodiff up to float rounding. Apply it to a whole batch:
    under `jax.vmap` over examples its weight gradient would be formed per example.
  """
  padding = tuple(tuple(int(v) for v in p) for p in padding)
  return _conv2d(x, w, int(stride), padding, preferred_element_type)
