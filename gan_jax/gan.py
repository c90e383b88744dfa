"""The GAN game as train-step phases, and the GAN training run.

Goodfellow et al. 2014, Algorithm 1: each train step makes `k_d_steps`
discriminator updates, each on its own minibatch of real images and of noise,
then one generator update on fresh noise. The generator's and the
discriminator's modules and losses are arguments, so the MLP GAN, DCGAN and
LSGAN share this code.
"""

import functools
import json
import math
import os
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from gan_jax import checkpoint as ckpt
from gan_jax import data, losses, parallel, plots
from gan_jax.errors import ConfigError
from gan_jax.models import build_discriminator, build_generator
from gan_jax.parallel import Collective
from gan_jax.train import MetricsLog, Phase, TrainState, create_train_state, example_keys, make_train_step, train_loop


def sample_latent(key: jax.Array, batch_size: int, latent_dim: int, collective: Collective = parallel.SINGLE_DEVICE) -> jax.Array:
  """z ~ N(0, I), [batch_size, latent_dim] float32, drawn per example of the global batch."""
  return jax.vmap(lambda k: jax.random.normal(k, (latent_dim,)))(example_keys(key, batch_size, collective))


def discriminate(discriminator: nn.Module, params: Any, x: jax.Array, key: jax.Array,
                 collective: Collective = parallel.SINGLE_DEVICE) -> jax.Array:
  """D's logits [B] on x [B, ...] in train mode, each example with its own dropout key.

  Per-example keys make the dropout masks independent of the device count
  (see `gan_jax.train.example_keys`). D has no BatchNorm, so applying it
  example by example under `vmap` is the same function as applying it to the batch.
  """
  def one(x_i, key_i):
    return discriminator.apply({"params": params}, x_i[None], train=True, rngs={"dropout": key_i})[0]
  return jax.vmap(one)(x, example_keys(key, x.shape[0], collective))


def _generate_train(generator: nn.Module, params: Any, batch_stats: Any, z: jax.Array) -> tuple[jax.Array, Any]:
  x_fake, updates = generator.apply({"params": params, "batch_stats": batch_stats}, z, train=True,
                                    mutable=["batch_stats"])
  return x_fake, updates["batch_stats"]


def gan_phases(generator: nn.Module, discriminator: nn.Module, *, latent_dim: int, k_d_steps: int = 1,
               discriminator_loss: Callable = losses.discriminator_loss,
               generator_loss: Callable = losses.generator_loss_non_saturating) -> list[Phase]:
  """The phases of one GAN train step: `k_d_steps` D updates, then one G update.

  The batch is {"x": [B, k_d_steps, H, W, C]} float32 in [-1, 1]; D update i uses
  batch["x"][:, i], so every D update sees its own real minibatch (Algorithm 1).
  Metrics: d_loss, d_real = mean D(x), d_fake = mean D(G(z)) (last D update, with
  dropout on), g_loss.

  Args:
    generator: module z [B, latent_dim] -> x [B, H, W, C], with `train` and BatchNorm
      statistics in "batch_stats" (may be empty).
    discriminator: module x -> logits [B], with `train` and a "dropout" PRNG stream.
    latent_dim: size of z.
    k_d_steps: discriminator updates per generator update (k of Algorithm 1), >= 1.
    discriminator_loss: (real_logits, fake_logits) -> scalar.
    generator_loss: fake_logits -> scalar.
  """
  if k_d_steps < 1:
    raise ConfigError(f"k_d_steps must be >= 1, got {k_d_steps}")

  def d_loss_fn(i: int):
    def loss_fn(params, batch_stats, batch, key, collective):
      x_real = batch["x"][:, i]
      z_key, real_key, fake_key = jax.random.split(key, 3)
      z = sample_latent(z_key, x_real.shape[0], latent_dim, collective)
      # G's running statistics are updated in the G phase only: once per step.
      x_fake, _ = _generate_train(generator, params["generator"], batch_stats["generator"], z)
      x_fake = jax.lax.stop_gradient(x_fake)
      real_logits = discriminate(discriminator, params["discriminator"], x_real, real_key, collective)
      fake_logits = discriminate(discriminator, params["discriminator"], x_fake, fake_key, collective)
      loss = discriminator_loss(real_logits, fake_logits)
      return loss, ({}, {"d_loss": loss, "d_real": jnp.mean(jax.nn.sigmoid(real_logits)),
                         "d_fake": jnp.mean(jax.nn.sigmoid(fake_logits))})
    return loss_fn

  def g_loss_fn(params, batch_stats, batch, key, collective):
    z_key, d_key = jax.random.split(key)
    z = sample_latent(z_key, batch["x"].shape[0], latent_dim, collective)
    x_fake, new_stats = _generate_train(generator, params["generator"], batch_stats["generator"], z)
    loss = generator_loss(discriminate(discriminator, params["discriminator"], x_fake, d_key, collective))
    return loss, ({"generator": new_stats}, {"g_loss": loss})

  d_phases = [Phase("discriminator", ("discriminator",), d_loss_fn(i)) for i in range(k_d_steps)]
  return d_phases + [Phase("generator", ("generator",), g_loss_fn)]


