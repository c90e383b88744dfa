"""gan_jax.gan: latent interpolation, the G update that reuses the fake batch, and the Wasserstein GANs."""

import json

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import checkpoint as ckpt
from gan_jax import experiment, gan
from gan_jax import runs
from gan_jax.errors import ConfigError
from gan_jax.train import MetricsLog
from gan_jax.models import build_discriminator, build_generator
from tests.helpers import gan_state, tiny_dcgan_config


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


@pytest.mark.slow
def test_wgan_clipped_critic_trains_on_real_mnist_and_its_weights_stay_in_bounds(tmp_path):
  """A WGAN run (clipped critic, MLP): the critic's estimate of W1 is logged, and its weights stay
  in [-c, c] (up to one float32 rounding) after updates large enough to leave it."""
  config = tiny_dcgan_config(max_steps=3, loss="wasserstein", eval_every_epochs=0, arch="mlp",
                             critic_regularizer="clip", optimizer="rmsprop", learning_rate=0.05,
                             generator_features=(32, 32), discriminator_features=(32, 16))
  experiment.train(config, str(tmp_path))
  records = MetricsLog(str(tmp_path / "metrics.jsonl")).read()
  assert [r["step"] for r in records] == [1, 2, 3]
  for r in records:
    assert r["w1_estimate"] == pytest.approx(r["d_real"] - r["d_fake"], abs=1e-5)
    assert "gradient_penalty" not in r
  template = gan_state(config, build_generator(config), build_discriminator(config))
  critic = ckpt.Checkpointer(str(tmp_path)).restore(template).params["discriminator"]
  bound = max(float(jnp.max(jnp.abs(w))) for w in jax.tree.leaves(critic))
  assert config.clip_value * 0.99 <= bound <= config.clip_value * (1 + 1e-6)  # at the bound: clipping acted


@pytest.mark.slow
def test_wgan_gp_with_spectral_norm_and_instance_noise_trains_and_resumes_bitwise(tmp_path):
  """A class-conditional WGAN-GP (CGAN) with a spectrally normalized critic and annealed instance noise
  on real MNIST: 4 steps in one sitting equal 2 + 2 resumed (the power-iteration vectors are
  checkpointed, the noise follows the step, the labels the data order), bitwise; the metrics of each
  cure are logged; samples of the run are drawn for the classes asked for."""
  config = lambda steps: tiny_dcgan_config(
      max_steps=steps, loss="wasserstein", critic_regularizer="gradient_penalty", d_dropout=0.0, k_d_steps=2,
      spectral_norm=True, instance_noise=0.3, instance_noise_steps=3, eval_every_epochs=0, conditioning="cgan")
  experiment.train(config(4), str(tmp_path / "once"))
  experiment.train(config(2), str(tmp_path / "twice"))
  experiment.train(config(4), str(tmp_path / "twice"))
  template = gan_state(config(4), build_generator(config(4)), build_discriminator(config(4)))
  once, twice = (jax.device_get(ckpt.Checkpointer(str(tmp_path / name)).restore(template)) for name in ("once", "twice"))
  assert int(once.step) == int(twice.step) == 4
  chex.assert_trees_all_equal((once.params, once.batch_stats, once.opt_state),
                              (twice.params, twice.batch_stats, twice.opt_state))
  vectors = once.batch_stats[gan.SPECTRAL_NORM_GROUP]
  assert sorted(vectors) == ["discriminator/conv_0/kernel", "discriminator/conv_1/kernel",
                             "discriminator/logit/kernel", "label_plane/kernel"]
  name = "discriminator/conv_1/kernel"
  assert not jnp.allclose(vectors[name], template.batch_stats[gan.SPECTRAL_NORM_GROUP][name])
  records = MetricsLog(str(tmp_path / "once" / "metrics.jsonl")).read()
  assert [r["instance_noise_std"] for r in records] == pytest.approx([0.3, 0.2, 0.1, 0.0])  # std at steps 0..3
  for r in records:
    assert r["w1_estimate"] == pytest.approx(r["d_real"] - r["d_fake"], abs=1e-5)
    assert r["gradient_penalty"] >= 0 and r["d_sigma_max"] > 0
  run = runs.load_run(str(tmp_path / "once"))
  np.testing.assert_array_equal(runs.sample_labels(run, 30, [4, 1]), [4, 1] * 15)
  images = runs.generate_samples(run, 30, classes=[4, 1])
  assert images.shape == (30, 28, 28) and not np.array_equal(images[0], runs.generate_samples(run, 1, classes=[1])[0])


def test_instance_noise_std_schedule_and_statistics():
  steps = jnp.array([0, 5, 10, 20])
  assert [float(gan.instance_noise_std(s, 0.4, 10)) for s in steps] == pytest.approx([0.4, 0.2, 0.0, 0.0])
  assert float(gan.instance_noise_std(steps[-1], 0.4, 0)) == pytest.approx(0.4)  # never annealed
  x = jnp.full((512, 28, 28, 1), 0.5)
  noisy = gan.add_instance_noise(x, jnp.float32(0.3), jax.random.key(0), gan.parallel.SINGLE_DEVICE)
  assert float(jnp.mean(noisy - x)) == pytest.approx(0.0, abs=3e-3)
  assert float(jnp.std(noisy - x)) == pytest.approx(0.3, rel=1e-2)
  assert not jnp.allclose(noisy[0], noisy[1])  # each example its own noise


