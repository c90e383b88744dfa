"""The training run: same seed -> bitwise the same params; resume is exact (real MNIST, tiny DCGAN)."""

import json

import chex
import jax
import numpy as np
import pytest

from gan_jax import checkpoint as ckpt
from gan_jax import experiment, gan
from gan_jax.errors import ConfigError
from gan_jax.models import build_discriminator, build_generator
from gan_jax.train import MetricsLog
from tests.helpers import gan_optimizers, gan_state, read_tensorboard, tiny_dcgan_config


def _final_params(workdir, config):
  template = gan_state(config, build_generator(config), build_discriminator(config))
  state = ckpt.Checkpointer(workdir).restore(template)
  return jax.device_get((state.params, state.batch_stats, state.opt_state, int(state.step)))


@pytest.fixture(scope="module")
def four_steps(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("uninterrupted"))
  config = tiny_dcgan_config(max_steps=4)
  experiment.train(config, workdir)
  return workdir, config


@pytest.mark.slow
def test_resumed_run_equals_uninterrupted_run(four_steps, tmp_path):
  workdir, config = four_steps
  experiment.train(tiny_dcgan_config(max_steps=2), str(tmp_path))
  assert ckpt.Checkpointer(str(tmp_path)).latest_step() == 2
  experiment.train(tiny_dcgan_config(max_steps=4), str(tmp_path))  # resumes from step 2
  resumed, uninterrupted = _final_params(str(tmp_path), config), _final_params(workdir, config)
  assert resumed[-1] == uninterrupted[-1] == 4
  chex.assert_trees_all_equal(resumed, uninterrupted)  # bitwise
  logged = [r["step"] for r in MetricsLog(str(tmp_path / "metrics.jsonl")).read()]
  assert logged == [1, 2, 3, 4]
  timing = ("images_per_sec", "time", "train_seconds")
  strip = lambda records: [{k: v for k, v in r.items() if k not in timing} for r in records]
  assert strip(MetricsLog(str(tmp_path / "metrics.jsonl")).read()) == strip(
      MetricsLog(f"{workdir}/metrics.jsonl").read())
  # The training clock carries on from the first sitting's last record.
  seconds = [r["train_seconds"] for r in MetricsLog(str(tmp_path / "metrics.jsonl")).read()]
  assert seconds == sorted(seconds) and seconds[2] > seconds[1] > 0


@pytest.mark.slow
def test_runs_write_tensorboard_events_with_the_logged_scalars_and_sample_grids(tmp_path):
  """Every logged metric reaches TensorBoard at its step; the epoch grids arrive as images; a resumed
  run purges the steps it redoes, so no step appears twice."""
  config = tiny_dcgan_config(max_steps=4, eval_every_epochs=0)
  experiment.train(tiny_dcgan_config(max_steps=2), str(tmp_path))
  experiment.train(config, str(tmp_path))  # resumes from step 2
  scalars, images = read_tensorboard(tmp_path / "tensorboard")
  logged = MetricsLog(str(tmp_path / "metrics.jsonl")).read()
  for name in ("d_loss", "g_loss", "d_real", "d_fake", "images_per_sec"):
    assert [step for step, _ in scalars[name]] == [1, 2, 3, 4], name
    np.testing.assert_allclose([v for _, v in scalars[name]], [r[name] for r in logged], rtol=1e-6)
  assert images == {"samples_fixed_z": [2, 4]}  # each sitting's last (partial) epoch grid


@pytest.mark.slow
def test_same_seed_same_params_other_seed_different(four_steps, tmp_path):
  workdir, config = four_steps
  experiment.train(tiny_dcgan_config(max_steps=4), str(tmp_path / "same"))
  chex.assert_trees_all_equal(_final_params(str(tmp_path / "same"), config), _final_params(workdir, config))
  experiment.train(tiny_dcgan_config(max_steps=4, seed=1), str(tmp_path / "other"))
  other = _final_params(str(tmp_path / "other"), tiny_dcgan_config(seed=1))
  diffs = jax.tree.map(lambda a, b: float(np.max(np.abs(a - b))), other[0], _final_params(workdir, config)[0])
  assert min(jax.tree.leaves(diffs)) > 0  # every parameter array differs


@pytest.mark.slow
def test_metrics_are_finite_and_in_range(four_steps):
  workdir, _ = four_steps
  records = MetricsLog(f"{workdir}/metrics.jsonl").read()
  for r in records:
    assert set(r) >= {"step", "epoch", "d_loss", "g_loss", "d_real", "d_fake", "images_per_sec"}
    assert 0 < r["d_real"] < 1 and 0 < r["d_fake"] < 1
    assert np.isfinite([r["d_loss"], r["g_loss"]]).all()
  with open(f"{workdir}/config.json") as f:
    assert json.load(f)["max_steps"] == 4


@pytest.mark.slow
def test_resume_with_another_model_config_is_refused(four_steps, tmp_path):
  workdir, _ = four_steps
  with pytest.raises(ConfigError, match="holds a run with latent_dim=100"):
    experiment.train(tiny_dcgan_config(max_steps=6, latent_dim=64), workdir)


