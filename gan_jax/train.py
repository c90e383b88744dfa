"""The training state, the phase-built train step and the training loop.

A model is described by its *phases*. A phase names the optimizer it steps and
the parameter groups it differentiates, and gives a pure loss function. The
GAN of Goodfellow et al. 2014 (Algorithm 1) is k discriminator phases followed
by one generator phase; a VAE is one phase over encoder and decoder.
`make_train_step(phases, optimizers)` turns the phases into one pure
`train_step(state, batch) -> (state, metrics)` that `gan_jax.parallel` compiles
for one device, `jax.jit` sharding or `jax.pmap`.
"""

import contextlib
import json
import os
import time
from typing import Any, Callable, NamedTuple, Optional, Sequence

import flax
import jax
import jax.numpy as jnp
import matplotlib.image
import ml_collections
import optax
from tensorboardX import SummaryWriter
from tqdm.auto import tqdm

from gan_jax import data, files
from gan_jax.errors import ConfigError
from gan_jax.parallel import SINGLE_DEVICE, Collective, DataParallel

Params = dict[str, Any]
# loss_fn(params, batch_stats, batch, key, collective[, carry]) -> (loss, (batch_stats_updates, metrics[, carry]))
LossFn = Callable[..., tuple[jax.Array, tuple]]


@flax.struct.dataclass
class TrainState:
  """Everything a run needs to continue, as one pytree.

  Attributes:
    step: int32 scalar, train steps done.
    params: {group: params}, e.g. {"generator": ..., "discriminator": ...}.
    batch_stats: {group: BatchNorm running statistics} ({} for groups without BatchNorm).
    opt_state: {optimizer name: optax state}.
    key: typed PRNG key of the run; step s uses fold_in(key, s).
  """
  step: jax.Array
  params: Params
  batch_stats: Params
  opt_state: dict[str, Any]
  key: jax.Array


class Phase(NamedTuple):
  """One parameter update inside a train step.

  Attributes:
    name: the optimizer (and `opt_state` entry) this phase steps, e.g. "discriminator".
    groups: the parameter groups it differentiates, e.g. ("generator",).
    loss_fn: pure loss; see `LossFn`. Returns the scalar loss to minimise, the
      BatchNorm statistics it updated ({group: stats}) and its metrics, and may
      return a third aux value, a pytree `carry` handed to the next phase.
    takes_carry: the loss_fn takes a sixth argument, the previous phase's carry
      (e.g. the fake batch and G's pullback that a GAN's G phase can reuse).
    takes_step: the loss_fn also takes the keyword argument `step`, the int32 number
      of train steps done before this one (e.g. for a noise level annealed over training).
  """
  name: str
  groups: tuple[str, ...]
  loss_fn: LossFn
  takes_carry: bool = False
  takes_step: bool = False


class ParamAverage(NamedTuple):
  """An exponential moving average of one parameter group, kept as another group.

  After every train step, params[target] = decay * params[target] + (1 - decay) * params[source]
  (Yazici et al. 2019, "The unusual effectiveness of averaging in GAN training";
  Karras et al. 2018 sample their generators this way).

  Attributes:
    target: the group holding the average, e.g. "generator_ema"; no phase differentiates it.
    source: the group averaged, e.g. "generator".
    decay: in [0, 1); the average spans about 1 / (1 - decay) steps.
  """
  target: str
  source: str
  decay: float


def create_train_state(params: Params, batch_stats: Params,
                       optimizers: dict[str, tuple[optax.GradientTransformation, Sequence[str]]],
                       key: jax.Array) -> TrainState:
  """A fresh TrainState at step 0.

  Args:
    params, batch_stats: {group: ...} from the modules' `init`.
    optimizers: {name: (optax transformation, the groups it updates)}.
    key: typed PRNG key (jax.random.key(seed)).
  """
  init = jax.jit(lambda params: {name: tx.init({g: params[g] for g in groups}) for name, (tx, groups) in optimizers.items()})
  return TrainState(step=jnp.int32(0), params=params, batch_stats=batch_stats, opt_state=init(params), key=key)


