"""gan_jax.gan: latent interpolation and the G update that reuses the fake batch."""

import chex
import jax
import jax.numpy as jnp
import pytest

from gan_jax import gan
from tests.helpers import gan_state


def test_interpolation_endpoints_and_norms():
  z0, z1 = jax.random.normal(jax.random.key(0), (2, 100))
  for method in ("linear", "spherical"):
    path = gan.interpolate(z0, z1, 7, method)
    chex.assert_shape(path, (7, 100))
    chex.assert_trees_all_close((path[0], path[-1]), (z0, z1), atol=1e-5)
  # Slerp keeps the norm between the endpoints' norms; the linear midpoint shrinks
  # towards 0 (about 1/sqrt(2) for independent Gaussian vectors).
  slerp_norms = jnp.linalg.norm(gan.interpolate(z0, z1, 7, "spherical"), axis=1)
  lo, hi = sorted([float(jnp.linalg.norm(z0)), float(jnp.linalg.norm(z1))])
  assert bool(jnp.all((slerp_norms >= lo - 1e-4) & (slerp_norms <= hi + 1e-4)))
  assert float(jnp.linalg.norm(gan.interpolate(z0, z1, 3, "linear")[1])) < 0.8 * lo
  with pytest.raises(ValueError):
    gan.interpolate(z0, z1, 3, "cubic")


@pytest.mark.slow
def test_g_update_reusing_the_fake_batch_equals_recomputing_it():
  """reuse_fake: the G phase's loss and gradient through the D phase's carried pullback equal
  autodiff through a second G(z) on the same z (G's parameters are unchanged between the phases)."""
  from gan_jax import parallel
  from gan_jax.models import build_discriminator, build_generator
  from tests.helpers import tiny_dcgan_config
  config = tiny_dcgan_config(batch_size=8)
  generator, discriminator = build_generator(config), build_discriminator(config)
  state = gan_state(config, generator, discriminator)
  loss = gan.gan_loss(config)
  d_phase, g_phase = gan.gan_phases(generator, discriminator, latent_dim=config.latent_dim, loss=loss, reuse_fake=True)
  assert g_phase.takes_carry and not d_phase.takes_carry
  batch = {"x": jax.random.uniform(jax.random.key(3), (8, 1, 28, 28, 1), minval=-1, maxval=1)}
  d_key, g_key = jax.random.split(jax.random.key(5))
  _, (_, _, carry) = d_phase.loss_fn(state.params, state.batch_stats, batch, d_key, parallel.SINGLE_DEVICE)

  def reused(g_params):
    params = {**state.params, "generator": g_params}
    return g_phase.loss_fn(params, state.batch_stats, batch, g_key, parallel.SINGLE_DEVICE, carry)[0]

  def recomputed(g_params):
    x_fake, _ = gan._generate_train(generator, g_params, state.batch_stats["generator"], carry["z"])
    logits, _ = gan.discriminate(discriminator, state.params["discriminator"], {}, x_fake, jax.random.split(g_key)[1])
    return loss.generator(logits)

  got, want = (jax.value_and_grad(f)(state.params["generator"]) for f in (reused, recomputed))
  chex.assert_trees_all_close(got, want, rtol=1e-6, atol=1e-7)
  assert max(float(jnp.max(jnp.abs(a))) for a in jax.tree.leaves(want[1])) > 1e-4
