"""GAN losses on known inputs (Goodfellow et al. 2014)."""

import chex
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import losses

LOG2 = float(np.log(2.0))


class LossesTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_values_at_d_equal_one_half(self):
    zeros = jnp.zeros(7)  # logit 0: D = 1/2, the optimum against a perfect generator
    chex.assert_trees_all_close(self.variant(losses.discriminator_loss)(zeros, zeros), 2 * LOG2, atol=1e-6)
    chex.assert_trees_all_close(self.variant(losses.generator_loss_non_saturating)(zeros), LOG2, atol=1e-6)
    chex.assert_trees_all_close(self.variant(losses.generator_loss_minimax)(zeros), -LOG2, atol=1e-6)

  @chex.variants(with_jit=True, without_jit=True)
  def test_match_the_probability_formulas(self):
    real = jnp.array([-3.0, -0.5, 0.2, 2.0])
    fake = jnp.array([-1.0, 0.0, 1.5, 4.0])
    d_real, d_fake = jax.nn.sigmoid(real), jax.nn.sigmoid(fake)
    chex.assert_trees_all_close(self.variant(losses.discriminator_loss)(real, fake),
                                -jnp.mean(jnp.log(d_real)) - jnp.mean(jnp.log(1 - d_fake)), rtol=1e-5)
    chex.assert_trees_all_close(self.variant(losses.generator_loss_minimax)(fake),
                                jnp.mean(jnp.log(1 - d_fake)), rtol=1e-5)
    chex.assert_trees_all_close(self.variant(losses.generator_loss_non_saturating)(fake),
                                -jnp.mean(jnp.log(d_fake)), rtol=1e-5)

  def test_stable_and_saturating_for_extreme_logits(self):
    fake = jnp.array([-200.0, 200.0])
    for fn in (losses.generator_loss_minimax, losses.generator_loss_non_saturating):
      chex.assert_tree_all_finite((fn(fake), jax.grad(fn)(fake)))
    chex.assert_tree_all_finite(jax.grad(losses.discriminator_loss, argnums=(0, 1))(fake, fake))
    # Where D confidently rejects a sample (logit -200), the minimax loss gives G no
    # gradient and the non-saturating loss gives it a strong one (Section 3 of the paper).
    rejected = jnp.array([-200.0])
    assert abs(float(jax.grad(losses.generator_loss_minimax)(rejected)[0])) < 1e-30
    np.testing.assert_allclose(jax.grad(losses.generator_loss_non_saturating)(rejected), [-1.0])
