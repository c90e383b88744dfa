"""Pure Flax modules (no losses, no optimizers) and their builders from a config."""

from typing import Optional

import flax.linen as nn
import ml_collections

from gan_jax.errors import ConfigError
from gan_jax.models.dcgan import DCGANDiscriminator, DCGANGenerator

ARCHITECTURES = ("dcgan",)


def build_generator(config: ml_collections.ConfigDict, batch_norm_axis_name: Optional[str] = None) -> nn.Module:
  """The generator named by config.model.

  Args:
    config: with model, generator_features, leaky_relu_slope, conv_transpose.
    batch_norm_axis_name: set by gan_jax.parallel under pmap, else None.
  Raises:
    ConfigError: unknown model.
  """
  if config.model == "dcgan":
    return DCGANGenerator(features=tuple(config.generator_features), leaky_relu_slope=config.leaky_relu_slope,
                          conv_transpose=config.conv_transpose, batch_norm_axis_name=batch_norm_axis_name)
  raise ConfigError(f"unknown model {config.model!r}; choose one of {', '.join(ARCHITECTURES)}")


def build_discriminator(config: ml_collections.ConfigDict) -> nn.Module:
  """The discriminator named by config.model (see build_generator)."""
  if config.model == "dcgan":
    return DCGANDiscriminator(features=tuple(config.discriminator_features), dropout_rate=config.d_dropout,
                              leaky_relu_slope=config.leaky_relu_slope)
  raise ConfigError(f"unknown model {config.model!r}; choose one of {', '.join(ARCHITECTURES)}")
