"""One training run of any model: devices, data, resume, the loop, checkpoints and logs.

A model plugs in as a `Model`: its fresh state, its phases and optimizers, how
a batch is made from uint8 images, and the figures it draws. `run` does the
rest the same way for every model, so the GAN, the autoencoders and the VAE
share resumption, reproducibility and data parallelism.
"""

import functools
import json
import math
import os
import time
from typing import Any, Callable, NamedTuple, Optional, Sequence

import jax
import ml_collections
import numpy as np

from gan_jax import checkpoint as ckpt
from gan_jax import data, files, parallel
from gan_jax.errors import ConfigError
from gan_jax.train import MetricsLog, ParamAverage, Phase, TrainClock, TrainState, make_train_step, train_loop

# Fields that may change between a run and its resumption.
RESUMABLE_FIELDS = ("num_epochs", "max_steps", "accelerator", "parallelism", "sample_every_epochs",
                    "checkpoint_every_steps", "keep_checkpoints", "log_every_steps", "data_dir", "show_progress",
                    "eval_every_epochs", "eval_every_steps", "eval_samples", "recipe", "conv_gradients")
# Fields added after runs were made, with the value those runs had: a saved config without
# the field is compared as if it held this value.
LEGACY_VALUES = {"conv_gradients": "autodiff", "data_source": "idx", "precision": "float32"}
# Fields added after runs were made whose absence means "not recorded": such a run resumes
# with whatever the config says (and its config.json then records it).
UNRECORDED_FIELDS = ("model_kind",)


class Model(NamedTuple):
  """What `run` needs to know of a model.

  Attributes:
    init_state: () -> a fresh TrainState, from the config's seed.
    phases: the phases of one train step (built for `dp.collective`).
    optimizers: {name: (optax transformation, groups)}.
    examples_per_step: training images one step consumes.
    make_batch: uint8 images [examples_per_step, 28, 28] and their labels -> the batch pytree
      (leading axis = the global batch, split across devices).
    epoch_figures: (epoch, host state) -> None, called every config.sample_every_epochs epochs.
    final_figures: (last epoch, host state) -> None, called at the end.
    averages: parameter groups kept as moving averages of others (see train.ParamAverage).
    evaluate: optional (epoch, host state) -> {name: float} or None, called when
      an evaluation is due (config.eval_every_epochs, config.eval_every_steps; the
      epoch may be fractional) with the training clock paused; a non-empty result
      is logged as a {"step", "epoch", "time" (Unix seconds), "train_seconds",
      "test_<name>"...} record in metrics.jsonl.
  """
  init_state: Callable[[], TrainState]
  phases: Sequence[Phase]
  optimizers: dict
  examples_per_step: int
  make_batch: Callable[[np.ndarray, np.ndarray], Any]
  epoch_figures: Callable[[int, TrainState], None]
  final_figures: Callable[[int, TrainState], None]
  evaluate: Optional[Callable[[int, TrainState], Optional[dict]]] = None
  averages: Sequence[ParamAverage] = ()


class Context(NamedTuple):
  """What a model builder gets: the run's devices, data and files."""
  config: ml_collections.ConfigDict
  workdir: str
  dp: parallel.DataParallel
  train_images: np.ndarray
  train_labels: np.ndarray
  metrics_log: MetricsLog
  is_writer: bool


def check_same_run(workdir: str, config: ml_collections.ConfigDict) -> None:
  """Refuses to resume a workdir whose saved config differs in a field that shapes training.

  Raises:
    ConfigError: naming the first differing field.
  """
  path = os.path.join(workdir, "config.json")
  if not os.path.exists(path):
    return
  with open(path) as f:
    saved = json.load(f)
  new = json.loads(config.to_json())
  for name in sorted(set(saved) | set(new)):
    if name not in saved and name in LEGACY_VALUES:
      saved[name] = LEGACY_VALUES[name]
    if name not in saved and (not new[name] or name in UNRECORDED_FIELDS):
      continue  # a field added after the run was made, left at its "off" value (False, 0, ""), or unrecorded
    if name not in RESUMABLE_FIELDS and saved.get(name) != new.get(name):
      raise ConfigError(f"{workdir} holds a run with {name}={saved.get(name)!r}, not {new.get(name)!r}; "
                        f"rerun with the same settings to resume, or use a new --workdir")


def compiled_train_step(model: Model, dp: parallel.DataParallel) -> Callable[[Any, Any], tuple[Any, dict]]:
  """The model's train step, wrapped for dp's devices (jax.jit over a mesh, or jax.pmap)."""
  return dp.wrap(make_train_step(model.phases, model.optimizers, dp.collective, model.averages))


