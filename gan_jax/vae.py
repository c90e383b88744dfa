"""The VAE (Kingma & Welling 2014) as one train-step phase, and its training run.

Bernoulli decoder on grey values in [0, 1]; Gaussian posterior q(z|x), diagonal
(the paper) or full covariance (Kingma & Welling 2019, Algorithm 2). The loss is
the negative ELBO in nats per image: reconstruction (-log p(x|z), one sample of
z) plus KL(q(z|x) || p(z)), the KL in closed form for the diagonal posterior and
as log q(z|x) - log p(z) at the sample (Algorithm 2) for the full one.
"""

import functools
import os
from typing import Any

import jax
import jax.numpy as jnp
import jax.scipy.stats
import ml_collections
import numpy as np

from gan_jax import data, losses, plots, rng, sampling
from gan_jax.batching import batched
from gan_jax.errors import ConfigError
from gan_jax.models.vae import VAEDecoder, VAEEncoder
from gan_jax.parallel import SINGLE_DEVICE, Collective
from gan_jax.train import Context, Model, Phase, TrainState, create_train_state, example_keys, make_optimizer

# With dynamic binarization, the pixels' Bernoulli draws come from fold_in(phase key, BINARIZE_STREAM);
# the phase key itself draws the reparameterization noise.
BINARIZE_STREAM = 1


def build_modules(config: ml_collections.ConfigDict) -> tuple[VAEEncoder, VAEDecoder]:
  """Encoder and decoder from config.latent_dim, encoder_features, decoder_features, posterior."""
  return (VAEEncoder(latent_dim=config.latent_dim, features=tuple(config.encoder_features), posterior=config.posterior),
          VAEDecoder(features=tuple(config.decoder_features)))