@pytest.mark.slow
@pytest.mark.parametrize("overrides", [
    dict(arch="mlp", loss="minimax", d_dropout=0.0, optimizer="sgd_momentum", learning_rate=0.01, k_d_steps=2),
    dict(arch="mlp", loss="least_squares", ls_coding="pearson"),
])
def test_mlp_gan_variants_train_on_real_mnist(tmp_path, overrides):
  config = tiny_dcgan_config(max_steps=3, generator_features=(32, 32), discriminator_features=(32, 16), **overrides)
  experiment.train(config, str(tmp_path))
  records = MetricsLog(str(tmp_path / "metrics.jsonl")).read()
  assert [r["step"] for r in records] == [1, 2, 3]
  if config.loss == "least_squares":  # D's raw scores, pulled towards b = 1 on real data and a = -1 on fakes
    assert all(np.isfinite([r["d_real"], r["d_fake"]]).all() for r in records)
  for name in ("samples_epoch_001.png", "samples_progress.png", "d_histogram.png", "interpolation.png",
               "nearest_neighbors.png", "curves.png"):
    assert (tmp_path / name).exists(), name


def test_train_clock_does_not_count_paused_time():
  import time
  from gan_jax.train import TrainClock
  clock = TrainClock(seconds=10.0)
  clock.start()
  with clock.paused():
    time.sleep(0.3)
  time.sleep(0.05)
  clock.stop()
  assert 10.04 < clock.seconds < 10.25
  frozen = clock.seconds
  time.sleep(0.05)
  assert clock.seconds == frozen  # stopped


@pytest.mark.slow
def test_generator_moving_average_follows_the_generator():
  import jax.numpy as jnp
  from gan_jax.train import make_train_step
  config = tiny_dcgan_config(g_ema_decay=0.75)
  generator, discriminator = build_generator(config), build_discriminator(config)
  state = gan_state(config, generator, discriminator)
  chex.assert_trees_all_equal(state.params["generator_ema"], state.params["generator"])
  step = jax.jit(make_train_step(gan.gan_phases(generator, discriminator, latent_dim=config.latent_dim),
                                 gan_optimizers(config), averages=gan.averages_for(config)))
  x = {"x": jax.random.uniform(jax.random.key(0), (16, 1, 28, 28, 1), minval=-1, maxval=1)}
  one, _ = step(state, x)
  two, _ = step(one, x)
  # ema_2 = 0.75 ema_1 + 0.25 g_2, ema_1 = 0.75 g_0 + 0.25 g_1.
  expected = jax.tree.map(lambda g0, g1, g2: 0.75 * (0.75 * g0 + 0.25 * g1) + 0.25 * g2,
                          state.params["generator"], one.params["generator"], two.params["generator"])
  chex.assert_trees_all_close(two.params["generator_ema"], expected, atol=1e-6)
  assert not jnp.allclose(two.params["generator_ema"]["project"]["kernel"], two.params["generator"]["project"]["kernel"])
  # Samples come from the average; the optimizers never see it.
  assert gan.sampling_variables(two)[0] is two.params["generator_ema"]
  # With BatchNorm running averages of its own, updated from the G phase's z.
  assert gan.sampling_variables(two)[1] is two.batch_stats["generator_ema"]
  moved = jax.tree.map(lambda a, b: float(jnp.max(jnp.abs(a - b))), two.batch_stats["generator_ema"],
                       state.batch_stats["generator_ema"])
  assert min(jax.tree.leaves(moved)) > 0
  assert not jnp.allclose(two.batch_stats["generator_ema"]["bn_project"]["mean"],
                          two.batch_stats["generator"]["bn_project"]["mean"])
  assert "generator_ema" not in str(jax.tree_util.tree_structure(two.opt_state))
  with pytest.raises(ConfigError, match="g_ema_decay"):
    gan.averages_for(tiny_dcgan_config(g_ema_decay=1.0))


def test_learning_rate_decays_by_cosine_to_its_floor():
  import jax.numpy as jnp
  import ml_collections
  from gan_jax.train import LR_DECAY_FLOOR, make_optimizer
  config = ml_collections.ConfigDict(dict(optimizer="sgd_momentum", learning_rate=0.5, momentum=0.0,
                                          lr_decay_epochs=2))
  tx = make_optimizer(config, updates_per_epoch=2)  # decays over 4 updates
  params = {"w": jnp.zeros(())}
  state = tx.init(params)
  steps = []
  for _ in range(6):
    updates, state = tx.update({"w": jnp.ones(())}, state, params)
    steps.append(-float(updates["w"]))
  np.testing.assert_allclose(steps[0], 0.5, rtol=1e-6)
  np.testing.assert_allclose(steps[2], 0.5 * (LR_DECAY_FLOOR + (1 - LR_DECAY_FLOOR) * 0.5), rtol=1e-5)  # half way
  np.testing.assert_allclose(steps[4:], [0.5 * LR_DECAY_FLOOR] * 2, rtol=1e-5)
  with pytest.raises(ConfigError, match="lr_decay_epochs"):
    make_optimizer(ml_collections.ConfigDict(dict(optimizer="tutorial", lr_decay_epochs=1)), 10)
