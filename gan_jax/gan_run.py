"""The GAN as a training run: the model `gan_jax.experiment.run` trains, its figures and its summary.

The game itself (phases, state, optimizers, samples) is `gan_jax.gan`; this
module adds what a run shows people: the fixed-z sample grid every epoch, the
loss curves, in-training scores, and the course's end-of-run figures.
"""

import os
from typing import Optional

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gan_jax import data, evaluation, files, metrics, models, plots, rng, sampling
from gan_jax.batching import batched
from gan_jax.errors import ConfigError
from gan_jax.gan import (averages_for, discriminator_variables, fixed_latents, gan_loss, generate, init_state, interpolate,
                         label_arguments, optimizers_for, phases_for, samples, sampling_variables,
                         split_discriminator_output)
from gan_jax.models import build_discriminator, build_generator
from gan_jax.models.conditional import PlaneDiscriminator
from gan_jax.train import Context, Model, TrainState

MILESTONE_EPOCHS = (1, 10, 20, 50, 100)


def write_course_figures(workdir: str, config: ml_collections.ConfigDict, generator: nn.Module,
                         discriminator: nn.Module, state: TrainState, train_images: np.ndarray,
                         last_epoch: int, num_images: int = 2000, train_labels: Optional[np.ndarray] = None) -> None:
  """The course's pictures of a trained GAN, written to `workdir`.

  samples_progress.png: the fixed-z samples of epochs 1, 10, 20, 50, 100 (those
    reached) and the last, side by side.
  d_histogram.png: D's outputs (no dropout) on `num_images` training images and as
    many generated ones.
  interpolation.png: G along linear and spherical paths between 4 pairs of z.
  nearest_neighbors.png: 8 samples, each beside its 5 nearest training images
    (L2 in pixel space): a generator that memorised would show near-copies.
  A class-conditional G draws sample i with class i % 10 (an interpolation path keeps its
  pair's class); a CGAN D sees the training images' labels (`train_labels`).
  """
  kind = models.conditioning(config)
  classes = lambda n: (jnp.arange(n) % models.NUM_CLASSES,) if kind else ()
  g_params, g_stats = sampling_variables(state)
  progress = {}
  for epoch in sorted(set(MILESTONE_EPOCHS) | {last_epoch}):
    path = os.path.join(workdir, f"samples_epoch_{epoch:03d}.npz")
    if epoch <= last_epoch and os.path.exists(path):
      progress[epoch] = np.load(path)["images"]
  if progress:
    plots.save_sample_progress(progress, os.path.join(workdir, "samples_progress.png"), value_range=(0, 255))

  key = rng.key(config.seed, rng.Stream.FIGURES)
  z_key, x_key, pair_key, nn_key = jax.random.split(key, 4)
  loss = gan_loss(config)
  z = jax.random.normal(z_key, (num_images, config.latent_dim))
  x_fake = generate(generator, g_params, g_stats, z, *classes(num_images))
  real = np.asarray(jax.random.choice(x_key, len(train_images), (num_images,), replace=False))
  x_real = data.to_gan_range(train_images[real])
  d_variables = discriminator_variables(state)
  d_apply = jax.jit(lambda x, labels, z: loss.d_output(split_discriminator_output(discriminator.apply(
      d_variables, x, train=False, **label_arguments(labels, z)))[0]))
  cgan = kind == "cgan"  # D(x, y): real images with their labels, generated ones with those G was given
  bigan = config.get("bigan")  # D(x, z): real images with E(x), generated ones with their z
  d_real = d_apply(x_real, jnp.asarray(train_labels[real], jnp.int32) if cgan else None,
                   encode(config, state, train_images[real]) if bigan else None)
  d_fake = d_apply(x_fake, classes(num_images)[0] if cgan else None, z if bigan else None)
  is_prob = config.loss in ("minimax", "non_saturating")
  plots.save_histograms({"D(x), real": np.asarray(d_real), "D(G(z)), generated": np.asarray(d_fake)},
                        os.path.join(workdir, "d_histogram.png"),
                        xlabel="D output" + (" (probability of real)" if is_prob else " (raw)"),
                        title=f"D on real and generated images, epoch {last_epoch}", reference=0.5 if is_prob else None)

  pairs = jax.random.normal(pair_key, (4, 2, config.latent_dim))
  rows, labels = [], []
  for i, (z0, z1) in enumerate(pairs):
    for method in ("linear", "spherical"):
      path_classes = (jnp.full((10,), i % models.NUM_CLASSES, jnp.int32),) if kind else ()
      rows.append(np.asarray(generate(generator, g_params, g_stats, interpolate(z0, z1, 10, method), *path_classes)))
      labels.append(f"pair {i + 1}\n{method}")
  plots.save_image_rows(rows, labels, os.path.join(workdir, "interpolation.png"),
                        title=f"interpolation in z, epoch {last_epoch}")

  samples = np.asarray(generate(generator, g_params, g_stats, jax.random.normal(nn_key, (8, config.latent_dim)),
                                *classes(8)))
  distances, indices = metrics.nearest_neighbors(samples, data.to_gan_range(train_images), k=5)
  rows = [np.concatenate([s[None], data.to_gan_range(train_images[idx])]) for s, idx in zip(samples, indices)]
  labels = [f"G(z) | 5 nearest\nL2 {d[0]:.1f}-{d[-1]:.1f}" for d in distances]
  plots.save_image_rows(rows, labels, os.path.join(workdir, "nearest_neighbors.png"),
                        title="generated (left) and its nearest training images, L2 in [-1, 1] pixels")