def example_keys(key: jax.Array, batch_size: int, collective: Collective = SINGLE_DEVICE) -> jax.Array:
  """One PRNG key per example of the *global* batch, for this shard's rows.

  Noise drawn from these keys (z, dropout masks) depends only on the example's
  index in the global batch, never on how the batch is split over devices, so
  a run on 8 devices draws the same numbers as a run on one.

  Args:
    key: typed PRNG key of this phase.
    batch_size: rows in this shard.
  Returns:
    keys: [batch_size] typed keys.
  """
  first = collective.shard_index() * batch_size
  return jax.vmap(jax.random.fold_in, in_axes=(None, 0))(key, first + jnp.arange(batch_size))


def all_finite(tree: Any) -> jax.Array:
  """bool scalar: whether every element of every leaf of `tree` is finite (integer leaves always are)."""
  return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))


def make_train_step(phases: Sequence[Phase], optimizers: dict[str, tuple[optax.GradientTransformation, Sequence[str]]],
                    collective: Collective = SINGLE_DEVICE, averages: Sequence[ParamAverage] = (),
                    skip_nonfinite: bool = False) -> Callable[[TrainState, Any], tuple[TrainState, dict]]:
  """Builds the pure train step that runs `phases` in order.

  Each phase differentiates its loss with respect to its groups' parameters,
  averages the gradients across data-parallel shards (`collective.mean`), and
  applies its optimizer; later phases see the earlier phases' updates (the
  alternating updates of Goodfellow et al. 2014, Algorithm 1).

  Args:
    phases: the phases of one step.
    optimizers: {name: (optax transformation, groups)}, one per distinct phase name.
    collective: `gan_jax.parallel.SINGLE_DEVICE`, or `PMAP` when run under `jax.pmap`.
    averages: moving averages updated after the phases (see ParamAverage).
    skip_nonfinite: a step whose metrics or new parameters are not all finite keeps
      the old parameters, statistics and optimizer states (its batch is still used
      up); the metric "skipped_step" is 1.0 for such a step, else 0.0.
  Returns:
    train_step(state, batch) -> (state, metrics), metrics a flat dict of float32
    scalars averaged over the global batch (a later phase's value wins on a name clash).
  """

  def train_step(state: TrainState, batch: Any) -> tuple[TrainState, dict]:
    phase_keys = jax.random.split(jax.random.fold_in(state.key, state.step), len(phases))
    params, batch_stats, opt_state = state.params, state.batch_stats, dict(state.opt_state)
    metrics, carry = {}, None
    for phase, key in zip(phases, phase_keys):
      trainable = {g: params[g] for g in phase.groups}

      def loss(trainable, phase=phase, key=key, carry=carry):
        args = ({**params, **trainable}, batch_stats, batch, key, collective) + ((carry,) if phase.takes_carry else ())
        return phase.loss_fn(*args, **({"step": state.step} if phase.takes_step else {}))

      grads, aux = jax.grad(loss, has_aux=True)(trainable)
      stats_updates, phase_metrics = aux[:2]
      carry = aux[2] if len(aux) > 2 else None
      grads = collective.mean(grads)
      tx = optimizers[phase.name][0]
      updates, opt_state[phase.name] = tx.update(grads, opt_state[phase.name], trainable)
      params = {**params, **optax.apply_updates(trainable, updates)}
      batch_stats = {**batch_stats, **stats_updates}
      metrics.update(phase_metrics)
    for average in averages:
      params = {**params, average.target: jax.tree.map(
          lambda e, p, d=average.decay: d * e + (1.0 - d) * p, params[average.target], params[average.source])}
    metrics = collective.mean(metrics)
    if skip_nonfinite:  # the same decision on every device: params and the averaged metrics are replicated
      finite = all_finite((params, metrics))
      keep = lambda new, old: jax.tree.map(lambda n, o: jnp.where(finite, n, o), new, old)
      params, batch_stats = keep(params, state.params), keep(batch_stats, state.batch_stats)
      opt_state = keep(opt_state, state.opt_state)
      metrics = {**metrics, "skipped_step": 1.0 - finite.astype(jnp.float32)}
    new_state = state.replace(step=state.step + 1, params=params, batch_stats=batch_stats, opt_state=opt_state)
    return new_state, metrics

  return train_step


