"""Scoring trained generative models offline: samples, domain-classifier scores, VAE likelihood.

`score_samples` computes every score of `gan_jax.metrics` for uint8 samples
against a dataset's test split, with the domain classifier of
`gan_jax.feature_nets` (a LeNet trained on that dataset, shipped with the
package); `real_baseline` scores training images the same way, the row every
score is read against. `load_run` and `generate_samples` restore any GAN or VAE
training run (its config.json and a checkpoint). `iwae_log_likelihood` is the
importance-weighted bound on log p(x) of a VAE (Burda et al. 2016, eq. 8).
"""

import functools
import json
import os
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gan_jax import checkpoint as ckpt
from gan_jax import data, experiment, feature_nets, gan, losses, metrics, vae
from gan_jax.errors import CheckpointError, ConfigError
from gan_jax.models import build_discriminator, build_generator

# Score names in the order of the printed table; "higher" tells which way is better.
SCORES = (("fid", "lower"), ("classifier_score", "higher"), ("kid", "lower"), ("precision", "higher"),
          ("recall", "higher"), ("classes_covered", "higher"), ("memorization_ratio", "about 1"),
          ("one_nn_accuracy", "0.5"))


class Reference(NamedTuple):
  """A dataset's real images and the domain classifier's view of its test split."""
  dataset: str
  net: feature_nets.FeatureNet
  train_images: np.ndarray   # uint8 [60000, 28, 28]
  test_images: np.ndarray    # uint8 [10000, 28, 28]
  test_features: np.ndarray  # float32 [10000, D]
  test_statistics: tuple     # (mean [D], covariance [D, D]) of test_features
  cache: dict                # lazily: "test_train_distances" and "test_radii", float32 [10000] (see the methods)

  def test_radii(self) -> np.ndarray:
    """Each test feature's distance to its 3rd nearest test feature: precision's real-manifold balls (computed once)."""
    if "test_radii" not in self.cache:
      self.cache["test_radii"] = metrics.kth_neighbor_distance(self.test_features, 3)
    return self.cache["test_radii"]

  def test_train_distances(self) -> np.ndarray:
    """Each test image's L2 pixel distance to its nearest training image (computed once)."""
    if "test_train_distances" not in self.cache:
      self.cache["test_train_distances"] = metrics.nearest_training_distances(self.test_images, self.train_images)
    return self.cache["test_train_distances"]


def load_reference(dataset: str, data_dir: str | None = None) -> Reference:
  """Loads the dataset's splits and its shipped feature network, and embeds the test split.

  Raises:
    DataError: missing or corrupt data; ConfigError / CheckpointError: no shipped network for `dataset`.
  """
  net = feature_nets.load(dataset)
  train_images, _ = data.load(dataset, "train", data_dir=data_dir)
  test_images, _ = data.load(dataset, "test", data_dir=data_dir)
  test_features, _ = feature_nets.embed(net, test_images)
  return Reference(dataset, net, train_images, test_images, test_features, metrics.feature_statistics(test_features),
                   {})


