"""The (denoising) autoencoder as one train-step phase, its training run and its code as features.

Encoder x~ -> h, decoder h -> r, trained to reconstruct the clean x from a
corrupted x~ (Vincent et al. 2008; no corruption gives the plain autoencoder).
Loss per image: L2, ||sigmoid(logits) - x||^2, or the cross-entropy of
Bernoulli pixels (sigmoid outputs), summed over pixels.
"""

import os
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gan_jax import data, files, losses, metrics, plots, rng
from gan_jax.batching import batched
from gan_jax.errors import ConfigError
from gan_jax.models.autoencoder import ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder
from gan_jax.parallel import SINGLE_DEVICE
from gan_jax.train import Context, Model, Phase, TrainState, create_train_state, example_keys, make_optimizer

RECON_LOSSES = ("l2", "bce")


def build_modules(config: ml_collections.ConfigDict):
  """Encoder and decoder of config.arch ("mlp" or "conv").

  Raises:
    ConfigError: unknown arch, recon_loss or corruption; tied weights with the conv arch.
  """
  if config.recon_loss not in RECON_LOSSES:
    raise ConfigError(f"unknown --recon_loss={config.recon_loss!r}; choose l2 or bce")
  if config.corruption not in losses.CORRUPTIONS:
    raise ConfigError(f"unknown --corruption={config.corruption!r}; choose one of {', '.join(losses.CORRUPTIONS)}")
  if config.arch == "mlp":
    return (MLPEncoder(config.code_dim, tuple(config.features), config.activation),
            MLPDecoder(tuple(config.features), config.activation))
  if config.arch == "conv":
    if config.tied_weights:
      raise ConfigError("--tied_weights needs --arch=mlp (a convolutional decoder has no transposed-weights form)")
    return ConvEncoder(config.code_dim), ConvDecoder()
  raise ConfigError(f"unknown --arch={config.arch!r}; choose mlp or conv")


def _tied(config, params):
  if not config.tied_weights:
    return None
  enc = params["encoder"]
  return [enc[f"layer_{i}"]["kernel"] for i in range(len(enc))]


def reconstruction_loss(config, logits: jax.Array, x: jax.Array) -> jax.Array:
  """[B] per-image loss of config.recon_loss: "l2" (squared pixel units) or "bce" (nats)."""
  if config.recon_loss == "bce":
    return losses.bernoulli_nll(logits, x)
  return losses.squared_error(jax.nn.sigmoid(logits), x)


def autoencode(config, encoder, decoder, params: Any, x: jax.Array, key: jax.Array, collective=SINGLE_DEVICE):
  """(x_tilde, code h, logits) for clean images x [B, 28, 28, 1] in [0, 1]; key drives the corruption."""
  x_tilde = losses.corrupt(example_keys(key, x.shape[0], collective), x, config.corruption,
                           config.corruption_level)
  h = encoder.apply({"params": params["encoder"]}, x_tilde)
  logits = decoder.apply({"params": params["decoder"]}, h, tied_kernels=_tied(config, params))
  return x_tilde, h, logits


def autoencoder_phase(config, encoder, decoder) -> Phase:
  """One phase over encoder and decoder. Batch {"x": [B, 28, 28, 1] in [0, 1]}. Metrics: loss, recon_loss."""
  def loss_fn(params, batch_stats, batch, key, collective=SINGLE_DEVICE):
    del batch_stats
    x = batch["x"]
    _, _, logits = autoencode(config, encoder, decoder, params, x, key, collective)
    loss = jnp.mean(reconstruction_loss(config, logits, x))
    return loss, ({}, {"loss": loss, "recon_loss": loss})
  return Phase("autoencoder", ("encoder", "decoder"), loss_fn)


def optimizers_for(config: ml_collections.ConfigDict) -> dict:
  """{name: (optax transformation, groups)}: one optimizer of config.optimizer for encoder and decoder.

  Raises:
    ConfigError: unknown config.optimizer (see gan_jax.train.make_optimizer).
  """
  return {"autoencoder": (make_optimizer(config), ("encoder", "decoder"))}


def init_state(config, encoder, decoder, optimizers: dict) -> TrainState:
  """A fresh autoencoder TrainState from config.seed, with the states of `optimizers` (from `optimizers_for`)."""
  e_key, d_key, run_key = jax.random.split(rng.key(config.seed, rng.Stream.INIT), 3)
  enc = encoder.init(e_key, jnp.zeros((2,) + data.IMAGE_SHAPE))["params"]
  tied = [enc[f"layer_{i}"]["kernel"] for i in range(len(enc))] if config.tied_weights else None
  dec = decoder.init(d_key, jnp.zeros((2, config.code_dim)), tied_kernels=tied)["params"]
  return create_train_state({"encoder": enc, "decoder": dec}, {},
                            optimizers, run_key)