def encode(config: ml_collections.ConfigDict, state: TrainState, images: np.ndarray,
           batch_size: int = 1000) -> np.ndarray:
  """BiGAN's encoder on images: z = E(x). uint8 [N, 28, 28] -> float32 [N, latent_dim]."""
  encoder = models.build_encoder(config)
  return _apply_to_images(lambda x: encoder.apply({"params": state.params["encoder"]}, x, train=False), images,
                          batch_size)


def _apply_to_images(fn, images: np.ndarray, batch_size: int) -> np.ndarray:
  """fn (jitted) on uint8 images [N, 28, 28] in batches, each mapped to the GAN range [-1, 1] first."""
  apply = jax.jit(fn)
  return batched(lambda start, x: apply(data.to_gan_range(x)), images, batch_size=batch_size)


def write_bigan_reconstructions(workdir: str, config: ml_collections.ConfigDict, generator: nn.Module,
                                state: TrainState, images: np.ndarray, epoch: int, per_row: int = 10) -> str:
  """bigan_reconstructions.png: rows of images x (uint8 [N, 28, 28], N a multiple of per_row, e.g. test
  images) each above G(E(x)), BiGAN's reconstructions (Donahue et al. 2016, Figure 3: they keep what
  the image shows more than its pixels). Returns the path."""
  x_recon = np.asarray(generate(generator, *sampling_variables(state), jnp.asarray(encode(config, state, images))))
  rows, labels = [], []
  for start in range(0, len(images), per_row):
    rows += [data.to_gan_range(images[start:start + per_row]), x_recon[start:start + per_row]]
    labels += ["x", "G(E(x))"]
  path = os.path.join(workdir, "bigan_reconstructions.png")
  plots.save_image_rows(rows, labels, path, title=f"BiGAN, epoch {epoch}: test images and G(E(x))")
  return path


def discriminator_features(discriminator: nn.Module, state: TrainState, images: np.ndarray,
                           batch_size: int = 1000) -> np.ndarray:
  """D's penultimate features (its last hidden layer, flattened; inference mode), the representation
  Radford et al. 2016 (Section 5.1) take from a DCGAN's D: uint8 [N, 28, 28] -> float32 [N, F].
  Raises ConfigError for a D that needs more than x (CGAN's labels, BiGAN's z)."""
  if isinstance(discriminator, PlaneDiscriminator):
    raise ConfigError("D's features need a D of x alone; this run's D also takes labels or z")
  variables = discriminator_variables(state)
  return _apply_to_images(lambda x: discriminator.apply(variables, x, train=False, mutable=["intermediates"])[1][
      "intermediates"]["features"][0], images, batch_size)