LR_DECAY_FLOOR = 0.1  # a decayed learning rate ends at this fraction of config.learning_rate


def clip_parameters(bound: float) -> optax.GradientTransformation:
  """An optax transformation, chained after an optimizer, whose updates leave every parameter
  in [-bound, bound]: WGAN's weight clipping (Arjovsky et al. 2017, Algorithm 1, line 7).

  The update it returns is clip(p + u) - p, so the parameters after `optax.apply_updates`
  are the clipped ones up to float32 rounding (one ulp).
  """
  def update(updates, state, params=None):
    if params is None:
      raise ValueError("clip_parameters needs the parameters: call update(updates, state, params)")
    return jax.tree.map(lambda u, p: jnp.clip(p + u, -bound, bound) - p, updates, params), state
  return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


def make_optimizer(config: ml_collections.ConfigDict, updates_per_epoch: int = 0) -> optax.GradientTransformation:
  """The optimizer named by config.optimizer (for a GAN, one per player).

  "tutorial": Adam, learning rate 1e-4 (the TF DCGAN tutorial).
  "dcgan_paper": Adam, learning rate 2e-4, beta1 = 0.5 (Radford et al. 2016, Section 4).
  "adam": Adam with config.learning_rate, config.b1, config.b2.
  "sgd_momentum": SGD with config.learning_rate and config.momentum (Goodfellow et al. 2014).
  "rmsprop": RMSProp with config.learning_rate, decay 0.99 and eps 1e-8 outside the
    square root (PyTorch's defaults, which the WGAN authors' code used; their paper: 5e-5).

  With config.lr_decay_epochs > 0 ("adam" and "sgd_momentum"), the learning rate
  follows a cosine from config.learning_rate down to LR_DECAY_FLOOR times it over
  that many epochs (Loshchilov & Hutter 2017, SGDR, without restarts), then stays there.

  Args:
    config: the fields above.
    updates_per_epoch: this optimizer's updates in one epoch (needed with lr_decay_epochs).
  Raises:
    ConfigError: unknown name, or lr_decay_epochs with a fixed-rate optimizer.
  """
  name = config.optimizer
  decay_epochs = config.get("lr_decay_epochs", 0)
  if decay_epochs and name not in ("adam", "sgd_momentum", "rmsprop"):
    raise ConfigError(f"--config.lr_decay_epochs needs --optimizer=adam, sgd_momentum or rmsprop, not {name!r}")
  learning_rate = config.learning_rate
  if decay_epochs:
    learning_rate = optax.cosine_decay_schedule(config.learning_rate, decay_epochs * updates_per_epoch,
                                                alpha=LR_DECAY_FLOOR)
  if name == "tutorial":
    return optax.adam(1e-4)
  if name == "dcgan_paper":
    return optax.adam(2e-4, b1=0.5)
  if name == "adam":
    return optax.adam(learning_rate, b1=config.b1, b2=config.b2)
  if name == "sgd_momentum":
    return optax.sgd(learning_rate, momentum=config.momentum)
  if name == "rmsprop":
    return optax.rmsprop(learning_rate, decay=0.99, eps=1e-8, eps_in_sqrt=False)
  raise ConfigError(f"unknown optimizer {name!r}; choose tutorial, dcgan_paper, adam, sgd_momentum or rmsprop")


def examples_per_step(config: ml_collections.ConfigDict) -> int:
  """Training images one train step consumes: config.batch_size, times config.k_d_steps
  for a GAN (each discriminator update has a minibatch of its own, Goodfellow et al. 2014,
  Algorithm 1)."""
  return config.batch_size * config.get("k_d_steps", 1)


