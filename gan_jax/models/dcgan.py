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

The widths, the kernel size and the number of layers are attributes, so the
same modules also build the smaller, faster DCGAN of the `fast` recipe
(`gan_jax/configs.py`): G without the 7x7 stride-1 layer, D with fewer channels.
"""

from typing import Any, Optional, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models.conditional import QHead
from gan_jax.models.layers import Conv, SubPixelConvTranspose, mixed_precision

_KERNEL_INIT = nn.initializers.xavier_uniform()


CONV_GRADIENTS = ("autodiff", "fast")


def _conv_transpose(impl: str, features: int, kernel_size: int, strides: int, name: str,
                    compute_dtype: Optional[Any] = None) -> nn.Module:
  """A k x k "SAME" transposed convolution without bias, in the chosen form (its sub-pixel form's
  gradients are those of a stride-1 convolution: fast with autodiff, see gan_jax.models.conv)."""
  kernel = (kernel_size, kernel_size)
  if impl == "subpixel":
    return SubPixelConvTranspose(features, kernel, (strides, strides), use_bias=False,
                                 kernel_init=_KERNEL_INIT, compute_dtype=compute_dtype, name=name)
  if impl == "xla" and compute_dtype is not None:
    raise ValueError("mixed precision needs conv_transpose='subpixel'")
  if impl == "xla":
    return nn.ConvTranspose(features, kernel, (strides, strides), padding="SAME", use_bias=False,
                            kernel_init=_KERNEL_INIT, name=name)
  raise ValueError(f"conv_transpose must be 'subpixel' or 'xla', got {impl!r}")


def _conv(features: int, kernel_size: int, strides: int, use_bias: bool, name: str, gradients: str,
          compute_dtype: Optional[Any] = None) -> nn.Module:
  """A k x k "SAME" convolution: flax's (autodiff gradients) or gan_jax.models.conv's (fast gradients)."""
  kernel = (kernel_size, kernel_size)
  if gradients == "autodiff":
    return nn.Conv(features, kernel, strides=(strides, strides), padding="SAME", use_bias=use_bias,
                   kernel_init=_KERNEL_INIT, name=name, **mixed_precision(compute_dtype, "conv"))
  return Conv(features, kernel, (strides, strides), use_bias=use_bias, kernel_init=_KERNEL_INIT,
              compute_dtype=compute_dtype, name=name)


def conv_layer(kind: str, features: int, kernel_size: int, strides: int, gradients: str = "fast",
               name: str = "layer", compute_dtype: Optional[Any] = None) -> nn.Module:
  """One convolution as the DCGAN modules build it: kind "conv" (D's, with bias) or "deconv"
  (G's transposed convolution, sub-pixel form, no bias); used by benchmarks.run --layers.

  Raises:
    ValueError: unknown kind or gradients.
  """
  if gradients not in CONV_GRADIENTS:
    raise ValueError(f"conv gradients must be one of {CONV_GRADIENTS}, got {gradients!r}")
  if kind == "conv":
    return _conv(features, kernel_size, strides, True, name, gradients, compute_dtype)
  if kind == "deconv":
    return _conv_transpose("subpixel", features, kernel_size, strides, name, compute_dtype)
  raise ValueError(f"kind must be 'conv' or 'deconv', got {kind!r}")


class DCGANGenerator(nn.Module):
  """G: latent z -> image, the TF-tutorial DCGAN generator (and its smaller variants).

  z is projected to a 7x7 map of features[0] channels; each further width adds a
  transposed convolution, stride 1 at 7x7 except the last one, which is stride 2
  to 14x14; a final stride-2 transposed convolution gives the 28x28x1 image.
  (256, 128, 64), the tutorial's, is 7x7x256 -> 7x7x128 -> 14x14x64 -> 28x28x1;
  (128, 64) is 7x7x128 -> 14x14x64 -> 28x28x1.

  Attributes:
    features: widths of the feature maps, at least 2 (default 256, 128, 64).
    kernel_size: side of every transposed-convolution kernel (5 in the tutorial).
    leaky_relu_slope: negative slope of the LeakyReLUs.
    conv_transpose: "subpixel" (fast on CPU, the default) or "xla" (`nn.ConvTranspose`);
      the two compute the same function with the same parameters.
    batch_norm_axis_name: the mapped axis over which BatchNorm averages its batch
      statistics under `jax.pmap` (set by `gan_jax.parallel`); None on one device
      or under `jax.jit` sharding.
    compute_dtype: None (float32), or the operand dtype of the dense layer and the
      convolutions, e.g. jnp.bfloat16 (see gan_jax.models.layers.mixed_precision;
      parameters, BatchNorm and the output stay float32).
  """
  features: Sequence[int] = (256, 128, 64)
  kernel_size: int = 5
  leaky_relu_slope: float = 0.3
  conv_transpose: str = "subpixel"
  batch_norm_axis_name: Optional[str] = None
  compute_dtype: Optional[Any] = None

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
    Raises:
      ValueError: fewer than 2 features.
    """
    if len(self.features) < 2:
      raise ValueError(f"a DCGAN generator needs at least 2 feature widths, got {tuple(self.features)}")
    act = lambda h: nn.leaky_relu(h, self.leaky_relu_slope)
    h = nn.Dense(7 * 7 * self.features[0], use_bias=False, kernel_init=_KERNEL_INIT, name="project",
                 **mixed_precision(self.compute_dtype, "dense"))(z)
    h = act(self._batch_norm(train, "bn_project")(h))
    h = h.reshape(z.shape[0], 7, 7, self.features[0])
    # The names of the tutorial's layers are kept: Flax derives each layer's
    # initial parameters from its name, and the tutorial run must stay bitwise reproducible.
    stride_one = self.features[1:-1]
    for i, f in enumerate(stride_one):
      suffix = "" if i == 0 else f"_{i + 1}"
      h = _conv_transpose(self.conv_transpose, f, self.kernel_size, 1, "deconv_7x7" + suffix, self.compute_dtype)(h)
      h = act(self._batch_norm(train, "bn_7x7" + suffix)(h))
    h = _conv_transpose(self.conv_transpose, self.features[-1], self.kernel_size, 2, "deconv_14x14",
                        self.compute_dtype)(h)
    h = act(self._batch_norm(train, "bn_14x14")(h))
    h = _conv_transpose(self.conv_transpose, 1, self.kernel_size, 2, "deconv_28x28", self.compute_dtype)(h)
    return jnp.tanh(h)


def _example_dropout(h: jax.Array, rate: float, example_keys: jax.Array, layer: int) -> jax.Array:
  """Inverted dropout of h [B, ...] whose mask for example i is drawn from example_keys[i] and `layer` alone,
  so it does not depend on how the batch is split across devices."""
  if rate == 0.0:
    return h
  keep = 1.0 - rate
  masks = jax.vmap(lambda k: jax.random.bernoulli(jax.random.fold_in(k, layer), keep, h.shape[1:]))(example_keys)
  return jnp.where(masks, h / keep, jnp.zeros_like(h))


class DCGANDiscriminator(nn.Module):
  """D: image -> logit of "real", the TF-tutorial DCGAN discriminator.

  Attributes:
    features: widths of the stride-2 convolutions' outputs (default 64, 128: 14x14 and 7x7 maps).
    kernel_size: side of every convolution kernel (5 in the tutorial).
    dropout_rate: dropout after each convolution (0.3 in the tutorial).
    leaky_relu_slope: negative slope of the LeakyReLUs.
    batch_norm: BatchNorm after every convolution but the first, as in Radford et
      al. 2016 (Section 3); the tutorial has none. In train mode it normalises
      with the statistics of the batch D is applied to and updates the running
      averages in "batch_stats" (mutable); otherwise it uses the running averages.
    conv_gradients: "autodiff" (flax's nn.Conv, XLA's gradients) or "fast"
      (gan_jax.models.layers.Conv: the same function and parameters, with a
      sub-pixel input gradient; see gan_jax.models.conv).
    batch_norm_axis_name: as for DCGANGenerator.
    compute_dtype: as for DCGANGenerator (the logit stays float32).
    num_classes: > 0 adds AC-GAN's auxiliary classifier (Odena et al. 2017): a second dense
      head on the same features, giving class logits.
    q_outputs: > 0 adds InfoGAN's Q head (`gan_jax.models.conditional.QHead`) on the same features.
  """
  features: Sequence[int] = (64, 128)
  kernel_size: int = 5
  dropout_rate: float = 0.3
  leaky_relu_slope: float = 0.3
  batch_norm: bool = False
  conv_gradients: str = "autodiff"
  batch_norm_axis_name: Optional[str] = None
  compute_dtype: Optional[Any] = None
  num_classes: int = 0
  q_outputs: int = 0

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True, example_keys: Optional[jax.Array] = None) -> Any:
    """Scores images.

    Args:
      x: [B, 28, 28, 1] float32 in [-1, 1].
      train: True applies dropout: with `example_keys`, example i's masks come from
        example_keys[i] (folded with the layer index); else from the "dropout" PRNG stream.
      example_keys: optional [B] typed PRNG keys, one per example (see gan_jax.train.example_keys).
    Returns:
      logits: [B] float32; D(x) = sigmoid(logits) is the probability that x is real; with
      num_classes > 0, (logits, class_logits [B, num_classes] float32); with q_outputs > 0,
      (logits, q [B, q_outputs] float32).
    """
    h = x
    for i, f in enumerate(self.features):
      normalized = self.batch_norm and i > 0
      # A bias before BatchNorm is removed by it: its gradient is rounding noise, which Adam would amplify.
      h = _conv(f, self.kernel_size, 2, not normalized, f"conv_{i}", self.conv_gradients, self.compute_dtype)(h)
      if normalized:
        h = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5,
                         axis_name=self.batch_norm_axis_name if train else None, name=f"bn_{i}")(h)
      h = nn.leaky_relu(h, self.leaky_relu_slope)
      if example_keys is not None:
        h = _example_dropout(h, self.dropout_rate if train else 0.0, example_keys, i)
      else:
        h = nn.Dropout(self.dropout_rate, deterministic=not train)(h)
    h = h.reshape(h.shape[0], -1)
    self.sow("intermediates", "features", h)  # D's penultimate features, a representation (Radford et al. 2016, Section 5.1)
    logits = nn.Dense(1, kernel_init=_KERNEL_INIT, name="logit", **mixed_precision(self.compute_dtype, "dense"))(h)[:, 0]
    if self.q_outputs:
      return logits, QHead(self.q_outputs, self.leaky_relu_slope, name="q")(h)
    if not self.num_classes:
      return logits
    return logits, nn.Dense(self.num_classes, kernel_init=_KERNEL_INIT, name="classes")(h)