def score_samples(samples: np.ndarray, reference: Reference, *, seed: int = 0, memorization: bool = True,
                  kid_subsets: int = 100) -> dict:
  """Every score of gan_jax.metrics for `samples` against the reference's test split.

  Args:
    samples: uint8 [N, 28, 28] (0 black, 255 white), N >= 10 (10,000 is the standard).
    reference: from load_reference.
    seed: of KID's subsets.
    memorization: also compute the pixel-space memorization score (the slowest part).
    kid_subsets: subsets KID averages over (fewer: faster, larger standard error).
  Returns:
    {"num_samples", "fid", "classifier_score", "classifier_score_std", "kid", "kid_stderr",
     "precision", "recall", "classes_covered", "class_kl_to_uniform", "class_histogram" (list),
     "one_nn_accuracy", and with memorization "memorization_ratio", "memorization_fraction_closer"}.
     1-NN uses the first min(N, test size) of each set, so the two sets have equal size.
  Raises:
    ConfigError: samples that are not uint8 [N >= 10, 28, 28].
  """
  samples = np.asarray(samples)
  if samples.dtype != np.uint8 or samples.ndim != 3 or samples.shape[1:] != (28, 28) or len(samples) < 10:
    raise ConfigError(f"samples must be uint8 [N >= 10, 28, 28], got {samples.dtype} {samples.shape}")
  features, probs = feature_nets.embed(reference.net, samples)
  scores = {"num_samples": len(samples)}
  scores["fid"] = metrics.frechet_distance(*metrics.feature_statistics(features), *reference.test_statistics)
  scores["classifier_score"], scores["classifier_score_std"] = metrics.classifier_score(probs)
  scores["kid"], scores["kid_stderr"] = metrics.kernel_inception_distance(
      features, reference.test_features, num_subsets=kid_subsets, subset_size=min(1000, len(samples)), seed=seed)
  scores["precision"], scores["recall"] = metrics.precision_recall(reference.test_features, features,
                                                                   real_radii=reference.test_radii())
  coverage = metrics.class_coverage(probs)
  scores["classes_covered"] = coverage.classes_covered
  scores["class_kl_to_uniform"] = coverage.kl_to_uniform
  scores["class_histogram"] = [round(float(h), 5) for h in coverage.histogram]
  n = min(len(samples), len(reference.test_features))
  scores["one_nn_accuracy"] = metrics.one_nn_accuracy(reference.test_features[:n], features[:n])
  if memorization:
    m = metrics.memorization(samples, reference.train_images, test_distances=reference.test_train_distances())
    scores["memorization_ratio"], scores["memorization_fraction_closer"] = m.ratio, m.fraction_closer
  return scores


def real_baseline(reference: Reference, num_samples: int = 10000, seed: int = 0, memorization: bool = True) -> dict:
  """The scores of `num_samples` training images (drawn with `seed`) against the test split.

  This is what a perfect model of the training distribution would get, up to the
  train/test difference, and each model's row should be read against it. Its
  memorization ratio is 0 by construction (training images are their own nearest
  training images): the value a model that copies its training set would get.
  """
  rng = np.random.default_rng(seed)
  idx = rng.choice(len(reference.train_images), min(num_samples, len(reference.train_images)), replace=False)
  return score_samples(reference.train_images[idx], reference, seed=seed, memorization=memorization)


# ----------------------------------------------------------------------------------------- trained runs

class Run(NamedTuple):
  """A training run restored from its workdir."""
  kind: str        # "gan" or "vae"
  config: ml_collections.ConfigDict
  modules: tuple   # (generator, discriminator) or (encoder, decoder)
  state: Any       # the TrainState of `step`
  step: int


def run_kind(config: ml_collections.ConfigDict) -> str:
  """'gan', 'vae' or 'autoencoder', from the fields of a run's config."""
  if "loss" in config and "latent_dim" in config:
    return "gan"
  if "posterior" in config:
    return "vae"
  return "autoencoder"


def read_config(workdir: str) -> ml_collections.ConfigDict:
  """The config.json of a training run.

  Raises:
    CheckpointError: no config.json in workdir.
  """
  path = os.path.join(workdir, "config.json")
  if not os.path.exists(path):
    raise CheckpointError(f"{path} not found; pass the --workdir of a training run")
  with open(path) as f:
    saved = json.load(f)
  if "model" in saved and "arch" not in saved:  # runs made before the field's rename (commit e0102ed and earlier)
    saved["arch"] = saved.pop("model")
  return ml_collections.ConfigDict(saved)


def checkpoint_steps(workdir: str) -> list:
  """The steps of the complete checkpoints in workdir/checkpoints, ascending."""
  directory = os.path.join(workdir, "checkpoints")
  if not os.path.isdir(directory):
    return []
  return sorted(int(name) for name in os.listdir(directory) if name.isdigit())


