"""One training run of any model: devices, data, resume, the loop, checkpoints and logs.

A model family plugs in as a `gan_jax.train.Model` built from a `Context`: its
fresh state, its phases and optimizers, how a batch is made from uint8 images,
and the figures it draws. `run` does the rest the same way for every model, so
the GAN, the autoencoders and the VAE share resumption, reproducibility and
data parallelism; `train` picks the family a config names.
"""

import functools
import json
import math
import os
import time
from typing import Any, Callable

import jax
import ml_collections
import numpy as np

from gan_jax import checkpoint as ckpt
from gan_jax import autoencoder, data, files, gan_run, parallel, rng, vae
from gan_jax.errors import ConfigError, DivergenceError
from gan_jax.preemption import StopRequest, in_any_process
from gan_jax.train import (Context, MetricsLog, Model, Schedule, TrainClock, TrainState, all_finite,
                           make_train_step, train_loop)

# Fields that may change between a run and its resumption.
RESUMABLE_FIELDS = ("num_epochs", "max_steps", "max_train_minutes", "figures", "accelerator", "parallelism",
                    "sample_every_epochs",
                    "checkpoint_every_steps", "keep_checkpoints", "log_every_steps", "data_dir", "show_progress",
                    "eval_every_epochs", "eval_every_steps", "eval_samples", "recipe", "conv_gradients",
                    "nan_policy")
# Fields added after runs were made, with the value those runs had: a saved config without
# the field is compared as if it held this value.
LEGACY_VALUES = {"conv_gradients": "autodiff", "data_source": "idx", "precision": "float32", "clip_value": 0.01,
                 "gp_weight": 10.0, "info_weight": 1.0}
# Fields added after runs were made whose absence means "not recorded": such a run resumes
# with whatever the config says (and its config.json then records it).
UNRECORDED_FIELDS = ("model_kind",)


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
  if saved.get("model_kind") and new.get("model_kind") and saved["model_kind"] != new["model_kind"]:
    raise ConfigError(f"{workdir} holds a {saved['model_kind']} run, not a {new['model_kind']} one; "
                      f"use a new --workdir")
  for name in sorted(set(saved) | set(new)):
    if name not in saved and name in LEGACY_VALUES:
      saved[name] = LEGACY_VALUES[name]
    if name not in saved and (not new[name] or name in UNRECORDED_FIELDS):
      continue  # a field added after the run was made, left at its "off" value (False, 0, ""), or unrecorded
    if name not in RESUMABLE_FIELDS and saved.get(name) != new.get(name):
      raise ConfigError(f"{workdir} holds a run with {name}={saved.get(name)!r}, not {new.get(name)!r}; "
                        f"rerun with the same settings to resume, or use a new --workdir")


NAN_POLICIES = ("stop", "skip_step")


def compiled_train_step(model: Model, dp: parallel.DataParallel,
                        nan_policy: str = "stop") -> Callable[[Any, Any], tuple[Any, dict]]:
  """The model's train step, wrapped for dp's devices (jax.jit over a mesh, or jax.pmap);
  with nan_policy="skip_step", steps with non-finite values are dropped (see make_train_step)."""
  return dp.wrap(make_train_step(model.phases, model.optimizers, dp.collective, model.averages,
                                 skip_nonfinite=nan_policy == "skip_step"))


