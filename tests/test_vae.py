"""VAE: losses on known values, the full-covariance posterior, reparameterization, and a real run."""

import json

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import configs, experiment, losses
from gan_jax.models.vae import VAEDecoder, VAEEncoder
from gan_jax.train import MetricsLog
from tests.conftest import DATA_DIR


def test_encoder_decoder_shapes():
  x = jax.random.uniform(jax.random.key(0), (3, 28, 28, 1))
  for posterior, n_out in (("diagonal", 2), ("full", 3)):
    encoder = VAEEncoder(latent_dim=4, posterior=posterior)
    out = encoder.apply(encoder.init(jax.random.key(1), x), x)
    assert len(out) == n_out
    chex.assert_shape(out[:2], (3, 4))
    if posterior == "full":
      chex.assert_shape(out[2], (3, 4, 4))
  decoder = VAEDecoder()
  z = jnp.zeros((3, 4))
  chex.assert_shape(decoder.apply(decoder.init(jax.random.key(2), z), z), (3, 28, 28, 1))


class KLTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_kl_of_the_prior_is_zero(self):
    zeros = jnp.zeros((5, 3))
    chex.assert_trees_all_close(self.variant(losses.gaussian_kl)(zeros, zeros), jnp.zeros(5))
    chex.assert_trees_all_close(self.variant(losses.full_covariance_kl)(zeros, zeros, jnp.zeros((5, 3, 3))),
                                jnp.zeros(5), atol=1e-6)

  @chex.variants(with_jit=True, without_jit=True)
  def test_diagonal_kl_closed_form(self):
    # 1-D: KL(N(m, s^2) || N(0, 1)) = (s^2 + m^2 - 1) / 2 - log s.
    m, s = 1.5, 0.4
    expected = (s ** 2 + m ** 2 - 1) / 2 - np.log(s)
    kl = self.variant(losses.gaussian_kl)(jnp.array([[m]]), jnp.array([[2 * np.log(s)]]))
    chex.assert_trees_all_close(kl, jnp.array([expected]), rtol=1e-5)


def test_full_covariance_reduces_to_diagonal_without_off_diagonal_part():
  key = jax.random.key(0)
  mean, logvar = jax.random.normal(key, (2, 4, 3))
  upper = jnp.triu(jax.random.normal(jax.random.key(1), (4, 3, 3)))  # masked out: only the strict lower part counts
  z_diag, eps_diag = losses.reparameterize(jax.random.key(2), mean, logvar)
  z_full, eps_full = losses.reparameterize(jax.random.key(2), mean, logvar, upper)
  chex.assert_trees_all_close(z_full, z_diag, atol=1e-6)
  chex.assert_trees_all_close(losses.gaussian_log_q(eps_full, logvar), losses.gaussian_log_q(eps_diag, logvar))
  chex.assert_trees_all_close(losses.full_covariance_kl(mean, logvar, upper), losses.gaussian_kl(mean, logvar),
                              rtol=1e-5)
  # log q at z equals the density of N(mean, diag(exp(logvar))) evaluated directly.
  direct = jax.scipy.stats.norm.logpdf(z_diag, mean, jnp.exp(0.5 * logvar)).sum(axis=1)
  chex.assert_trees_all_close(losses.gaussian_log_q(eps_diag, logvar), direct, rtol=1e-5)


def test_full_covariance_log_q_and_monte_carlo_kl():
  mean = jnp.array([[0.5, -1.0]])
  logvar = jnp.log(jnp.array([[0.5, 2.0]]))
  l_prime = jnp.array([[[0.0, 0.0], [0.8, 0.0]]])
  factor = losses.full_covariance_factor(logvar, l_prime)[0]
  cov = factor @ factor.T
  keys = jax.random.split(jax.random.key(0), 200_000)
  z, eps = losses.reparameterize(keys, jnp.repeat(mean, len(keys), 0), jnp.repeat(logvar, len(keys), 0),
                                 jnp.repeat(l_prime, len(keys), 0))
  direct = jax.scipy.stats.multivariate_normal.logpdf(z[:5], mean[0], cov)
  chex.assert_trees_all_close(losses.gaussian_log_q(eps[:5], jnp.repeat(logvar, 5, 0)), direct, rtol=1e-4)
  np.testing.assert_allclose(np.cov(np.asarray(z).T), cov, atol=0.02)
  mc_kl = jnp.mean(losses.gaussian_log_q(eps, jnp.repeat(logvar, len(keys), 0)) - losses.standard_normal_log_p(z))
  np.testing.assert_allclose(mc_kl, losses.full_covariance_kl(mean, logvar, l_prime)[0], atol=0.01)


def test_gradients_flow_through_the_reparameterization():
  def sample_mean(params):
    z, _ = losses.reparameterize(jax.random.key(0), params["mean"], params["logvar"], params["l_prime"])
    return jnp.sum(z ** 2)
  params = {"mean": jnp.ones((2, 3)), "logvar": jnp.zeros((2, 3)), "l_prime": jnp.ones((2, 3, 3))}
  grads = jax.grad(sample_mean)(params)
  assert float(jnp.min(jnp.abs(grads["mean"]))) > 0
  assert float(jnp.min(jnp.abs(grads["logvar"]))) > 0
  strict_lower = grads["l_prime"][:, [1, 2, 2], [0, 0, 1]]
  assert float(jnp.min(jnp.abs(strict_lower))) > 0
  chex.assert_trees_all_close(jnp.triu(grads["l_prime"]), jnp.zeros((2, 3, 3)))  # masked entries get none


@pytest.mark.slow
def test_vae_trains_on_real_mnist(tmp_path):
  config = configs.vae()
  config.update(dict(data_dir=DATA_DIR, batch_size=64, max_steps=60, log_every_steps=10, show_progress=False,
                     encoder_features=(64, 32), decoder_features=(32, 64)))
  for posterior in ("diagonal", "full"):
    config.posterior = posterior
    workdir = tmp_path / posterior
    experiment.train(config, str(workdir))
    records = MetricsLog(str(workdir / "metrics.jsonl")).read()
    train = [r for r in records if "elbo" in r]
    test = [r for r in records if "test_loss" in r]
    assert train[-1]["loss"] < train[0]["loss"]  # 60 steps lower the negative ELBO
    assert len(test) == 1
    np.testing.assert_allclose(test[0]["test_loss"], test[0]["test_recon_loss"] + test[0]["test_kl"], rtol=1e-6)
    assert 100 < test[0]["test_loss"] < 550 and test[0]["test_kl"] > 0
    for name in ("samples_epoch_001.png", "curves.png", "reconstructions.png", "latent_manifold.png",
                 "latent_scatter.png", "config.json"):
      assert (workdir / name).exists(), name
    assert json.loads((workdir / "config.json").read_text())["posterior"] == posterior