def load_run(workdir: str, step: int | None = None) -> Run:
  """Restores the GAN or VAE of a workdir at `step` (default: the newest checkpoint).

  Raises:
    CheckpointError: no config.json, no checkpoint, or a damaged one.
    ConfigError: the run is an autoencoder (it has no sampler).
  """
  config = read_config(workdir)
  kind = run_kind(config)
  if kind == "autoencoder":
    raise ConfigError(f"{workdir} holds an autoencoder, which does not generate samples; "
                      f"pass the workdir of a GAN or VAE run")
  steps = checkpoint_steps(workdir)
  if not steps:
    raise CheckpointError(f"no checkpoint in {workdir}/checkpoints; train first")
  if step is not None and step not in steps:
    raise CheckpointError(f"no checkpoint of step {step} in {workdir}; it has {', '.join(map(str, steps))}")
  if kind == "gan":
    modules = (build_generator(config), build_discriminator(config))
    template = gan.init_state(config, *modules)
  else:
    modules = vae.build_modules(config)
    template = vae.init_state(config, *modules)
  checkpointer = ckpt.Checkpointer(workdir)
  try:
    state = checkpointer.restore(template, step)
  finally:
    checkpointer.close()
  return Run(kind, config, modules, state, int(state.step))


@functools.partial(jax.jit, static_argnums=0)
def _decode_means(decoder, params, z):
  return jax.nn.sigmoid(decoder.apply({"params": params}, z))


def _sample_in_batches(decode, latent_dim: int, num_samples: int, seed: int, batch_size: int) -> np.ndarray:
  """uint8 [num_samples, 28, 28] from decode(z [batch_size, latent_dim]) -> uint8 images; z ~ N(0, I) from seed."""
  if num_samples < 1:
    raise ConfigError(f"--num_samples must be >= 1, got {num_samples}")
  key = jax.random.key(seed)
  chunks = []
  for start in range(0, num_samples, batch_size):
    z = jax.random.normal(jax.random.fold_in(key, start), (batch_size, latent_dim))  # one shape: one compile
    chunks.append(decode(z)[:min(batch_size, num_samples - start)])
  return np.concatenate(chunks)


def gan_samples(generator, params: Any, batch_stats: Any, latent_dim: int, num_samples: int, seed: int = 0,
                batch_size: int = 1000) -> np.ndarray:
  """G(z) in inference mode (BatchNorm running averages) for z ~ N(0, I) from seed: uint8 [N, 28, 28]."""
  return _sample_in_batches(lambda z: gan.to_uint8(gan.generate(generator, params, batch_stats, z)),
                            latent_dim, num_samples, seed, batch_size)


def generate_samples(run: Run, num_samples: int, seed: int = 0, batch_size: int = 1000) -> np.ndarray:
  """Draws z ~ N(0, I) from `seed` and maps it to images.

  GANs: G(z) in inference mode (BatchNorm running averages). VAEs: the decoder's
  Bernoulli means sigmoid(logits), the grey-value images the model describes.
  Returns:
    uint8 [num_samples, 28, 28], rounded to the nearest grey level.
  Raises:
    ConfigError: num_samples < 1.
  """
  if run.kind == "gan":
    return gan_samples(run.modules[0], *gan.sampling_variables(run.state),
                       run.config.latent_dim, num_samples, seed, batch_size)

  def decode(z):
    p = np.asarray(_decode_means(run.modules[1], run.state.params["decoder"], z)).reshape(len(z), 28, 28)
    return np.clip(np.round(p * 255.0), 0, 255).astype(np.uint8)
  return _sample_in_batches(decode, run.config.latent_dim, num_samples, seed, batch_size)


