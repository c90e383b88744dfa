"""Pure Flax modules (no losses, no optimizers) and their builders from a config."""

from typing import Optional

import flax.linen as nn
import ml_collections

from gan_jax.errors import ConfigError
from gan_jax.models.conditional import ConditionalDiscriminator, ConditionalGenerator
from gan_jax.models.dcgan import CONV_GRADIENTS, DCGANDiscriminator, DCGANGenerator
from gan_jax.models.layers import PRECISIONS
from gan_jax.models.mlp import MLPDiscriminator, MLPGenerator

ARCHITECTURES = ("dcgan", "mlp")
# config.conditioning: "" (none), "cgan" (G and D see the label; Mirza & Osindero 2014) or "acgan"
# (G sees it, D classifies; Odena et al. 2017).
CONDITIONINGS = ("", "cgan", "acgan")
NUM_CLASSES = 10


def conditioning(config: ml_collections.ConfigDict) -> str:
  """config.conditioning, checked ("" when absent).

  Raises:
    ConfigError: an unknown name.
  """
  name = config.get("conditioning", "")
  if name not in CONDITIONINGS:
    raise ConfigError(f"unknown --conditioning={name!r}; choose cgan or acgan (or '' for none)")
  return name


def _options(config: ml_collections.ConfigDict, features_field: str) -> dict:
  """Module options from the config; empty or None fields keep the module's defaults."""
  if config.arch not in ARCHITECTURES:
    raise ConfigError(f"unknown --arch={config.arch!r}; choose one of {', '.join(ARCHITECTURES)}")
  precision = config.get("precision", "float32")
  if precision not in PRECISIONS:
    raise ConfigError(f"unknown --config.precision={precision!r}; choose one of {', '.join(PRECISIONS)}")
  options = {"compute_dtype": PRECISIONS[precision]}
  if config[features_field]:
    options["features"] = tuple(config[features_field])
  if config.leaky_relu_slope is not None:
    options["leaky_relu_slope"] = config.leaky_relu_slope
  if config.arch == "dcgan" and config.get("kernel_size"):
    options["kernel_size"] = config.kernel_size
  if config.arch == "dcgan":
    gradients = config.get("conv_gradients", "autodiff")
    if gradients not in CONV_GRADIENTS:
      raise ConfigError(f"unknown --config.conv_gradients={gradients!r}; choose one of {', '.join(CONV_GRADIENTS)}")
    if precision != "float32" and config.get("conv_transpose", "subpixel") != "subpixel":
      raise ConfigError(f"--config.precision={precision} needs --config.conv_transpose=subpixel")
  return options


def build_generator(config: ml_collections.ConfigDict, batch_norm_axis_name: Optional[str] = None) -> nn.Module:
  """The generator of config.arch ("dcgan" or "mlp"); with config.conditioning, G(z, y)
  (`ConditionalGenerator`).

  Args:
    config: with arch, generator_features and leaky_relu_slope (empty / None: the
      module's defaults), precision ("float32" or "bfloat16": mixed precision, see
      gan_jax.models.layers.mixed_precision) and, for dcgan, conv_transpose and
      kernel_size (0: the default, 5).
    batch_norm_axis_name: set by gan_jax.parallel under pmap, else None.
  Raises:
    ConfigError: unknown arch, precision or conditioning; bfloat16 with conv_transpose "xla".
  """
  options = _options(config, "generator_features")
  if config.arch == "dcgan":
    generator = DCGANGenerator(conv_transpose=config.conv_transpose, batch_norm_axis_name=batch_norm_axis_name,
                               **options)
  else:
    generator = MLPGenerator(**options)
  return ConditionalGenerator(generator, NUM_CLASSES) if conditioning(config) else generator


def build_discriminator(config: ml_collections.ConfigDict, batch_norm_axis_name: Optional[str] = None) -> nn.Module:
  """The discriminator of config.arch (see build_generator), with dropout config.d_dropout.

  For dcgan, config.d_batch_norm adds BatchNorm (Radford et al. 2016). config.conditioning
  "cgan" gives D(x, y) (`ConditionalDiscriminator`); "acgan" gives D an auxiliary classifier
  head (its output is then (logits, class_logits)).
  Raises:
    ConfigError: unknown arch or conditioning; d_batch_norm with the mlp arch or with dropout (BatchNorm
      couples the examples of a batch, so D is applied to the whole batch with one
      dropout key, and dropout masks would depend on the device count).
  """
  options = _options(config, "discriminator_features")
  kind = conditioning(config)
  if kind == "acgan":
    options["num_classes"] = NUM_CLASSES
  d_batch_norm = bool(config.get("d_batch_norm", False))
  if d_batch_norm and (config.arch != "dcgan" or config.d_dropout):
    raise ConfigError("--config.d_batch_norm needs --arch=dcgan and --d_dropout=0")
  if config.arch == "dcgan":
    options["conv_gradients"] = config.get("conv_gradients", "autodiff")  # D only: see gan_jax.models.conv
    if d_batch_norm:
      options.update(batch_norm=True, batch_norm_axis_name=batch_norm_axis_name)
    discriminator = DCGANDiscriminator(dropout_rate=config.d_dropout, **options)
  else:
    discriminator = MLPDiscriminator(dropout_rate=config.d_dropout, **options)
  return ConditionalDiscriminator(discriminator, NUM_CLASSES) if kind == "cgan" else discriminator