def q_categories(discriminator: nn.Module, state: TrainState, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
  """InfoGAN's Q head on images: the categorical code it infers for each, argmax Q(c_cat | x) (D in
  inference mode, no dropout). uint8 [N, 28, 28] -> int [N] in [0, INFO_CATEGORIES)."""
  variables = discriminator_variables(state)
  return _apply_to_images(lambda x: jnp.argmax(discriminator.apply(variables, x, train=False)[1][
      :, :models.INFO_CATEGORIES], -1), images, batch_size)


def q_test_accuracy(discriminator: nn.Module, state: TrainState, test_images: np.ndarray,
                    test_labels: np.ndarray) -> float:
  """InfoGAN's unsupervised score (Chen et al. 2016, Section 7.1: 5% error on MNIST): the accuracy of
  Q's categorical code on the test images against their labels, under the best one-to-one matching
  of codes to classes (`gan_jax.metrics.clustering_accuracy`). Float in [0, 1]."""
  return metrics.clustering_accuracy(np.asarray(test_labels, np.int64),
                                     np.asarray(q_categories(discriminator, state, test_images), np.int64))


def write_infogan_figures(workdir: str, config: ml_collections.ConfigDict, generator: nn.Module, state: TrainState,
                          epoch: int, num_columns: int = 10) -> list[str]:
  """InfoGAN's latent-code figures, as in the paper's Figure 2: infogan_code_J.png for each continuous
  code J (1-based), rows c_cat = 0..9, columns c_J from -2 to 2 (twice its training range), the
  other continuous codes 0 and the noise fixed (one z of the FIGURES stream for the whole figure).
  Returns the paths written."""
  g_params, g_stats = sampling_variables(state)
  render = jax.jit(lambda z, labels, continuous: generator.apply(
      {"params": g_params, "batch_stats": g_stats}, z, labels, train=False, continuous=continuous))
  z = jnp.tile(jax.random.normal(rng.key(config.seed, rng.Stream.FIGURES), (1, config.latent_dim)), (num_columns, 1))
  values = jnp.linspace(-2.0, 2.0, num_columns)
  paths = []
  for j in range(models.INFO_CONTINUOUS):
    continuous = jnp.zeros((num_columns, models.INFO_CONTINUOUS)).at[:, j].set(values)
    rows = [np.asarray(render(z, jnp.full((num_columns,), c, jnp.int32), continuous))
            for c in range(models.INFO_CATEGORIES)]
    path = os.path.join(workdir, f"infogan_code_{j + 1}.png")
    plots.save_image_rows(rows, [f"c_cat = {c}" for c in range(models.INFO_CATEGORIES)], path,
                          title=f"InfoGAN, epoch {epoch}: continuous code {j + 1} from -2 to 2 (columns)")
    paths.append(path)
  return paths


def summary(workdir: str, steps: int, epochs: float, records: list[dict], eval_samples: int) -> str:
  """The lines a GAN run prints at its end: its figures, its training time, its last in-training FID.

  Args:
    workdir: the run's directory.
    steps, epochs: train steps and epochs done.
    records: the run's metrics.jsonl records.
    eval_samples: samples of each in-training evaluation.
  Returns:
    a multi-line str.
  """
  last = next((r for r in reversed(records) if "train_seconds" in r and "d_loss" in r), None)
  minutes = f" in {last['train_seconds'] / 60:.1f} min of training" if last else ""
  lines = [f"gan_jax: {steps} steps ({epochs:g} epochs){minutes}; figures in {workdir}/: samples_epoch_*.png, "
           f"samples_progress.png, curves.png, interpolation.png, nearest_neighbors.png, d_histogram.png"]
  scored = [r for r in records if "test_fid" in r]
  if scored:
    r = scored[-1]
    lines.append(f"gan_jax: FID {r['test_fid']:.1f} at epoch {r['epoch']:g} ({eval_samples} samples against the "
                 f"test split, LeNet features; {r['test_classes_covered']}/10 classes covered); FID by time in "
                 f"fid_curve.png")
  lines.append(f"gan_jax: scores of 10,000 samples: python -m experiments.evaluate --workdir={workdir}")
  return "\n".join(lines)


def build_model(ctx: Context) -> Model:
  """The GAN that `gan_jax.experiment.run` trains (also timed by benchmarks.run).

  Writes, besides the run's files: samples_epoch_XXX.png (an 8x8 grid from one
  fixed z, every config.sample_every_epochs epochs and at the end; the images
  also as samples_epoch_XXX.npz), curves.png, fid_curve.png (with in-training
  evaluation), and at the end the figures of `write_course_figures`.
  """
  config, workdir = ctx.config, ctx.workdir
  generator = build_generator(config, batch_norm_axis_name=ctx.dp.batch_norm_axis_name)
  discriminator = build_discriminator(config, batch_norm_axis_name=ctx.dp.batch_norm_axis_name)
  eval_generator, eval_discriminator = build_generator(config), build_discriminator(config)
  optimizers = optimizers_for(config, ctx.schedule.steps_per_epoch)
  k = config.k_d_steps
  kind = models.conditioning(config)
  class_labels = kind in models.CLASS_CONDITIONINGS  # trained on the data's labels (InfoGAN is not)
  bigan = bool(config.get("bigan"))
  num_classes = models.NUM_CLASSES if kind else 0
  z_fixed, fixed_classes = fixed_latents(config), ()
  if kind:  # one row per class (InfoGAN: per categorical code), the same 8 z in every row
    z_fixed = jnp.tile(z_fixed[:8], (num_classes, 1))
    fixed_classes = (jnp.repeat(jnp.arange(num_classes, dtype=jnp.int32), 8),)

  def make_batch(images: np.ndarray, labels: np.ndarray) -> dict:
    x = data.to_gan_range(images)
    batch = {"x": x.reshape((-1, k) + x.shape[1:])}  # [rows of the batch, k D steps' images, 28, 28, 1]
    if class_labels:
      batch["y"] = labels.astype(np.int32).reshape(-1, k)
    return batch

  def epoch_figures(epoch: int, state: TrainState) -> None:
    x = generate(eval_generator, *sampling_variables(state), z_fixed, *fixed_classes)
    grid = os.path.join(workdir, f"samples_epoch_{epoch:03d}.png")
    rows = "rows: categorical code 0-9" if kind == "infogan" else "rows: classes 0-9"
    what = f"{config.arch} ({config.loss}{', ' + kind.upper() + ', ' + rows if kind else ''}{', BiGAN' if bigan else ''})"
    plots.save_image_grid(np.asarray(x), grid, title=f"{config.dataset} {what}, epoch {epoch}")
    ctx.metrics_log.image("samples_fixed_z", grid, int(state.step))
    npz = os.path.join(workdir, f"samples_epoch_{epoch:03d}.npz")
    files.write_npz(npz, images=data.gan_range_to_uint8(x))
    records = ctx.metrics_log.read()
    plots.plot_gan_curves(records, os.path.join(workdir, "curves.png"),
                          smoothing=max(1, ctx.schedule.steps_per_epoch // (4 * config.log_every_steps)))
    if any("test_fid" in r for r in records):
      plots.plot_fid_during_training(records, os.path.join(workdir, "fid_curve.png"),
                                     title=f"{config.dataset} {config.arch} ({config.loss}): FID of "
                                           f"{config.eval_samples} samples against the test split")

  test_split = []  # InfoGAN's and BiGAN's (test images, labels), loaded once

  def test_data() -> tuple[np.ndarray, np.ndarray]:
    if not test_split:
      test_split.extend(data.load(config.dataset, "test", data_dir=config.data_dir or None))
    return test_split[0], test_split[1]

  def infogan_accuracy(state: TrainState) -> float:
    return q_test_accuracy(eval_discriminator, state, *test_data())

  def final_figures(epoch: int, state: TrainState) -> None:
    write_course_figures(workdir, config, eval_generator, discriminator, state, ctx.train_images, epoch,
                         train_labels=ctx.train_labels)
    if bigan:
      write_bigan_reconstructions(workdir, config, eval_generator, state, test_data()[0][:40], epoch)
    if kind == "infogan":
      write_infogan_figures(workdir, config, eval_generator, state, epoch)
      files.write_json(os.path.join(workdir, "infogan.json"), {
          "epoch": epoch, "step": int(state.step), "q_test_accuracy": infogan_accuracy(state),
          "what": "accuracy of Q's categorical code on the test split, codes matched to classes (Hungarian)"})

  evaluate = None
  if config.get("eval_every_epochs") or config.get("eval_every_steps"):
    evaluate = evaluation.TrainingEvaluator(config, workdir, lambda state, num_samples, seed: samples(
        eval_generator, *sampling_variables(state), config.latent_dim, num_samples, seed, num_classes),
        labels=(lambda n: sampling.sample_labels(n, num_classes)) if class_labels else None)
    if kind == "infogan":
      score_samples = evaluate
      evaluate = lambda epoch, state: {**score_samples(epoch, state), "q_accuracy": infogan_accuracy(state)}

  return Model(
      init_state=lambda: init_state(config, generator, discriminator, optimizers),
      phases=phases_for(config, generator, discriminator),
      optimizers=optimizers, averages=averages_for(config), make_batch=make_batch,
      epoch_figures=epoch_figures, final_figures=final_figures, evaluate=evaluate)
