"""Pure Flax modules (no losses, no optimizers) and their builders from a config."""

from typing import Optional

import flax.linen as nn
import ml_collections

from gan_jax.errors import ConfigError
from gan_jax.models.bigan import BiGANEncoder, JointDiscriminator
from gan_jax.models.conditional import ConditionalDiscriminator, ConditionalGenerator, InfoGANGenerator
from gan_jax.models.dcgan import CONV_GRADIENTS, DCGANDiscriminator, DCGANGenerator
from gan_jax.models.layers import PRECISIONS
from gan_jax.models.mlp import MLPDiscriminator, MLPGenerator

ARCHITECTURES = ("dcgan", "mlp")
# config.conditioning: "" (none), "cgan" (G and D see the label; Mirza & Osindero 2014), "acgan"
# (G sees it, D classifies; Odena et al. 2017) or "infogan" (G sees latent codes that D's Q head
# recovers, no labels; Chen et al. 2016).
CONDITIONINGS = ("", "cgan", "acgan", "infogan")
CLASS_CONDITIONINGS = ("cgan", "acgan")  # those trained on the data's labels, whose samples have classes
NUM_CLASSES = 10
# InfoGAN's latent codes (Chen et al. 2016, Section 5, MNIST): one categorical code of 10 values (G's
# "labels") and 2 continuous codes ~ Uniform(-1, 1) (from z's last 2 entries, see InfoGANGenerator).
INFO_CATEGORIES = 10
INFO_CONTINUOUS = 2


def conditioning(config: ml_collections.ConfigDict) -> str:
  """config.conditioning, checked ("" when absent).

  Raises:
    ConfigError: an unknown name.
  """
  name = config.get("conditioning", "")
  if name not in CONDITIONINGS:
    raise ConfigError(f"unknown --conditioning={name!r}; choose cgan, acgan or infogan (or '' for none)")
  if name and config.get("bigan"):
    raise ConfigError(f"--bigan takes no --conditioning (got {name!r}): BiGAN learns its codes without labels")
  if name == "infogan" and config.latent_dim <= INFO_CONTINUOUS:
    raise ConfigError(f"--conditioning=infogan takes its {INFO_CONTINUOUS} continuous codes from z: "
                      f"--latent_dim must be > {INFO_CONTINUOUS}, got {config.latent_dim}")
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
  """The generator of config.arch ("dcgan" or "mlp"); with config.conditioning "cgan" or "acgan",
  G(z, y) (`ConditionalGenerator`); with "infogan", G(z, c) (`InfoGANGenerator`).

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
  kind = conditioning(config)
  if kind == "infogan":
    return InfoGANGenerator(generator, INFO_CATEGORIES, INFO_CONTINUOUS)
  return ConditionalGenerator(generator, NUM_CLASSES) if kind else generator


def build_discriminator(config: ml_collections.ConfigDict, batch_norm_axis_name: Optional[str] = None) -> nn.Module:
  """The discriminator of config.arch (see build_generator), with dropout config.d_dropout.

  For dcgan, config.d_batch_norm adds BatchNorm (Radford et al. 2016). config.conditioning
  "cgan" gives D(x, y) (`ConditionalDiscriminator`); "acgan" gives D an auxiliary classifier
  head (its output is then (logits, class_logits)); "infogan" gives D InfoGAN's Q head (its output
  is then (logits, q), q: INFO_CATEGORIES logits and INFO_CONTINUOUS means). config.bigan gives
  BiGAN's D(x, z) (`JointDiscriminator`).
  Raises:
    ConfigError: unknown arch or conditioning; d_batch_norm with the mlp arch or with dropout (BatchNorm
      couples the examples of a batch, so D is applied to the whole batch with one
      dropout key, and dropout masks would depend on the device count).
  """
  options = _options(config, "discriminator_features")
  kind = conditioning(config)
  if kind == "acgan":
    options["num_classes"] = NUM_CLASSES
  if kind == "infogan":
    options["q_outputs"] = INFO_CATEGORIES + INFO_CONTINUOUS
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
  if config.get("bigan"):
    return JointDiscriminator(discriminator)
  return ConditionalDiscriminator(discriminator, NUM_CLASSES) if kind == "cgan" else discriminator


def build_encoder(config: ml_collections.ConfigDict) -> BiGANEncoder:
  """BiGAN's encoder E: x -> z for config.arch, with the discriminator's widths, kernel size and
  LeakyReLU slope (config.discriminator_features etc.; empty: the architecture's defaults).

  Raises:
    ConfigError: unknown arch.
  """
  options = _options(config, "discriminator_features")
  discriminator = (DCGANDiscriminator if config.arch == "dcgan" else MLPDiscriminator)(
      **{k: v for k, v in options.items() if k != "compute_dtype"})
  return BiGANEncoder(latent_dim=config.latent_dim, features=tuple(discriminator.features),
                      convolutional=config.arch == "dcgan", kernel_size=getattr(discriminator, "kernel_size", 5),
                      leaky_relu_slope=discriminator.leaky_relu_slope)
