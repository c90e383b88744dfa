"""GAN losses as pure functions of the discriminator's outputs.

D(x) = sigmoid(logit). Every loss is written with `jax.nn.softplus`, which is
exact and stable for logits of any size: -log sigmoid(l) = softplus(-l) and
-log(1 - sigmoid(l)) = softplus(l). All losses are means over the batch, in nats.
"""

import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp


def discriminator_loss(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
  """The discriminator's side of the minimax game (Goodfellow et al. 2014, eq. 1).

  D maximises V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))]; this returns -V,
  the quantity D minimises. At the optimum of a perfect G, D = 1/2 everywhere
  and the loss is 2 log 2.

  Args:
    real_logits: [B] float32, D's logits on real images x.
    fake_logits: [B'] float32, D's logits on generated images G(z).
  Returns:
    scalar float32, nats.
  """
  return jnp.mean(jax.nn.softplus(-real_logits)) + jnp.mean(jax.nn.softplus(fake_logits))


def generator_loss_minimax(fake_logits: jax.Array) -> jax.Array:
  """The generator's saturating (minimax) loss, E_z[log(1 - D(G(z)))] (Goodfellow et al. 2014, eq. 1).

  G minimises this directly. Its gradient vanishes when D rejects the samples
  confidently (D(G(z)) -> 0), which is why the paper proposes the
  non-saturating loss (Section 3).

  Args:
    fake_logits: [B] float32, D's logits on G(z).
  Returns:
    scalar float32, nats, <= 0.
  """
  return -jnp.mean(jax.nn.softplus(fake_logits))


def generator_loss_non_saturating(fake_logits: jax.Array) -> jax.Array:
  """The generator's non-saturating loss, -E_z[log D(G(z))] (Goodfellow et al. 2014, Section 3).

  Same fixed point as the minimax loss, with strong gradients early in training.

  Args:
    fake_logits: [B] float32, D's logits on G(z).
  Returns:
    scalar float32, nats, >= 0.
  """
  return jnp.mean(jax.nn.softplus(-fake_logits))




def lsgan_discriminator_loss(real_outputs: jax.Array, fake_outputs: jax.Array, a: float = 0.0,
                             b: float = 1.0) -> jax.Array:
  """LSGAN discriminator loss (Mao et al. 2017, eq. 2).

  1/2 E_x[(D(x) - b)^2] + 1/2 E_z[(D(G(z)) - a)^2], with D's raw (linear)
  output: D is pulled to b on real images and to a on generated ones. For a
  fixed G the optimum is D*(x) = (b p_data(x) + a p_g(x)) / (p_data(x) + p_g(x)) (eq. 4).

  Args:
    real_outputs: [B] float32, D's outputs on real images (no sigmoid).
    fake_outputs: [B'] float32, D's outputs on G(z).
    a, b: the target codes of fake and real data.
  Returns:
    scalar float32.
  """
  return 0.5 * jnp.mean((real_outputs - b) ** 2) + 0.5 * jnp.mean((fake_outputs - a) ** 2)


def lsgan_generator_loss(fake_outputs: jax.Array, c: float = 1.0) -> jax.Array:
  """LSGAN generator loss (Mao et al. 2017, eq. 2): 1/2 E_z[(D(G(z)) - c)^2].

  c is the value G wants D to believe for fake data. With b - c = 1 and
  b - a = 2 (e.g. a = -1, b = 1, c = 0) minimising it minimises the Pearson
  chi-square divergence between p_data + p_g and 2 p_g (eq. 8); the 0-1 coding
  is a = 0, b = c = 1 (eq. 9).

  Args:
    fake_outputs: [B] float32, D's outputs on G(z) (no sigmoid).
    c: the generator's target code.
  Returns:
    scalar float32, >= 0.
  """
  return 0.5 * jnp.mean((fake_outputs - c) ** 2)


LS_CODINGS = {
    "zero_one": (0.0, 1.0, 1.0),   # a, b, c of Mao et al. 2017, eq. 9
    "pearson": (-1.0, 1.0, 0.0),   # b - c = 1, b - a = 2: the Pearson chi-square divergence (eq. 8)
}


class GanLoss(NamedTuple):
  """A GAN's pair of losses on D's outputs, and how its outputs read as D(x).

  Attributes:
    discriminator: (real_outputs [B], fake_outputs [B']) -> scalar.
    generator: fake_outputs [B] -> scalar.
    d_output: D's raw outputs -> the value reported as D(x): sigmoid for the
      log-loss games (a probability), identity for LSGAN (its targets are a and b).
  """
  discriminator: Callable[[jax.Array, jax.Array], jax.Array]
  generator: Callable[[jax.Array], jax.Array]
  d_output: Callable[[jax.Array], jax.Array]


LOSSES = ("minimax", "non_saturating", "least_squares")


def make_gan_loss(name: str, ls_a: float = 0.0, ls_b: float = 1.0, ls_c: float = 1.0) -> GanLoss:
  """The losses of one GAN variant.

  Args:
    name: "minimax" (Goodfellow et al. 2014, eq. 1, saturating G loss),
      "non_saturating" (the same D loss, G maximises log D(G(z))), or
      "least_squares" (Mao et al. 2017 with codes ls_a, ls_b, ls_c).
  Raises:
    ValueError: unknown name.
  """
  if name == "minimax":
    return GanLoss(discriminator_loss, generator_loss_minimax, jax.nn.sigmoid)
  if name == "non_saturating":
    return GanLoss(discriminator_loss, generator_loss_non_saturating, jax.nn.sigmoid)
  if name == "least_squares":
    return GanLoss(functools.partial(lsgan_discriminator_loss, a=ls_a, b=ls_b),
                   functools.partial(lsgan_generator_loss, c=ls_c), lambda outputs: outputs)
  raise ValueError(f"unknown GAN loss {name!r}; choose one of {', '.join(LOSSES)}")
