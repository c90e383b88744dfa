"""gan_jax.checkpoint: a TrainState survives a save and a restore exactly, typed key included."""

import chex
import jax
import jax.numpy as jnp
import optax
import pytest

from gan_jax import checkpoint as ckpt
from gan_jax.errors import CheckpointError
from gan_jax.train import create_train_state


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
