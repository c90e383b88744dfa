"""Checkpoints of a TrainState with orbax's CheckpointManager.

Checkpoints live in `<workdir>/checkpoints/<step>/`. Orbax writes each one to a
temporary directory and renames it when complete, so an interrupted save never
replaces a good checkpoint. Typed PRNG keys are stored as their raw uint32 key
data and re-wrapped on restore.
"""

import os
from typing import Any, Optional

import jax
import orbax.checkpoint as ocp

from gan_jax.errors import CheckpointError


def _to_saveable(state: Any) -> Any:
  return state.replace(key=jax.random.key_data(state.key))


def _from_saved(saved: Any, template: Any) -> Any:
  return saved.replace(key=jax.random.wrap_key_data(saved.key, impl=jax.random.key_impl(template.key)))


class Checkpointer:
  """Saves a run's TrainStates (when its `gan_jax.train.Schedule` says), keeps the newest `max_to_keep`.

  In a multi-process run every process calls each method (orbax synchronizes
  them) and process 0 writes, unless `writer_only`: then only process 0 uses it.

  Args:
    workdir: the run's directory; checkpoints go to `<workdir>/checkpoints`.
    max_to_keep: number of newest checkpoints kept.
    writer_only: only process 0 saves and restores (e.g. a best-by-score checkpoint).
  """

  def __init__(self, workdir: str, max_to_keep: int = 3, writer_only: bool = False):
    self.directory = os.path.join(os.path.abspath(workdir), "checkpoints")
    active = {0} if writer_only and jax.process_count() > 1 else None
    if active:
      os.makedirs(self.directory, exist_ok=True)  # orbax's create=True needs every process
    self._manager = ocp.CheckpointManager(self.directory, options=ocp.CheckpointManagerOptions(
        max_to_keep=max_to_keep, create=not active,
        multiprocessing_options=ocp.options.MultiprocessingOptions(active_processes=active)))

  def latest_step(self) -> Optional[int]:
    """The newest complete checkpoint's step, or None."""
    return self._manager.latest_step()

  def save(self, step: int, state: Any) -> None:
    """Saves a single-copy TrainState (`parallel.DataParallel.get_state`) as step `step`, unless that
    step is saved already."""
    if step in self._manager.all_steps():
      return
    # Host copies: taken now, so the device buffers may be donated to the next step, and
    # orbax writes such replicated arrays from process 0 alone.
    host = jax.device_get(_to_saveable(state))
    self._manager.save(step, args=ocp.args.StandardSave(host), force=True)

  def restore(self, template: Any, step: Optional[int] = None) -> Any:
    """Restores the checkpoint of `step` (default: the newest) shaped like `template`.

    Args:
      template: a TrainState of the same model and config (e.g. a fresh one).
    Raises:
      CheckpointError: none exists, or it cannot be read (damaged, or from another config).
    """
    step = self.latest_step() if step is None else step
    if step is None:
      raise CheckpointError(f"no checkpoint in {self.directory}; train first")
    saveable = _to_saveable(template)
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, saveable)
    try:
      saved = self._manager.restore(step, args=ocp.args.StandardRestore(abstract))
    except Exception as e:  # orbax raises many types for a damaged or foreign checkpoint
      reason = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
      raise CheckpointError(
          f"checkpoint {os.path.join(self.directory, str(step))} cannot be restored ({reason})") from e
    return _from_saved(saved, template)

  def restore_newest(self, template: Any) -> tuple[Any, list[tuple[int, str]]]:
    """Restores the newest checkpoint that can be restored, falling back past damaged ones.

    The damaged checkpoints newer than the one restored are moved, whole, to
    `<workdir>/damaged_checkpoints/<step>` (kept for inspection, out of the run's way);
    nothing is moved or deleted when no checkpoint can be restored.

    Args:
      template: a TrainState of the same model and config (e.g. a fresh one).
    Returns:
      (state, [(step, reason)] of the damaged checkpoints moved aside, newest first).
    Raises:
      CheckpointError: there is no checkpoint, or none can be restored.
    """
    steps = sorted(self._manager.all_steps(), reverse=True)
    if not steps:
      raise CheckpointError(f"no checkpoint in {self.directory}; train first")
    damaged = []
    for step in steps:
      try:
        state = self.restore(template, step)
      except CheckpointError as e:
        damaged.append((step, str(e)))
        continue
      if jax.process_index() == 0:
        for bad, _ in damaged:
          self._set_aside(bad)
      if damaged:
        self._manager.reload()
      return state, damaged
    raise CheckpointError(f"no checkpoint in {self.directory} can be restored (the newest: {damaged[0][1]}); "
                          f"move that directory aside to start afresh, or use a new --workdir")

  def _set_aside(self, step: int) -> None:
    aside = os.path.join(os.path.dirname(self.directory), "damaged_checkpoints")
    os.makedirs(aside, exist_ok=True)
    target = os.path.join(aside, str(step))
    suffix = 1
    while os.path.exists(target):  # an earlier fall-back set aside a checkpoint of this step too
      target, suffix = os.path.join(aside, f"{step}.{suffix}"), suffix + 1
    os.replace(os.path.join(self.directory, str(step)), target)

  def wait(self) -> None:
    """Blocks until asynchronous saves have finished."""
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.close()