def batch_feeder(model: Model, images: np.ndarray, labels: np.ndarray, seed: int) -> Callable[[int], Any]:
  """step -> the host batch of that step: a fresh permutation of the training images every epoch, from seed."""
  data_key = jax.random.fold_in(jax.random.key(seed), 2)
  steps_per_epoch = data.steps_per_epoch(len(images), model.examples_per_step)

  @functools.lru_cache(maxsize=2)
  def epoch_indices(epoch: int) -> np.ndarray:
    return data.epoch_batch_indices(data_key, epoch, len(images), model.examples_per_step)

  def get_batch(step: int) -> Any:
    idx = epoch_indices(step // steps_per_epoch)[step % steps_per_epoch]
    return model.make_batch(images[idx], labels[idx])
  return get_batch


def run(config: ml_collections.ConfigDict, workdir: str, build: Callable[[Context], Model]) -> dict:
  """Trains the model that `build` makes, in `workdir`, resuming from its newest checkpoint.

  Needs config fields: dataset, data_dir, batch_size, num_epochs, max_steps, seed,
  accelerator, parallelism, sample_every_epochs, log_every_steps,
  checkpoint_every_steps, keep_checkpoints, show_progress.
  Writes config.json, metrics.jsonl (mirrored to TensorBoard event files in
  tensorboard/), checkpoints/ and the model's figures.

  Returns:
    {"steps": final step, "epochs": epochs done (fractional), "metrics": last logged record}.
  Raises:
    GanJaxError subclasses for bad input (gan_jax.errors), before anything is written.
  """
  devices = parallel.resolve_accelerator(config.accelerator)
  dp = parallel.DataParallel(config.parallelism, devices)
  dp.check_batch_size(config.batch_size)
  images, labels = data.load(config.dataset, "train", data_dir=config.data_dir or None,
                             source=config.get("data_source", "idx"))
  if os.path.isdir(workdir):
    check_same_run(workdir, config)
  is_writer = jax.process_index() == 0
  metrics_log = MetricsLog(os.path.join(workdir, "metrics.jsonl"),
                          tensorboard_dir=os.path.join(workdir, "tensorboard") if is_writer else None)
  model = build(Context(config, workdir, dp, images, labels, metrics_log, is_writer))

  steps_per_epoch = data.steps_per_epoch(len(images), model.examples_per_step)
  num_steps = config.num_epochs * steps_per_epoch
  if config.max_steps:
    num_steps = min(num_steps, config.max_steps)

  state = model.init_state()
  checkpointer = ckpt.Checkpointer(workdir, config.checkpoint_every_steps, config.keep_checkpoints)
  start_step = 0
  if checkpointer.latest_step() is not None:
    state = checkpointer.restore(state)
    start_step = int(state.step)
    print(f"gan_jax: resuming {workdir} from step {start_step}")
  if is_writer:
    files.write_json(os.path.join(workdir, "config.json"), json.loads(config.to_json()))
    metrics_log.truncate(start_step)
  clock = TrainClock(next((r["train_seconds"] for r in reversed(metrics_log.read()) if "train_seconds" in r), 0.0))

  train_step = compiled_train_step(model, dp)
  get_batch = batch_feeder(model, images, labels, config.seed)

  def evaluate(step: int, host_state: TrainState) -> None:
    if model.evaluate is not None and is_writer:
      epoch = step // steps_per_epoch if step % steps_per_epoch == 0 else round(step / steps_per_epoch, 4)
      values = model.evaluate(epoch, host_state)
      if values:
        metrics_log.append({"step": step, "epoch": epoch, "time": time.time(), "train_seconds": clock.seconds,
                            **{f"test_{k}": v for k, v in values.items()}})

  def evaluation_due(step: int) -> bool:
    every_steps, every_epochs = config.get("eval_every_steps", 0), config.get("eval_every_epochs", 0)
    at_epoch_end = step % steps_per_epoch == 0
    return bool((every_steps and step % every_steps == 0)
                or (every_epochs and at_epoch_end and (step // steps_per_epoch) % every_epochs == 0))

  def on_epoch_end(epoch: int, device_state: Any) -> None:
    if is_writer and epoch % config.sample_every_epochs == 0:
      model.epoch_figures(epoch, dp.get_state(device_state))

  def on_step_end(step: int, device_state: Any) -> None:
    checkpointer.save_if_due(step, lambda: dp.get_state(device_state))
    if model.evaluate is not None and evaluation_due(step):
      jax.block_until_ready(device_state)
      with clock.paused():
        evaluate(step, dp.get_state(device_state))

  device_state = train_loop(
      state=dp.put_state(state), start_step=start_step, train_step=train_step, put_batch=dp.put_batch,
      get_metrics=dp.get_metrics, get_batch=get_batch, num_steps=num_steps, steps_per_epoch=steps_per_epoch,
      images_per_step=model.examples_per_step, metrics_log=metrics_log if is_writer else None,
      log_every_steps=config.log_every_steps, on_epoch_end=on_epoch_end, on_step_end=on_step_end,
      show_progress=config.show_progress and is_writer, clock=clock)
  host_state = dp.get_state(device_state)
  checkpointer.save(num_steps, host_state)
  checkpointer.wait()
  checkpointer.close()
  final_epoch = math.ceil(num_steps / steps_per_epoch)
  partial_epoch = num_steps % steps_per_epoch != 0
  if start_step < num_steps and is_writer:
    if not evaluation_due(num_steps):  # the final state is always scored
      evaluate(num_steps, host_state)
    if partial_epoch or final_epoch % config.sample_every_epochs:
      model.epoch_figures(final_epoch, host_state)
    model.final_figures(final_epoch, host_state)
  metrics_log.close()
  records = metrics_log.read()
  return {"steps": num_steps, "epochs": num_steps / steps_per_epoch, "metrics": records[-1] if records else {}}
