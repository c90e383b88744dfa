"""gan_jax.train: the schedule of a run, the train step's moving averages, the optimizers, the clock."""

import time

import chex
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from gan_jax import gan
from gan_jax.errors import ConfigError, DataError
from gan_jax.models import build_discriminator, build_generator
from gan_jax.train import LR_DECAY_FLOOR, Schedule, TrainClock, examples_per_step, make_optimizer, make_train_step
from tests.helpers import gan_optimizers, gan_state, tiny_dcgan_config


def test_schedule_counts_steps_and_decides_every_cadence():
  config = tiny_dcgan_config(num_epochs=3, max_steps=0, batch_size=10, k_d_steps=2, log_every_steps=4,
                             sample_every_epochs=2, eval_every_epochs=0, eval_every_steps=5,
                             checkpoint_every_steps=7)
  schedule = Schedule.from_config(config, num_train_examples=100)  # 5 steps of 20 images per epoch
  assert examples_per_step(config) == schedule.examples_per_step == 20
  assert (schedule.steps_per_epoch, schedule.num_steps) == (5, 15)
  steps = range(1, 16)
  assert [s for s in steps if schedule.log_due(s)] == [4, 8, 12, 15]
  assert [s for s in steps if schedule.figures_due(s)] == [10]
  assert [s for s in steps if schedule.evaluation_due(s)] == [5, 10, 15]
  assert [s for s in steps if schedule.checkpoint_due(s)] == [7, 14, 15]
  assert schedule.epoch(10) == 2 and schedule.epoch(7) == 1.4
  config.update(dict(max_steps=6, eval_every_steps=0, eval_every_epochs=1))
  capped = Schedule.from_config(config, num_train_examples=100)
  assert capped.num_steps == 6 and [s for s in range(1, 7) if capped.evaluation_due(s)] == [5]


@pytest.mark.parametrize("field,value,match", [
    ("num_epochs", 0, "--num_epochs must be >= 1, got 0"),
    ("num_epochs", -2, "--num_epochs must be >= 1, got -2"),
    ("max_steps", -1, "max_steps must be >= 0"),
    ("log_every_steps", 0, "log_every_steps must be >= 1"),
    ("sample_every_epochs", 0, "sample_every_epochs must be >= 1"),
])
def test_schedule_refuses_counts_that_cannot_train(field, value, match):
  with pytest.raises(ConfigError, match=match):
    Schedule.from_config(tiny_dcgan_config(**{field: value}), num_train_examples=60000)


def test_schedule_refuses_a_step_larger_than_the_training_set():
  with pytest.raises(DataError, match="lower --batch_size"):
    Schedule.from_config(tiny_dcgan_config(batch_size=64, k_d_steps=2), num_train_examples=100)


def test_train_clock_does_not_count_paused_time():
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