def test_infogan_trains_on_real_mnist_resumes_bitwise_and_scores_its_q_head(tmp_path):
  """An InfoGAN on real MNIST: 4 steps in one sitting equal 2 + 2 resumed, bitwise; the information
  terms are logged; its end-of-run figures and Q's matched test accuracy (at least chance, 0.1, by
  the matching) are written; its samples' categorical codes are drawn balanced, and are not classes.
  Its batches carry no labels (gan_run's make_batch), so training at all shows it does not read them."""
  config = lambda steps, **o: tiny_dcgan_config(max_steps=steps, conditioning="infogan", eval_every_epochs=0, **o)
  experiment.train(config(4, figures=True), str(tmp_path / "once"))
  experiment.train(config(2), str(tmp_path / "twice"))
  experiment.train(config(4), str(tmp_path / "twice"))
  template = gan_state(config(4), build_generator(config(4)), build_discriminator(config(4)))
  once, twice = (jax.device_get(ckpt.Checkpointer(str(tmp_path / name)).restore(template)) for name in ("once", "twice"))
  assert int(once.step) == int(twice.step) == 4
  chex.assert_trees_all_equal((once.params, once.opt_state), (twice.params, twice.opt_state))
  assert "q" in once.params["discriminator"]
  records = MetricsLog(str(tmp_path / "once" / "metrics.jsonl")).read()
  for r in records:
    assert r["info_bound"] == pytest.approx(np.log(10) - r["info_categorical"], abs=1e-5)
    assert r["info_continuous"] >= 0 and 0 <= r["q_accuracy"] <= 1
  result = json.loads((tmp_path / "once" / "infogan.json").read_text())
  assert result["step"] == 4 and 0.1 <= result["q_test_accuracy"] <= 1
  assert (tmp_path / "once" / "infogan_code_1.png").exists() and (tmp_path / "once" / "infogan_code_2.png").exists()
  run = runs.load_run(str(tmp_path / "once"))
  assert not runs.class_conditional(run)
  np.testing.assert_array_equal(runs.sample_labels(run, 20), np.arange(20) % 10)


def test_bigan_trains_on_real_mnist_resumes_bitwise_and_its_discriminator_sees_z(tmp_path):
  """A BiGAN on real MNIST: 4 steps in one sitting equal 2 + 2 resumed, bitwise, encoder included; the
  encoder is trained (its parameters move) with G's optimizer; D(x, z) depends on z; E's loss is logged;
  the reconstructions figure is written; losses E cannot take are refused."""
  config = lambda steps, **o: tiny_dcgan_config(max_steps=steps, bigan=True, eval_every_epochs=0, **o)
  experiment.train(config(4, figures=True), str(tmp_path / "once"))
  experiment.train(config(2), str(tmp_path / "twice"))
  experiment.train(config(4), str(tmp_path / "twice"))
  generator, discriminator = build_generator(config(4)), build_discriminator(config(4))
  template = gan_state(config(4), generator, discriminator)
  once, twice = (jax.device_get(ckpt.Checkpointer(str(tmp_path / name)).restore(template)) for name in ("once", "twice"))
  assert int(once.step) == int(twice.step) == 4
  chex.assert_trees_all_equal((once.params, once.opt_state), (twice.params, twice.opt_state))
  moved = jax.tree.map(lambda a, b: float(np.max(np.abs(a - b))), once.params["encoder"], template.params["encoder"])
  assert min(jax.tree.leaves(moved)) > 0
  x = jnp.zeros((3, 28, 28, 1))
  z = jax.random.normal(jax.random.key(0), (3, config(4).latent_dim))
  d = lambda z: discriminator.apply({"params": once.params["discriminator"]}, x, z=z, train=False)
  assert float(jnp.max(jnp.abs(d(z) - d(-z)))) > 1e-4
  assert all(r["e_loss"] > 0 for r in MetricsLog(str(tmp_path / "once" / "metrics.jsonl")).read() if "e_loss" in r)
  assert (tmp_path / "once" / "bigan_reconstructions.png").exists()
  with pytest.raises(ConfigError, match="--bigan needs"):
    gan.phases_for(config(4, loss="least_squares"), generator, discriminator)
  with pytest.raises(ConfigError, match="--bigan takes no --conditioning"):
    build_generator(config(4, conditioning="cgan"))


def test_acgan_resumes_bitwise_on_real_mnist(tmp_path):
  """An AC-GAN (its auxiliary classifier head and the class terms of both players) on real MNIST: 4 steps
  in one sitting equal 2 + 2 resumed, bitwise; its D's class accuracy on real images is logged."""
  config = lambda steps: tiny_dcgan_config(max_steps=steps, conditioning="acgan", eval_every_epochs=0)
  experiment.train(config(4), str(tmp_path / "once"))
  experiment.train(config(2), str(tmp_path / "twice"))
  experiment.train(config(4), str(tmp_path / "twice"))
  template = gan_state(config(4), build_generator(config(4)), build_discriminator(config(4)))
  once, twice = (jax.device_get(ckpt.Checkpointer(str(tmp_path / name)).restore(template)) for name in ("once", "twice"))
  assert int(once.step) == int(twice.step) == 4 and "classes" in once.params["discriminator"]
  chex.assert_trees_all_equal((once.params, once.opt_state), (twice.params, twice.opt_state))
  records = MetricsLog(str(tmp_path / "once" / "metrics.jsonl")).read()
  assert all(0 <= r["d_class_accuracy"] <= 1 and r["d_class_loss"] > 0 for r in records if "d_loss" in r)