def make_evaluator(config, encoder, decoder, batch_size: int = 1000):
  """evaluate(params, images) -> mean per-image reconstruction loss on held-out images.

  The returned function compiles once; per call it reports the loss from corrupted
  inputs ("loss", the training objective) and from clean ones ("clean_loss").
  images: uint8 [N, 28, 28].
  """
  @jax.jit
  def example_losses(params, x, key):
    _, _, logits = autoencode(config, encoder, decoder, params, x, key)
    clean_logits = decoder.apply({"params": params["decoder"]}, encoder.apply({"params": params["encoder"]}, x),
                                 tied_kernels=_tied(config, params))
    return reconstruction_loss(config, logits, x), reconstruction_loss(config, clean_logits, x)

  def evaluate(params, images: np.ndarray) -> dict:
    key = jax.random.key(config.seed)
    loss, clean = batched(lambda start, x: example_losses(params, data.to_unit_range(x), jax.random.fold_in(key, start)),
                          images, batch_size=batch_size)
    return {"loss": float(np.mean(loss)), "clean_loss": float(np.mean(clean))}

  return evaluate


def encode(encoder, params, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
  """Codes of clean images: uint8 [N, 28, 28] -> float32 [N, code_dim]."""
  apply = jax.jit(lambda x: encoder.apply({"params": params["encoder"]}, x))
  return batched(lambda start, x: apply(data.to_unit_range(x)), images, batch_size=batch_size)


def _corruption_label(config) -> str:
  if config.corruption == "none":
    return "input to encoder\n(no corruption)"
  return f"corrupted\n({config.corruption} {config.corruption_level:g})"


def build_model(ctx: Context) -> Model:
  """The (denoising) autoencoder that `gan_jax.experiment.run` trains (also timed by benchmarks.run).

  Writes, besides the run's files: test_loss and test_clean_loss per epoch
  in metrics.jsonl; curves.png; reconstructions_epoch_XXX.png (rows: input,
  corrupted input, reconstruction); features.json (k-means accuracy of the codes
  of the first config.kmeans_examples test images, and of their raw pixels for
  comparison); code_scatter.png.
  """
  config, workdir = ctx.config, ctx.workdir
  encoder, decoder = build_modules(config)
  test_images, test_labels = data.load(config.dataset, "test", data_dir=config.data_dir or None)
  evaluate = make_evaluator(config, encoder, decoder)

  def epoch_figures(epoch: int, state: TrainState) -> None:
    x = data.to_unit_range(test_images[:10])
    x_tilde, _, logits = autoencode(config, encoder, decoder, state.params, x,
                                    rng.key(config.seed, rng.Stream.RECONSTRUCTIONS))
    plots.save_image_rows([x, np.asarray(x_tilde), np.asarray(jax.nn.sigmoid(logits))],
                          ["input", _corruption_label(config), "reconstruction"],
                          os.path.join(workdir, f"reconstructions_epoch_{epoch:03d}.png"),
                          title=f"{config.dataset} {config.arch} autoencoder ({config.recon_loss}), epoch {epoch}",
                          value_range=(0.0, 1.0))
    plots.plot_vae_curves(ctx.metrics_log.read(), os.path.join(workdir, "curves.png"),
                          loss_label=f"reconstruction loss ({config.recon_loss}, per image)", terms=())

  def final_figures(epoch: int, state: TrainState) -> None:
    n = config.kmeans_examples
    codes = encode(encoder, state.params, test_images)
    result = {"epoch": epoch, "code_dim": config.code_dim, "kmeans_examples": n,
              "kmeans_accuracy_codes": metrics.kmeans_accuracy(codes[:n], test_labels[:n], config.seed),
              "kmeans_accuracy_pixels": metrics.kmeans_accuracy(test_images[:n].reshape(n, -1) / 255.0,
                                                        test_labels[:n], config.seed)}
    files.write_json(os.path.join(workdir, "features.json"), result)
    plots.save_latent_scatter(codes, test_labels, os.path.join(workdir, "code_scatter.png"),
                              title=f"test-set codes (first 2 PCs), epoch {epoch}")

  optimizers = optimizers_for(config)
  return Model(
      init_state=lambda: init_state(config, encoder, decoder, optimizers),
      phases=[autoencoder_phase(config, encoder, decoder)],
      optimizers=optimizers,
      make_batch=lambda images, labels: {"x": data.to_unit_range(images)},
      epoch_figures=epoch_figures, final_figures=final_figures,
      evaluate=lambda epoch, state: evaluate(state.params, test_images))