class Schedule(NamedTuple):
  """A run's step counts and every cadence (logging, figures, evaluation, checkpoints), in one place.

  Steps are counted from 1 (step s is done after s train steps); epoch e covers
  steps ((e - 1) * steps_per_epoch, e * steps_per_epoch], the remainder of the
  shuffled training set being dropped each epoch.
  """
  examples_per_step: int
  steps_per_epoch: int
  num_steps: int               # where the run stops: config.num_epochs epochs, capped by config.max_steps
  log_every_steps: int         # metrics fetched and logged (and at the last step)
  figures_every_epochs: int    # the model's epoch figures, at these epochs' ends
  eval_every_epochs: int       # the model's evaluation, at these epochs' ends (0: never)
  eval_every_steps: int        # ... and every this many steps (0: never)
  checkpoint_every_steps: int  # a checkpoint (and always at the last step)

  @classmethod
  def from_config(cls, config: ml_collections.ConfigDict,
                  num_train_examples: int = data.SPLIT_FILES["train"][2]) -> "Schedule":
    """The schedule of config.num_epochs, max_steps, log_every_steps, sample_every_epochs,
    eval_every_epochs, eval_every_steps and checkpoint_every_steps, over `num_train_examples`
    training images (default: the 60,000 of MNIST's and Fashion-MNIST's training splits).

    Raises:
      ConfigError: num_epochs < 1, a negative max_steps, max_train_minutes or cadence, a zero log or
        figure cadence.
      DataError: examples_per_step outside 1..num_train_examples.
    """
    if config.num_epochs < 1:
      raise ConfigError(f"--num_epochs must be >= 1, got {config.num_epochs}")
    for name in ("max_steps", "max_train_minutes", "eval_every_epochs", "eval_every_steps", "checkpoint_every_steps"):
      if config.get(name, 0) < 0:
        raise ConfigError(f"--config.{name} must be >= 0, got {config.get(name)}")
    for name in ("log_every_steps", "sample_every_epochs"):
      if config[name] < 1:
        raise ConfigError(f"--config.{name} must be >= 1, got {config[name]}")
    per_step = examples_per_step(config)
    steps_per_epoch = data.steps_per_epoch(num_train_examples, per_step)
    num_steps = config.num_epochs * steps_per_epoch
    if config.max_steps:
      num_steps = min(num_steps, config.max_steps)
    return cls(per_step, steps_per_epoch, num_steps, config.log_every_steps, config.sample_every_epochs,
               config.get("eval_every_epochs", 0), config.get("eval_every_steps", 0), config.checkpoint_every_steps)

  def epoch(self, step: int) -> float:
    """Epochs done after `step` steps: an int at an epoch's end, else rounded to 4 decimals."""
    return step // self.steps_per_epoch if step % self.steps_per_epoch == 0 else round(step / self.steps_per_epoch, 4)

  def _at_epoch_end(self, step: int, every_epochs: int) -> bool:
    return bool(every_epochs) and step % self.steps_per_epoch == 0 and (step // self.steps_per_epoch) % every_epochs == 0

  def log_due(self, step: int) -> bool:
    """Whether the metrics of step `step` (from 1) are fetched and logged: every log_every_steps, and the last."""
    return step % self.log_every_steps == 0 or step == self.num_steps

  def figures_due(self, step: int) -> bool:
    """Whether step `step` ends an epoch whose number is a multiple of figures_every_epochs."""
    return self._at_epoch_end(step, self.figures_every_epochs)

  def evaluation_due(self, step: int) -> bool:
    """Whether the model is evaluated after step `step`: every eval_every_steps, or at the end of
    every eval_every_epochs-th epoch (0 turns either off)."""
    return bool(self.eval_every_steps and step % self.eval_every_steps == 0) or self._at_epoch_end(
        step, self.eval_every_epochs)

  def checkpoint_due(self, step: int) -> bool:
    """Whether a checkpoint is saved after step `step`: every checkpoint_every_steps, and the last."""
    return bool(self.checkpoint_every_steps and step % self.checkpoint_every_steps == 0) or step == self.num_steps


class Model(NamedTuple):
  """What a model family gives the training run (`gan_jax.experiment.run`), and nothing more.

  Attributes:
    init_state: () -> a fresh TrainState, from the config's seed (its optimizers' states
      from `optimizers`).
    phases: the phases of one train step (built for the run's `Context.dp.collective`).
    optimizers: {name: (optax transformation, groups)}, built once.
    make_batch: (uint8 training images [examples_per_step, 28, 28], their int labels
      [examples_per_step]) -> the batch pytree (leading axis = the global batch, split
      across devices); only class-conditional models use the labels.
    epoch_figures: (epoch, host state) -> None, when `Schedule.figures_due` (and at the end).
    final_figures: (last epoch, host state) -> None, once at the end.
    evaluate: optional (epoch, host state) -> {name: float} or None, when
      `Schedule.evaluation_due` (the epoch may be fractional) and at the end, with the
      training clock paused; a non-empty result is logged as a {"step", "epoch",
      "time" (Unix seconds), "train_seconds", "test_<name>"...} record in metrics.jsonl.
    averages: parameter groups kept as moving averages of others (see ParamAverage).
  """
  init_state: Callable[[], TrainState]
  phases: Sequence[Phase]
  optimizers: dict
  make_batch: Callable[[Any], Any]
  epoch_figures: Callable[[int, TrainState], None]
  final_figures: Callable[[int, TrainState], None]
  evaluate: Optional[Callable[[float, TrainState], Optional[dict]]] = None
  averages: Sequence[ParamAverage] = ()


class MetricsLog:
  """Appends one JSON object per logged step to `metrics.jsonl`, and mirrors it to TensorBoard.

  On resume from step s, `truncate(s)` drops the records of steps after s, so the
  file never holds two records of one step (and TensorBoard purges them too).
  With `tensorboard_dir`, every numeric field of a record but step, epoch and
  time is also written there as a scalar at the record's step (tensorboardX's
  event files, no TensorFlow needed: `tensorboard --logdir WORKDIR/tensorboard`),
  and `image` adds pictures.
  """

  def __init__(self, path: str, tensorboard_dir: Optional[str] = None):
    self.path = path
    self.tensorboard_dir = tensorboard_dir
    self._writer: Optional[SummaryWriter] = None
    self._purge_step: Optional[int] = None

  def _tensorboard(self) -> Optional[SummaryWriter]:
    if self.tensorboard_dir is not None and self._writer is None:
      self._writer = SummaryWriter(self.tensorboard_dir, purge_step=self._purge_step)
    return self._writer

  def read(self) -> list[dict]:
    if not os.path.exists(self.path):
      return []
    with open(self.path) as f:
      return [json.loads(line) for line in f if line.strip()]

  def truncate(self, step: int) -> None:
    self._purge_step = step + 1
    kept = [r for r in self.read() if r["step"] <= step]
    files.write_text(self.path, "".join(json.dumps(r) + "\n" for r in kept))

  def append(self, record: dict) -> None:
    with open(self.path, "a") as f:
      f.write(json.dumps(record) + "\n")
    writer = self._tensorboard()
    if writer is not None:
      for name, value in record.items():
        if name not in ("step", "epoch", "time") and isinstance(value, (int, float)) and not isinstance(value, bool):
          writer.add_scalar(name, value, record["step"])
      writer.flush()

  def image(self, tag: str, png_path: str, step: int) -> None:
    """Adds the picture in png_path (e.g. an epoch's sample grid) to TensorBoard at `step` (no-op without it)."""
    writer = self._tensorboard()
    if writer is not None:
      pixels = matplotlib.image.imread(png_path)[..., :3]  # float RGB in [0, 1]
      writer.add_image(tag, pixels, step, dataformats="HWC")
      writer.flush()

  def close(self) -> None:
    if self._writer is not None:
      self._writer.close()
      self._writer = None


class Context(NamedTuple):
  """What a model family's `build_model(ctx) -> Model` gets from the run."""
  config: ml_collections.ConfigDict
  workdir: str
  dp: DataParallel            # the run's devices (its collective, BatchNorm axis)
  train_images: Any           # uint8 [N, 28, 28], the training split
  train_labels: Any           # int [N], its labels (class-conditional models' figures use them)
  metrics_log: MetricsLog     # the run's metrics.jsonl and TensorBoard events
  schedule: Schedule


class TrainClock:
  """Seconds a run has spent training, across resumptions.

  Counts train steps, data feeding, logging and checkpoints; `paused()` excludes
  the work done between steps for people rather than for the model (evaluation,
  figures), so quality can be plotted against training time alone.

  Args (constructor):
    seconds: training seconds already done (the "train_seconds" of a resumed run's last record).
  """

  def __init__(self, seconds: float = 0.0):
    self._done = float(seconds)
    self._since: Optional[float] = None

  def start(self) -> None:
    if self._since is None:
      self._since = time.perf_counter()

  def stop(self) -> None:
    if self._since is not None:
      self._done += time.perf_counter() - self._since
      self._since = None

  @property
  def seconds(self) -> float:
    """Training seconds so far, float."""
    return self._done + (time.perf_counter() - self._since if self._since is not None else 0.0)

  @contextlib.contextmanager
  def paused(self):
    """Stops the clock inside the block (and restarts it after, if it was running)."""
    running = self._since is not None
    self.stop()
    try:
      yield
    finally:
      if running:
        self.start()


def train_loop(*, state: Any, start_step: int, train_step: Callable, batch_for: Callable[[int], Any],
               get_metrics: Callable[[Any], dict], schedule: Schedule, metrics_log: Optional[MetricsLog] = None,
               after_step: Optional[Callable[[int, Any], None]] = None, show_progress: bool = True,
               clock: Optional[TrainClock] = None, should_stop: Optional[Callable[[], bool]] = None) -> Any:
  """Runs `train_step` from `start_step` to `schedule.num_steps`, or until `should_stop()`.

  Args:
    state: device train state.
    start_step: the state's step (batches 0..start_step-1 are done).
    train_step: compiled (state, device batch) -> (state, device metrics).
    batch_for: global step -> device batch; a pure function of the step, so a
      resumed run sees the same batches as an uninterrupted one.
    get_metrics: device metrics -> {name: float}.
    schedule: the run's step counts and cadences; metrics are fetched from the
      device when `schedule.log_due(step)`.
    metrics_log: where logged metrics go (with "step", "epoch", "images_per_sec" (over
      training time), "time" (the Unix time in seconds) and "train_seconds" (the clock's)).
    after_step: called as (step number from 1, state) after every step (checkpoints,
      evaluation, figures); it may pause `clock`.
    show_progress: a tqdm bar with the epoch, the losses, images/s and the time left.
    clock: the run's TrainClock (a fresh one by default); it runs during the loop.
    should_stop: asked after every step (after after_step); True ends the loop there
      (e.g. `gan_jax.preemption.StopRequest.requested`), and that step's metrics are logged
      even when no log is due.
  Returns:
    The device state after `schedule.num_steps` steps, or after the step at which
    should_stop() said True (its `step` tells which).
  """
  clock = clock if clock is not None else TrainClock()
  num_steps, steps_per_epoch = schedule.num_steps, schedule.steps_per_epoch
  num_epochs = -(-num_steps // steps_per_epoch)
  bar = tqdm(total=num_steps, initial=start_step, disable=not show_progress, unit="step", dynamic_ncols=True)
  clock.start()
  window_start, window_steps = clock.seconds, 0

  def _log_step(done: int, epoch: int, metrics: Any) -> tuple[float, int]:
    """Fetches step `done`'s metrics (waiting for the device), logs them with the images/s of the
    window since the last log; returns the next window's (start, steps)."""
    values = get_metrics(metrics)
    now = clock.seconds
    rate = window_steps * schedule.examples_per_step / max(now - window_start, 1e-9)
    if metrics_log is not None:
      metrics_log.append({"step": done, "epoch": epoch, **values, "images_per_sec": rate, "time": time.time(),
                          "train_seconds": now})
    bar.set_description(f"epoch {epoch}/{num_epochs}", refresh=False)
    bar.set_postfix({**{k: f"{v:.3f}" for k, v in values.items() if k.endswith("loss")}, "img/s": f"{rate:.0f}"},
                    refresh=False)
    return now, 0

  for step in range(start_step, num_steps):
    state, metrics = train_step(state, batch_for(step))
    window_steps += 1
    done = step + 1
    epoch = step // steps_per_epoch + 1
    if schedule.log_due(done):
      window_start, window_steps = _log_step(done, epoch, metrics)
    bar.update(1)
    if after_step is not None:
      after_step(done, state)
    if should_stop is not None and should_stop():
      if not schedule.log_due(done):  # the step a run stops at is always logged
        _log_step(done, epoch, metrics)
      break
  clock.stop()
  bar.close()
  return state
