"""GAN losses on known inputs (Goodfellow et al. 2014)."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

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


class LeastSquaresTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_zero_at_the_targets(self):
    a, b, c = -1.0, 1.0, 0.0
    d = self.variant(lambda r, f: losses.lsgan_discriminator_loss(r, f, a, b))
    chex.assert_trees_all_close(d(jnp.full(5, b), jnp.full(3, a)), 0.0)
    chex.assert_trees_all_close(self.variant(lambda f: losses.lsgan_generator_loss(f, c))(jnp.full(3, c)), 0.0)
    # One unit off the target costs 1/2 (eq. 2 of Mao et al. 2017 has the 1/2 factors).
    chex.assert_trees_all_close(d(jnp.full(5, b + 1), jnp.full(3, a)), 0.5)

  def test_discriminator_optimum_for_discrete_densities(self):
    # Minimising the D loss pointwise over a finite support gives eq. 4: D* = (b p_data + a p_g) / (p_data + p_g).
    p_data = jnp.array([0.1, 0.4, 0.3, 0.2])
    p_g = jnp.array([0.25, 0.25, 0.05, 0.45])
    for name, (a, b, _) in losses.LS_CODINGS.items():
      expected = (b * p_data + a * p_g) / (p_data + p_g)
      # E_pdata[1/2 (D - b)^2] + E_pg[1/2 (D - a)^2] with D free at each of the 4 points.
      objective = lambda d, a=a, b=b: jnp.sum(p_data * 0.5 * (d - b) ** 2 + p_g * 0.5 * (d - a) ** 2)
      d = jax.lax.fori_loop(0, 2000, lambda _, d: d - jax.grad(objective)(d), jnp.zeros(4))
      chex.assert_trees_all_close(d, expected, atol=1e-5, custom_message=name)

  def test_codings_and_dispatch(self):
    assert losses.LS_CODINGS["pearson"] == (-1.0, 1.0, 0.0)
    assert losses.LS_CODINGS["zero_one"] == (0.0, 1.0, 1.0)
    ls = losses.make_gan_loss("least_squares", -1.0, 1.0, 0.0)
    outputs = jnp.array([0.3, -0.2])
    chex.assert_trees_all_close(ls.d_output(outputs), outputs)  # raw scores, no sigmoid
    chex.assert_trees_all_close(ls.generator(outputs), losses.lsgan_generator_loss(outputs, 0.0))
    ns = losses.make_gan_loss("non_saturating")
    chex.assert_trees_all_close(ns.d_output(jnp.zeros(2)), jnp.full(2, 0.5))
    with self.assertRaisesRegex(ValueError, "choose one of minimax, non_saturating, least_squares, wasserstein"):
      losses.make_gan_loss("hinge")


def test_one_sided_label_smoothing_matches_the_cross_entropy_formula():
  real, fake = jnp.array([-2.0, 0.3, 1.7]), jnp.array([-1.0, 0.5, 2.5])
  d_real, d_fake = jax.nn.sigmoid(real), jax.nn.sigmoid(fake)
  expected = (-jnp.mean(0.9 * jnp.log(d_real) + 0.1 * jnp.log(1 - d_real)) - jnp.mean(jnp.log(1 - d_fake)))
  smoothed = losses.make_gan_loss("non_saturating", label_smoothing=0.1)
  chex.assert_trees_all_close(smoothed.discriminator(real, fake), expected, rtol=1e-5)
  # No smoothing is the unsmoothed loss, bit for bit.
  chex.assert_trees_all_equal(losses.make_gan_loss("non_saturating").discriminator(real, fake),
                              losses.discriminator_loss(real, fake))
  with pytest.raises(ValueError, match="label_smoothing"):
    losses.make_gan_loss("least_squares", label_smoothing=0.1)
  with pytest.raises(ValueError, match="label_smoothing"):
    losses.make_gan_loss("minimax", label_smoothing=1.0)


def test_wasserstein_losses_are_the_critic_score_differences():
  real, fake = jnp.array([1.0, 3.0]), jnp.array([-2.0, 0.0, 1.0])
  assert float(losses.wasserstein_critic_loss(real, fake)) == pytest.approx(-1 / 3 - 2.0)
  assert float(losses.wasserstein_generator_loss(fake)) == pytest.approx(1 / 3)
  wgan = losses.make_gan_loss("wasserstein")
  assert wgan.name == "wasserstein" and float(wgan.d_output(jnp.float32(-5.0))) == -5.0  # linear, no sigmoid
  with pytest.raises(ValueError, match="label_smoothing applies to the log-loss games"):
    losses.make_gan_loss("wasserstein", label_smoothing=0.1)


def test_gradient_penalty_equals_its_definition_by_finite_differences():
  """(||grad f(x_hat)||_2 - 1)^2 averaged over examples, with each gradient taken by central
  differences in float64 on a small nonlinear critic f(x) = v . tanh(W x)."""
  rng = np.random.default_rng(0)
  w, v = rng.normal(size=(6, 5)), rng.normal(size=5)
  x_real, x_fake, eps = rng.normal(size=(4, 2, 3)), rng.normal(size=(4, 2, 3)), rng.uniform(size=4)

  def critic_np(x):  # [6] -> scalar, float64
    return float(np.tanh(x @ w) @ v)

  expected = []
  for i in range(4):
    x_hat = (eps[i] * x_real[i] + (1 - eps[i]) * x_fake[i]).reshape(-1)
    grad = np.array([(critic_np(x_hat + h) - critic_np(x_hat - h)) / 2e-6 for h in 1e-6 * np.eye(6)])
    expected.append((np.linalg.norm(grad) - 1.0) ** 2)
  critic = lambda x: jnp.tanh(x.reshape(x.shape[0], -1) @ jnp.asarray(w, jnp.float32)) @ jnp.asarray(v, jnp.float32)
  penalty = losses.gradient_penalty(critic, *(jnp.asarray(a, jnp.float32) for a in (x_real, x_fake, eps)))
  assert float(penalty) == pytest.approx(np.mean(expected), rel=1e-4)
  assert np.std(expected) > 0.05  # the examples' terms differ: a mix-up of examples would show
  # A 1-Lipschitz linear critic of slope exactly 1 has no penalty, and a gradient of zero a finite one.
  unit = lambda x: x.reshape(x.shape[0], -1) @ jnp.ones(6, jnp.float32) / jnp.sqrt(6.0)
  assert float(losses.gradient_penalty(unit, jnp.asarray(x_real), jnp.asarray(x_fake), jnp.asarray(eps))) < 1e-10
  flat = lambda x: jnp.zeros(x.shape[0])
  grads = jax.grad(lambda xr: losses.gradient_penalty(flat, xr, jnp.asarray(x_fake), jnp.asarray(eps)))(
      jnp.asarray(x_real))
  assert np.isfinite(np.asarray(grads)).all()


def test_infogan_information_loss_is_the_negative_log_likelihood_of_the_codes():
  """-E[log Q(c | x)] by hand: categorical cross-entropy plus 0.5 (c - mu)^2 per continuous code; a Q that
  names every categorical code with certainty reaches the bound log 10 on I(c; G(z, c))."""
  q = jnp.array([[2.0, 0.0, 0.0, 0.5, -0.5], [0.0, 1.0, 0.0, 0.0, 0.0]])  # 3 categories, 2 continuous means
  categories = jnp.array([0, 2])
  continuous = jnp.array([[1.0, -1.0], [0.2, 0.0]])
  loss, m = losses.infogan_information_loss(q, categories, continuous)
  ce = np.mean([np.log(np.exp(2.0) + 2) - 2.0, np.log(2 + np.e)])
  nll = np.mean([0.5 * (0.5 ** 2 + 0.5 ** 2), 0.5 * 0.2 ** 2])
  assert float(m["info_categorical"]) == pytest.approx(ce, rel=1e-6)
  assert float(m["info_continuous"]) == pytest.approx(nll, rel=1e-6)
  assert float(loss) == pytest.approx(ce + nll, rel=1e-6)
  assert float(m["info_bound"]) == pytest.approx(np.log(3) - ce, rel=1e-6)
  certain = jnp.concatenate([100.0 * jax.nn.one_hot(categories, 3), continuous], -1)
  loss, m = losses.infogan_information_loss(certain, categories, continuous)
  assert float(loss) == pytest.approx(0.0, abs=1e-6) and float(m["info_bound"]) == pytest.approx(np.log(3), rel=1e-6)