def negative_elbo(encoder: VAEEncoder, decoder: VAEDecoder, params: Any, x: jax.Array,
                  keys: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Per-example reconstruction loss and KL of a one-sample ELBO estimate (Kingma & Welling 2014, eq. 10).

  Args:
    params: {"encoder": ..., "decoder": ...}.
    x: [B, 28, 28, 1] float32 in [0, 1].
    keys: [B] typed PRNG keys, one per example (the reparameterization noise).
  Returns:
    (recon [B], kl [B]) float32 nats; -ELBO = recon + kl.
  """
  encoded = encoder.apply({"params": params["encoder"]}, x)
  mean, logvar = encoded[0], encoded[1]
  l_prime = encoded[2] if len(encoded) == 3 else None
  z, eps = losses.reparameterize(keys, mean, logvar, l_prime)
  recon = losses.bernoulli_nll(decoder.apply({"params": params["decoder"]}, z), x)
  if l_prime is None:
    kl = losses.gaussian_kl(mean, logvar)
  else:
    kl = losses.gaussian_log_q(eps, logvar) - losses.standard_normal_log_p(z)
  return recon, kl


def vae_phase(encoder: VAEEncoder, decoder: VAEDecoder, binarize: bool = False) -> Phase:
  """One phase over encoder and decoder minimising -ELBO. Batch {"x": [B, 28, 28, 1] in [0, 1]}.

  With `binarize`, each step trains on a fresh stochastic binarization of the batch
  (pixel = 1 with probability x; "dynamically binarized MNIST"), drawn per example.

  Metrics: loss = -elbo, elbo, recon_loss, kl (nats per image, batch means).
  """
  def loss_fn(params, batch_stats, batch, key, collective: Collective = SINGLE_DEVICE):
    del batch_stats
    x = batch["x"]
    if binarize:
      x = jax.vmap(lambda k, xi: jax.random.bernoulli(k, xi).astype(xi.dtype))(
          example_keys(jax.random.fold_in(key, BINARIZE_STREAM), x.shape[0], collective), x)
    recon, kl = negative_elbo(encoder, decoder, params, x, example_keys(key, x.shape[0], collective))
    loss = jnp.mean(recon + kl)
    return loss, ({}, {"loss": loss, "elbo": -loss, "recon_loss": jnp.mean(recon), "kl": jnp.mean(kl)})
  return Phase("vae", ("encoder", "decoder"), loss_fn)


def optimizers_for(config: ml_collections.ConfigDict) -> dict:
  """{name: (optax transformation, groups)}: one optimizer of config.optimizer for encoder and decoder.

  Raises:
    ConfigError: unknown config.optimizer (see gan_jax.train.make_optimizer).
  """
  return {"vae": (make_optimizer(config), ("encoder", "decoder"))}


def init_state(config: ml_collections.ConfigDict, encoder: VAEEncoder, decoder: VAEDecoder,
               optimizers: dict) -> TrainState:
  """A fresh VAE TrainState from config.seed, with the states of `optimizers` (from `optimizers_for`)."""
  e_key, d_key, run_key = jax.random.split(rng.key(config.seed, rng.Stream.INIT), 3)
  params = {"encoder": encoder.init(e_key, jnp.zeros((2,) + data.IMAGE_SHAPE))["params"],
            "decoder": decoder.init(d_key, jnp.zeros((2, config.latent_dim)))["params"]}
  return create_train_state(params, {}, optimizers, run_key)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _example_elbo_terms(encoder, decoder, params, x, key):
  return negative_elbo(encoder, decoder, params, x, example_keys(key, x.shape[0]))


def evaluate(encoder: VAEEncoder, decoder: VAEDecoder, params: Any, images: np.ndarray, seed: int = 0,
             batch_size: int = 1000, binarized: bool = False) -> dict:
  """Negative ELBO on held-out images, with its two terms, in nats per image (one z sample each).

  Args:
    images: uint8 [N, 28, 28].
    binarized: score a fixed stochastic binarization of the images (data.binarize, seed 0).
  Returns:
    {"loss": -ELBO, "recon_loss", "kl"} as floats, means over the N images.
  """
  key = jax.random.key(seed)
  x_all = data.binarize(images) if binarized else data.to_unit_range(images)
  recon, kl = batched(lambda start, x: _example_elbo_terms(encoder, decoder, params, x, jax.random.fold_in(key, start)),
                      x_all, batch_size=batch_size)
  return {"loss": float(np.mean(recon + kl)), "recon_loss": float(np.mean(recon)), "kl": float(np.mean(kl))}


def encode_means(encoder: VAEEncoder, params: Any, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
  """The means of q(z|x), the VAE's representation of images: uint8 [N, 28, 28] -> float32 [N, latent_dim]."""
  means = jax.jit(lambda x: encoder.apply({"params": params["encoder"]}, x)[0])
  return batched(lambda start, x: means(data.to_unit_range(x)), images, batch_size=batch_size)


def write_figures(workdir: str, config, encoder, decoder, params, test_images, test_labels, epoch: int) -> None:
  """reconstructions.png, latent_manifold.png (2-D latents) and latent_scatter.png of the model at `epoch`."""
  decode = jax.jit(lambda z: jax.nn.sigmoid(decoder.apply({"params": params["decoder"]}, z)))
  x = data.to_unit_range(test_images[:25])
  plots.save_side_by_side([x, np.asarray(decode(encode_means(encoder, params, test_images[:25])))],
                          ["test images", "reconstructions"],
                          os.path.join(workdir, "reconstructions.png"), num_columns=5,
                          title=f"VAE, latent {config.latent_dim}, epoch {epoch}")
  if config.latent_dim == 2:
    # The decoder over a grid of inverse-Gaussian-CDF points (Kingma & Welling 2014, Figure 4).
    grid = jax.scipy.stats.norm.ppf(jnp.linspace(0.05, 0.95, 10))
    z = jnp.stack(jnp.meshgrid(grid, grid[::-1]), axis=-1).reshape(-1, 2)
    plots.save_image_grid(np.asarray(decode(z)), os.path.join(workdir, "latent_manifold.png"), num_columns=10,
                          value_range=(0.0, 1.0), title=f"2-D latent manifold, epoch {epoch}")
  plots.save_latent_scatter(encode_means(encoder, params, test_images), np.asarray(test_labels), os.path.join(workdir, "latent_scatter.png"),
                            title=f"test-set latent means, epoch {epoch}")


def build_model(ctx: Context) -> Model:
  """The VAE that `gan_jax.experiment.run` trains (also timed by benchmarks.run).

  Writes, besides the run's files: test_loss, test_recon_loss, test_kl per
  epoch in metrics.jsonl; samples_epoch_XXX.png (the decoder's means for one fixed
  z ~ N(0, I)); curves.png; reconstructions.png, latent_manifold.png (2-D latents),
  latent_scatter.png.
  """
  config, workdir = ctx.config, ctx.workdir
  encoder, decoder = build_modules(config)
  test_images, test_labels = data.load(config.dataset, "test", data_dir=config.data_dir or None)
  z_fixed = jax.random.normal(rng.key(config.seed, rng.Stream.FIXED_Z), (64, config.latent_dim))

  def epoch_figures(epoch: int, state: TrainState) -> None:
    x = jax.nn.sigmoid(decoder.apply({"params": state.params["decoder"]}, z_fixed))
    grid = os.path.join(workdir, f"samples_epoch_{epoch:03d}.png")
    plots.save_image_grid(np.asarray(x), grid, value_range=(0.0, 1.0),
                          title=f"{config.dataset} VAE (z {config.latent_dim}), epoch {epoch}")
    ctx.metrics_log.image("samples_fixed_z", grid, int(state.step))
    plots.plot_vae_curves(ctx.metrics_log.read(), os.path.join(workdir, "curves.png"))

  def final_figures(epoch: int, state: TrainState) -> None:
    write_figures(workdir, config, encoder, decoder, state.params, test_images, test_labels, epoch)

  optimizers = optimizers_for(config)
  return Model(
      init_state=lambda: init_state(config, encoder, decoder, optimizers),
      phases=[vae_phase(encoder, decoder, config.get("binarize", False))],
      optimizers=optimizers, make_batch=lambda images, labels: {"x": data.to_unit_range(images)},
      epoch_figures=epoch_figures, final_figures=final_figures,
      evaluate=lambda epoch, state: evaluate(encoder, decoder, state.params, test_images, seed=config.seed,
                                           binarized=config.get("binarize", False)))


@functools.partial(jax.jit, static_argnums=0)
def _decode_means(decoder: VAEDecoder, params: Any, z: jax.Array) -> jax.Array:
  return jax.nn.sigmoid(decoder.apply({"params": params}, z))


def samples(decoder: VAEDecoder, params: Any, latent_dim: int, num_samples: int, seed: int = 0) -> np.ndarray:
  """The decoder's Bernoulli means for the first `num_samples` latents z ~ N(0, I) of `seed`
  (gan_jax.sampling): uint8 [num_samples, 28, 28], rounded to the nearest grey level.

  Args:
    params: the decoder's parameters.
  Raises:
    ConfigError: num_samples < 1.
  """
  return sampling.sample_images(lambda z: data.unit_range_to_uint8(_decode_means(decoder, params, z)),
                                latent_dim, num_samples, seed)


@functools.partial(jax.jit, static_argnums=(0, 1, 5))
def _iwae_batch(encoder, decoder, params, x, key, num_importance):
  """log p(x) estimates [B] with `num_importance` samples of q(z|x) each (Burda et al. 2016, eq. 8)."""
  encoded = encoder.apply({"params": params["encoder"]}, x)
  mean, logvar = encoded[0], encoded[1]
  l_prime = encoded[2] if len(encoded) == 3 else None

  def log_weights(k):
    keys = jax.random.split(k, x.shape[0])
    z, eps = losses.reparameterize(keys, mean, logvar, l_prime)
    log_px_z = -losses.bernoulli_nll(decoder.apply({"params": params["decoder"]}, z), x)
    return log_px_z + losses.standard_normal_log_p(z) - losses.gaussian_log_q(eps, logvar)

  # Batches of importance samples are vmapped, the batches run in sequence (bounded memory).
  log_w = jax.lax.map(log_weights, jax.random.split(key, num_importance), batch_size=min(num_importance, 100))
  return jax.nn.logsumexp(log_w, axis=0) - jnp.log(num_importance)


def iwae_log_likelihood(encoder: VAEEncoder, decoder: VAEDecoder, params: Any, images: np.ndarray,
                        num_importance: int = 1000, *, binarized: bool = False, seed: int = 0, batch_size: int = 20,
                        show_progress: bool = False) -> dict:
  """Test-set ELBO and importance-weighted log-likelihood of a VAE, in nats per image.

  log p(x) >= L_K = E[log (1/K) sum_k p(x, z_k) / q(z_k | x)] (Burda et al. 2016,
  "Importance weighted autoencoders", eq. 8); L_1 is the ELBO and L_K increases
  towards log p(x) with K.

  Args:
    encoder, decoder, params: a VAE's modules and {"encoder": ..., "decoder": ...} parameters.
    images: uint8 [N, 28, 28] test images.
    num_importance: K, samples of q(z|x) per image (1000 or more for a tight estimate).
    binarized: score stochastically binarized images (seeded) instead of the grey values.
    batch_size: images per device call (memory grows with batch_size x K x 784).
  Returns:
    {"test_elbo": mean L_1, "test_log_likelihood": mean L_K, "num_importance": K,
     "num_images": N, "binarized": bool}; nats per image (higher is better).
  Raises:
    ConfigError: K < 1.
  """
  if num_importance < 1:
    raise ConfigError(f"--iwae_samples must be >= 1, got {num_importance}")
  x_all = data.binarize(images, seed) if binarized else data.to_unit_range(images)
  key = rng.key(seed, rng.Stream.IWAE)

  def bounds(start, x):
    k = jax.random.fold_in(key, start)
    return (_iwae_batch(encoder, decoder, params, x, jax.random.fold_in(k, 0), 1),
            _iwae_batch(encoder, decoder, params, x, jax.random.fold_in(k, 1), num_importance))
  elbo, iwae = batched(bounds, x_all, batch_size=batch_size,
                       progress=f"IWAE K={num_importance}" if show_progress else "")
  n = len(x_all)
  return {"test_elbo": float(np.mean(elbo)), "test_log_likelihood": float(np.mean(iwae)),
          "num_importance": num_importance, "num_images": n, "binarized": binarized}
