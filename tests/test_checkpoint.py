"""gan_jax.checkpoint: a TrainState survives a save and a restore exactly, typed key included; a kill -9
anywhere in a save leaves a good checkpoint to resume from."""

import os
import signal

import chex
import jax
import jax.numpy as jnp
import optax
import pytest

from gan_jax import checkpoint as ckpt
from gan_jax import experiment
from gan_jax.errors import CheckpointError
from gan_jax.models import build_discriminator, build_generator
from gan_jax.train import create_train_state
from tests.conftest import DATA_DIR
from tests.helpers import gan_state, run_module, tiny_dcgan_config


def _state(seed: int, width: int = 3):
  k1, k2 = jax.random.split(jax.random.key(seed))
  params = {"generator": {"w": jax.random.normal(k1, (width, 2))}, "discriminator": {"b": jax.random.normal(k2, (2,))}}
  batch_stats = {"generator": {"mean": jnp.arange(2.0)}, "discriminator": {}}
  optimizers = {"discriminator": (optax.adam(1e-3), ("discriminator",)), "generator": (optax.sgd(0.1, 0.9), ("generator",))}
  state = create_train_state(params, batch_stats, optimizers, jax.random.key(seed + 10))
  grads = jax.tree.map(jnp.ones_like, params)
  opt_state = {name: tx.update({g: grads[g] for g in groups}, state.opt_state[name], {g: params[g] for g in groups})[1]
               for name, (tx, groups) in optimizers.items()}  # non-trivial optimizer states
  return state.replace(step=jnp.int32(7), opt_state=opt_state)


def test_round_trip_restores_every_leaf_bitwise_and_keeps_the_newest(tmp_path):
  checkpointer = ckpt.Checkpointer(str(tmp_path), max_to_keep=2)
  saved = {step: _state(step) for step in (1, 2, 3)}
  for step, state in saved.items():
    checkpointer.save(step, state)
  checkpointer.save(3, _state(99))  # a step already saved is not overwritten
  checkpointer.wait()
  assert checkpointer.latest_step() == 3 and sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["2", "3"]
  restored = checkpointer.restore(_state(0))
  chex.assert_trees_all_equal(jax.random.key_data(restored.key), jax.random.key_data(saved[3].key))
  assert jax.random.key_impl(restored.key) == jax.random.key_impl(saved[3].key)
  chex.assert_trees_all_equal(restored.replace(key=None), saved[3].replace(key=None))
  chex.assert_trees_all_equal(checkpointer.restore(_state(0), step=2).replace(key=None), saved[2].replace(key=None))
  checkpointer.close()


def test_restore_refuses_a_missing_or_foreign_checkpoint(tmp_path):
  checkpointer = ckpt.Checkpointer(str(tmp_path))
  with pytest.raises(CheckpointError, match="no checkpoint"):
    checkpointer.restore(_state(0))
  checkpointer.save(1, _state(1))
  checkpointer.wait()
  with pytest.raises(CheckpointError, match="cannot be restored"):
    checkpointer.restore(_state(0, width=5))  # another model's shapes
  checkpointer.close()


@pytest.mark.slow
@pytest.mark.parametrize("point,newest_good", [("writing", 1), ("before_rename", 1), ("after_rename", 2),
                                               ("while_deleting", 2)])
def test_kill_9_during_a_save_keeps_a_good_checkpoint_and_the_rerun_resumes(tmp_path, point, newest_good):
  """A run that keeps one checkpoint is killed at `point` of its second save (tests/kill_during_save.py):
  the first checkpoint survives until the second is complete, and a rerun restores the newest good one."""
  workdir = tmp_path / "run"
  killed = run_module("tests.kill_during_save", point, str(workdir), DATA_DIR)
  assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
  config = tiny_dcgan_config(max_steps=3, checkpoint_every_steps=1, keep_checkpoints=1, eval_every_epochs=0)
  template = gan_state(config, build_generator(config), build_discriminator(config))
  state, damaged = ckpt.Checkpointer(str(workdir)).restore_newest(template)
  assert (int(state.step), damaged) == (newest_good, [])  # what a rerun restores (experiment.run)
  if point == "while_deleting":  # the rerun goes past the half-deleted first checkpoint and removes it
    result = experiment.train(config, str(workdir))
    assert result["steps"] == 3 and os.listdir(workdir / "checkpoints") == ["3"]