def make_optimizer(config: ml_collections.ConfigDict) -> optax.GradientTransformation:
  """The optimizer named by config.optimizer, used for both G and D.

  "tutorial": Adam, learning rate 1e-4 (the TF DCGAN tutorial).
  "dcgan_paper": Adam, learning rate 2e-4, beta1 = 0.5 (Radford et al. 2016, Section 4).
  "adam": Adam with config.learning_rate, config.b1, config.b2.
  "sgd_momentum": SGD with config.learning_rate and config.momentum (Goodfellow et al. 2014).

  Raises:
    ConfigError: unknown name.
  """
  name = config.optimizer
  if name == "tutorial":
    return optax.adam(1e-4)
  if name == "dcgan_paper":
    return optax.adam(2e-4, b1=0.5)
  if name == "adam":
    return optax.adam(config.learning_rate, b1=config.b1, b2=config.b2)
  if name == "sgd_momentum":
    return optax.sgd(config.learning_rate, momentum=config.momentum)
  raise ConfigError(f"unknown optimizer {name!r}; choose tutorial, dcgan_paper, adam or sgd_momentum")


def init_state(config: ml_collections.ConfigDict, generator: nn.Module, discriminator: nn.Module) -> TrainState:
  """A fresh GAN TrainState from config.seed (the same seed gives the same state)."""
  key = jax.random.key(config.seed)
  g_key, d_key, run_key = jax.random.split(jax.random.fold_in(key, 0), 3)
  g_vars = generator.init(g_key, jnp.zeros((2, config.latent_dim), jnp.float32), train=False)
  d_vars = discriminator.init(d_key, jnp.zeros((2,) + data.IMAGE_SHAPE, jnp.float32), train=False)
  return create_train_state(
      params={"generator": g_vars["params"], "discriminator": d_vars["params"]},
      batch_stats={"generator": g_vars.get("batch_stats", {}), "discriminator": {}},
      optimizers=optimizers_for(config), key=run_key)


def optimizers_for(config: ml_collections.ConfigDict) -> dict:
  """{name: (optax transformation, groups)}: one optimizer of config.optimizer per player."""
  tx = make_optimizer(config)
  return {"discriminator": (tx, ("discriminator",)), "generator": (tx, ("generator",))}


def fixed_latents(config: ml_collections.ConfigDict, num: int = 64) -> jax.Array:
  """The z used for every sample grid of a run: [num, latent_dim], from config.seed."""
  return jax.random.normal(jax.random.fold_in(jax.random.key(config.seed), 1), (num, config.latent_dim))


@functools.partial(jax.jit, static_argnums=0)
def generate(generator: nn.Module, params: Any, batch_stats: Any, z: jax.Array) -> jax.Array:
  """x_fake = G(z) in inference mode (BatchNorm running averages): [B, 28, 28, 1] in [-1, 1]."""
  return generator.apply({"params": params, "batch_stats": batch_stats}, z, train=False)


def to_uint8(x: jax.Array) -> np.ndarray:
  """[-1, 1] float images [N, 28, 28, 1] -> uint8 [N, 28, 28] (round to nearest grey level)."""
  x = np.asarray(x, np.float32).reshape(x.shape[0], x.shape[1], x.shape[2])
  return np.clip(np.round((x + 1.0) * 127.5), 0, 255).astype(np.uint8)


# Fields that may change between a run and its resumption.
RESUMABLE_FIELDS = ("num_epochs", "max_steps", "accelerator", "parallelism", "sample_every_epochs",
                    "checkpoint_every_steps", "keep_checkpoints", "log_every_steps", "data_dir", "show_progress")


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
    if name not in RESUMABLE_FIELDS and saved.get(name) != new.get(name):
      raise ConfigError(f"{workdir} holds a run with {name}={saved.get(name)!r}, not {new.get(name)!r}; "
                        f"rerun with the same settings to resume, or use a new --workdir")


def write_json(path: str, obj: Any) -> None:
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    json.dump(obj, f, indent=2, sort_keys=True)
  os.replace(tmp, path)