def batch_feeder(model: Model, images: np.ndarray, labels: np.ndarray, schedule: Schedule, seed: int,
                 rows: slice = slice(None)) -> Callable[[int], Any]:
  """step -> the host batch of that step: a fresh permutation of the training images every
  epoch, from the seed's DATA_ORDER stream; only the global batch's `rows` (this process's
  share, `parallel.DataParallel.local_rows`) are read and made."""
  data_key = rng.key(seed, rng.Stream.DATA_ORDER)

  @functools.lru_cache(maxsize=2)
  def epoch_indices(epoch: int) -> np.ndarray:
    return data.epoch_batch_indices(data_key, epoch, len(images), schedule.examples_per_step)

  def get_batch(step: int) -> Any:
    idx = epoch_indices(step // schedule.steps_per_epoch)[step % schedule.steps_per_epoch]
    return model.make_batch(images[idx[rows]], labels[idx[rows]])
  return get_batch


def run(config: ml_collections.ConfigDict, workdir: str, build: Callable[[Context], Model]) -> dict:
  """Trains the model that `build` makes, in `workdir`, resuming from its newest checkpoint.

  Needs config fields: dataset, data_dir, batch_size, num_epochs, max_steps, seed,
  accelerator, parallelism, sample_every_epochs, log_every_steps,
  checkpoint_every_steps, keep_checkpoints, show_progress (the cadences: see
  `gan_jax.train.Schedule`).
  Writes config.json, metrics.jsonl (mirrored to TensorBoard event files in
  tensorboard/), checkpoints/ and the model's figures (none with config.figures=False).

  SIGTERM or SIGINT (see gan_jax.preemption) ends the run after the current step
  with a checkpoint of that step; rerunning the same command resumes from it.
  With config.max_train_minutes > 0, the run ends after the step at which its
  training time (`TrainClock`: evaluation and figures not counted) passes that
  budget, as a complete run ends (final checkpoint, scores and figures).

  Returns:
    {"steps": final step, "epochs": epochs done (fractional), "metrics": last logged
    record}, and "stopped_by" (the signal's name) when a signal ended the run early.
  Raises:
    GanJaxError subclasses for bad input (gan_jax.errors), before anything is written.
  """
  devices = parallel.resolve_accelerator(config.accelerator)
  dp = parallel.DataParallel(config.parallelism, devices)
  dp.check_batch_size(config.batch_size)
  images, labels = data.load(config.dataset, "train", data_dir=config.data_dir or None,
                             source=config.get("data_source", "idx"))
  schedule = Schedule.from_config(config, len(images))
  nan_policy = config.get("nan_policy", "stop")
  if nan_policy not in NAN_POLICIES:
    raise ConfigError(f"unknown --nan_policy={nan_policy!r}; choose one of {', '.join(NAN_POLICIES)}")
  if os.path.isdir(workdir):
    check_same_run(workdir, config)
  is_writer = jax.process_index() == 0
  draws = is_writer and config.get("figures", True)  # config.figures=False: a run without figures
  metrics_log = MetricsLog(os.path.join(workdir, "metrics.jsonl"),
                          tensorboard_dir=os.path.join(workdir, "tensorboard") if is_writer else None)
  model = build(Context(config, workdir, dp, images, labels, metrics_log, schedule))

  state = model.init_state()
  files.make_writable_dir(workdir)  # the first write of the run: everything before it only read and checked
  checkpointer = ckpt.Checkpointer(workdir, config.keep_checkpoints)
  start_step = 0
  if checkpointer.latest_step() is not None:
    state, damaged = checkpointer.restore_newest(state)
    start_step = int(state.step)
    if is_writer:
      for step, reason in damaged:
        print(f"gan_jax: {reason}; moved it to {workdir}/damaged_checkpoints/{step}")
      print(f"gan_jax: resuming {workdir} from step {start_step}")
  if is_writer:
    files.write_json(os.path.join(workdir, "config.json"), json.loads(config.to_json()))
    metrics_log.truncate(start_step)
  clock = TrainClock(next((r["train_seconds"] for r in reversed(metrics_log.read()) if "train_seconds" in r), 0.0))
  budget = config.get("max_train_minutes", 0.0) * 60.0  # seconds; 0: none
  if budget and clock.seconds >= budget:  # a run that already spent its budget is complete
    schedule = schedule._replace(num_steps=start_step)

  train_step = compiled_train_step(model, dp, nan_policy)
  get_batch = batch_feeder(model, images, labels, schedule, config.seed, dp.local_rows(schedule.examples_per_step))

  def evaluate(step: int, host_state: TrainState) -> None:
    if model.evaluate is not None and is_writer:
      epoch = schedule.epoch(step)
      with clock.paused():
        values = model.evaluate(epoch, host_state)
      if values:
        metrics_log.append({"step": step, "epoch": epoch, "time": time.time(), "train_seconds": clock.seconds,
                            **{f"test_{k}": v for k, v in values.items()}})

  def diverged(step: int, what: str) -> DivergenceError:
    latest = checkpointer.latest_step()
    kept = (f"its newest finite checkpoint is step {latest} in {checkpointer.directory}" if latest is not None
            else "it has no checkpoint yet")
    return DivergenceError(f"non-finite {what} at step {step}: the run stopped and {kept}; lower the learning "
                           f"rate, or rerun with --nan_policy=skip_step to drop such steps")

  def save(step: int, host_state: TrainState) -> None:
    if nan_policy == "stop" and not bool(jax.jit(all_finite)((host_state.params, host_state.batch_stats))):
      raise diverged(step, "parameters")
    checkpointer.save(step, host_state)

  reached = {"step": start_step}  # the newest step handed to the device

  def batch_for(step: int) -> Any:
    reached["step"] = step + 1
    return dp.put_batch(get_batch(step))

  def get_metrics(device_metrics: Any) -> dict:
    values = dp.get_metrics(device_metrics)
    bad = [name for name, value in values.items() if not math.isfinite(value)]
    if nan_policy == "stop" and bad:
      raise diverged(reached["step"], bad[0])
    return values

  def after_step(step: int, device_state: Any) -> None:
    # The step's scores and figures come before its checkpoint: a run killed between them resumes
    # from the checkpoint before and makes them again (metrics_log.truncate drops the partial ones).
    if model.evaluate is not None and schedule.evaluation_due(step):
      jax.block_until_ready(device_state)
      evaluate(step, dp.get_state(device_state))
    if draws and schedule.figures_due(step):
      jax.block_until_ready(device_state)
      with clock.paused():
        model.epoch_figures(step // schedule.steps_per_epoch, dp.get_state(device_state))
    if step < schedule.num_steps and schedule.checkpoint_due(step):  # the last one is saved below
      save(step, dp.get_state(device_state))

  stop = StopRequest()

  def should_stop() -> bool:  # a stop signal, or the training-time budget spent (in any process)
    return stop.requested_anywhere() or bool(budget) and in_any_process(clock.seconds >= budget)
  try:
    with stop.installed():
      device_state = train_loop(
          state=dp.put_state(state), start_step=start_step, train_step=train_step, batch_for=batch_for,
          get_metrics=get_metrics, schedule=schedule, metrics_log=metrics_log if is_writer else None,
          after_step=after_step, show_progress=config.show_progress and is_writer, clock=clock,
          should_stop=should_stop)
      host_state = dp.get_state(device_state)
      step = int(host_state.step)
      save(step, host_state)
  finally:  # also when the run diverged: the saves begun are finished
    checkpointer.wait()
    checkpointer.close()
  stopped = stop.signal_name is not None and step < schedule.num_steps  # by SIGTERM or SIGINT
  if stopped and is_writer:
    print(f"gan_jax: stopped by {stop.signal_name} at step {step} of {schedule.num_steps}; checkpoint saved in "
          f"{os.path.join(checkpointer.directory, str(step))}; rerun the same command to resume")
  if not stopped and start_step < step < schedule.num_steps and is_writer:
    print(f"gan_jax: the training-time budget of {config.max_train_minutes:g} min was spent at step {step}")
  if not stopped and start_step < step and is_writer:
    final_epoch = math.ceil(step / schedule.steps_per_epoch)
    if not schedule.evaluation_due(step):  # the final state is always scored
      evaluate(step, host_state)
    if draws and not schedule.figures_due(step):
      model.epoch_figures(final_epoch, host_state)
    if draws:
      model.final_figures(final_epoch, host_state)
  metrics_log.close()
  records = metrics_log.read()
  result = {"steps": step, "epochs": step / schedule.steps_per_epoch, "metrics": records[-1] if records else {}}
  return {**result, "stopped_by": stop.signal_name} if stopped else result


BUILDERS = {"gan": gan_run.build_model, "vae": vae.build_model, "autoencoder": autoencoder.build_model}


def train(config: ml_collections.ConfigDict, workdir: str) -> dict:
  """Trains the model family of config.model_kind (see BUILDERS) in `workdir` with `run`.

  What each family writes besides run's files: `gan_jax.gan_run.build_model`,
  `gan_jax.vae.build_model`, `gan_jax.autoencoder.build_model`. A GAN run ends by
  printing where its figures are, its training time and its last in-training FID
  (`gan_jax.gan_run.summary`).

  Returns:
    see `run`.
  Raises:
    ConfigError: an unknown config.model_kind.
    GanJaxError subclasses for bad input (see gan_jax.errors).
  """
  if config.get("model_kind") not in BUILDERS:
    raise ConfigError(f"unknown model_kind {config.get('model_kind')!r}; choose one of {', '.join(BUILDERS)}")
  result = run(config, workdir, BUILDERS[config.model_kind])
  if config.model_kind == "gan" and jax.process_index() == 0 and "stopped_by" not in result:
    print(gan_run.summary(workdir, result["steps"], result["epochs"], MetricsLog(
        os.path.join(workdir, "metrics.jsonl")).read(), config.eval_samples))
  return result