class TrainingEvaluator:
  """Scores a GAN during training and keeps the best checkpoint by FID.

  Used as experiment.Model.evaluate: (epoch, host state) -> scores; the run calls
  it every config.eval_every_epochs epochs or config.eval_every_steps steps. The
  samples are config.eval_samples images from one fixed seed (so epochs are
  comparable); memorization is skipped (it is slow, and evaluate.py reports it) and
  KID averages 10 subsets instead of 100, to keep evaluation under a tenth of training time.
  The best state so far is saved in <workdir>/best/checkpoints/<step>, with
  <workdir>/best.json = {"step", "epoch", "fid"}; a resumed run continues from it.

  Args (constructor):
    config: the GAN's config (eval_samples, dataset, data_dir, latent_dim, seed).
    workdir: the run's directory.
    generator: the G module (inference mode is used: BatchNorm running averages).
    steps_per_epoch: train steps per epoch of the run.
  Calling it returns the scores of
  `score_samples` without memorization or class histogram (FID and KID in squared
  LeNet-feature units, the rest unitless), computed against the test split.
  Raises (when called):
    DataError: the dataset's test or training files are missing or corrupt.
    OSError: <workdir>/best or best.json cannot be written.
  """

  def __init__(self, config: ml_collections.ConfigDict, workdir: str, generator, steps_per_epoch: int):
    self.config, self.workdir, self.generator = config, workdir, generator
    self.steps_per_epoch = steps_per_epoch
    self._reference = None
    self.best_path = os.path.join(workdir, "best.json")

  def __call__(self, epoch: float, state: Any) -> dict:
    if self._reference is None:
      self._reference = load_reference(self.config.dataset, self.config.data_dir or None)
    samples = gan_samples(self.generator, *gan.sampling_variables(state),
                          self.config.latent_dim, self.config.eval_samples, seed=self.config.seed + 1)
    scores = score_samples(samples, self._reference, memorization=False, kid_subsets=10)
    scores.pop("class_histogram")
    best = None
    if os.path.exists(self.best_path):
      with open(self.best_path) as f:
        best = json.load(f)
    if best is None or scores["fid"] < best["fid"]:
      checkpointer = ckpt.Checkpointer(os.path.join(self.workdir, "best"), max_to_keep=1)
      checkpointer.save(int(state.step), state)
      checkpointer.wait()
      checkpointer.close()
      experiment.write_json(self.best_path, {"step": int(state.step), "epoch": epoch, "fid": scores["fid"]})
    return scores


# ----------------------------------------------------------------------------------------- VAE likelihood

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


def iwae_log_likelihood(run: Run, images: np.ndarray, num_importance: int = 1000, *, binarized: bool = False,
                        seed: int = 0, batch_size: int = 20, show_progress: bool = False) -> dict:
  """Test-set ELBO and importance-weighted log-likelihood of a VAE, in nats per image.

  log p(x) >= L_K = E[log (1/K) sum_k p(x, z_k) / q(z_k | x)] (Burda et al. 2016,
  "Importance weighted autoencoders", eq. 8); L_1 is the ELBO and L_K increases
  towards log p(x) with K.

  Args:
    run: a VAE Run (load_run).
    images: uint8 [N, 28, 28] test images.
    num_importance: K, samples of q(z|x) per image (1000 or more for a tight estimate).
    binarized: score stochastically binarized images (seeded) instead of the grey values.
    batch_size: images per device call (memory grows with batch_size x K x 784).
  Returns:
    {"test_elbo": mean L_1, "test_log_likelihood": mean L_K, "num_importance": K,
     "num_images": N, "binarized": bool}; nats per image (higher is better).
  Raises:
    ConfigError: the run is not a VAE, or K < 1.
  """
  if run.kind != "vae":
    raise ConfigError("the importance-weighted likelihood needs a VAE run")
  if num_importance < 1:
    raise ConfigError(f"--iwae_samples must be >= 1, got {num_importance}")
  x_all = data.binarize(images, seed) if binarized else data.to_unit_range(images)
  encoder, decoder = run.modules
  key = jax.random.fold_in(jax.random.key(seed), 7)
  totals = {"elbo": 0.0, "iwae": 0.0}
  n = len(x_all)
  starts = range(0, n, batch_size)
  if show_progress:
    from tqdm import tqdm
    starts = tqdm(starts, desc=f"IWAE K={num_importance}", unit="batch")
  for start in starts:
    x = x_all[start:start + batch_size]
    pad = batch_size - len(x)
    xp = np.concatenate([x, np.zeros((pad,) + x.shape[1:], x.dtype)]) if pad else x
    k = jax.random.fold_in(key, start)
    elbo = np.asarray(_iwae_batch(encoder, decoder, run.state.params, xp, jax.random.fold_in(k, 0), 1))
    iwae = np.asarray(_iwae_batch(encoder, decoder, run.state.params, xp, jax.random.fold_in(k, 1), num_importance))
    totals["elbo"] += float(np.sum(elbo[:len(x)]))
    totals["iwae"] += float(np.sum(iwae[:len(x)]))
  return {"test_elbo": totals["elbo"] / n, "test_log_likelihood": totals["iwae"] / n,
          "num_importance": num_importance, "num_images": n, "binarized": binarized}