def train(config: ml_collections.ConfigDict, workdir: str) -> dict:
  """Trains a GAN from `config` in `workdir`, resuming from its latest checkpoint.

  Writes: checkpoints/, config.json, metrics.jsonl, samples_epoch_XXX.png (an 8x8
  grid from one fixed z, every config.sample_every_epochs epochs and at the end),
  curves.png.

  Returns:
    {"steps": final step, "epochs": epochs done (fractional), "metrics": last logged metrics}.
  Raises:
    GanJaxError subclasses for bad input (see gan_jax.errors).
  """
  devices = parallel.resolve_accelerator(config.accelerator)
  dp = parallel.DataParallel(config.parallelism, devices)
  dp.check_batch_size(config.batch_size)
  images, _ = data.load(config.dataset, "train", data_dir=config.data_dir or None)
  generator = build_generator(config, batch_norm_axis_name=dp.batch_norm_axis_name)
  discriminator = build_discriminator(config)
  eval_generator = build_generator(config)

  k = config.k_d_steps
  images_per_step = config.batch_size * k
  steps_per_epoch = data.steps_per_epoch(len(images), images_per_step)
  num_steps = config.num_epochs * steps_per_epoch
  if config.max_steps:
    num_steps = min(num_steps, config.max_steps)

  os.makedirs(workdir, exist_ok=True)
  check_same_run(workdir, config)
  is_writer = jax.process_index() == 0
  checkpointer = ckpt.Checkpointer(workdir, config.checkpoint_every_steps, config.keep_checkpoints)
  state = init_state(config, generator, discriminator)
  start_step = 0
  if checkpointer.latest_step() is not None:
    state = checkpointer.restore(state)
    start_step = int(state.step)
    print(f"gan_jax: resuming {workdir} from step {start_step}")
  if is_writer:
    write_json(os.path.join(workdir, "config.json"), json.loads(config.to_json()))
  metrics_log = MetricsLog(os.path.join(workdir, "metrics.jsonl"))
  if is_writer:
    metrics_log.truncate(start_step)

  train_step = dp.wrap(make_train_step(
      gan_phases(generator, discriminator, latent_dim=config.latent_dim, k_d_steps=k,
                 generator_loss=losses.GENERATOR_LOSSES[config.loss]),
      optimizers_for(config), dp.collective))
  data_key = jax.random.fold_in(jax.random.key(config.seed), 2)

  @functools.lru_cache(maxsize=2)
  def epoch_indices(epoch: int) -> np.ndarray:
    return data.epoch_batch_indices(data_key, epoch, len(images), images_per_step)

  def get_batch(step: int) -> dict:
    idx = epoch_indices(step // steps_per_epoch)[step % steps_per_epoch]
    x = data.to_gan_range(images[idx])
    return {"x": x.reshape((config.batch_size, k) + x.shape[1:])}

  z_fixed = fixed_latents(config)

  def write_figures(epoch: int, host_state: TrainState) -> None:
    if not is_writer:
      return
    x = generate(eval_generator, host_state.params["generator"], host_state.batch_stats["generator"], z_fixed)
    plots.save_image_grid(np.asarray(x), os.path.join(workdir, f"samples_epoch_{epoch:03d}.png"),
                          title=f"{config.dataset} {config.model}, epoch {epoch}")
    plots.plot_gan_curves(metrics_log.read(), os.path.join(workdir, "curves.png"),
                          smoothing=max(1, steps_per_epoch // (4 * config.log_every_steps)))

  def on_epoch_end(epoch: int, device_state: Any) -> None:
    if epoch % config.sample_every_epochs == 0:
      write_figures(epoch, dp.get_state(device_state))

  def on_step_end(step: int, device_state: Any) -> None:
    checkpointer.save_if_due(step, lambda: dp.get_state(device_state))

  device_state = train_loop(
      state=dp.put_state(state), start_step=start_step, train_step=train_step, put_batch=dp.put_batch,
      get_metrics=dp.get_metrics, get_batch=get_batch, num_steps=num_steps, steps_per_epoch=steps_per_epoch,
      images_per_step=images_per_step, metrics_log=metrics_log if is_writer else None,
      log_every_steps=config.log_every_steps, on_epoch_end=on_epoch_end, on_step_end=on_step_end,
      show_progress=config.show_progress and is_writer)
  host_state = dp.get_state(device_state)
  checkpointer.save(num_steps, host_state)
  checkpointer.wait()
  checkpointer.close()
  final_epoch = math.ceil(num_steps / steps_per_epoch)
  if start_step < num_steps and (num_steps % steps_per_epoch or final_epoch % config.sample_every_epochs):
    write_figures(final_epoch, host_state)
  records = metrics_log.read()
  return {"steps": num_steps, "epochs": num_steps / steps_per_epoch, "metrics": records[-1] if records else {}}
