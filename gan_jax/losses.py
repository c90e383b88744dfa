"""GAN losses as pure functions of discriminator logits.

D(x) = sigmoid(logit). Every loss is written with `jax.nn.softplus`, which is
exact and stable for logits of any size: -log sigmoid(l) = softplus(-l) and
-log(1 - sigmoid(l)) = softplus(l). All losses are means over the batch, in nats.
"""

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


GENERATOR_LOSSES = {
    "minimax": generator_loss_minimax,
    "non_saturating": generator_loss_non_saturating,
}
