"""Scoring generated images: domain-classifier scores against a test split, and scoring during training.

`score_samples` computes every score of `gan_jax.metrics` for uint8 samples
against a dataset's test split, with the domain classifier of
`gan_jax.feature_nets` (a LeNet trained on that dataset, shipped with the
package); `real_baseline` scores training images the same way, the row every
score is read against. `TrainingEvaluator` scores a run's samples as it trains;
it is handed a sampler function and knows no model family. Restoring a
finished run and drawing its samples is `gan_jax.runs`.
"""

import json
import os
from typing import Any, Callable, NamedTuple

import ml_collections
import numpy as np

from gan_jax import checkpoint as ckpt
from gan_jax import data, feature_nets, files, metrics
from gan_jax.errors import ConfigError

# Score names in the order of the printed table; "higher" tells which way is better.
SCORES = (("fid", "lower"), ("classifier_score", "higher"), ("kid", "lower"), ("precision", "higher"),
          ("recall", "higher"), ("classes_covered", "higher"), ("memorization_ratio", "about 1"),
          ("one_nn_accuracy", "0.5"), ("swd", "lower"), ("conditional_accuracy", "higher"))
# In-training scores use the samples of seed config.seed + 1, the seed
# `python -m experiments.evaluate --seed=SEED+1` scores the same images with.
SAMPLE_SEED_OFFSET = 1


class Reference(NamedTuple):
  """A dataset's real images and the domain classifier's view of its test split."""
  dataset: str
  net: feature_nets.FeatureNet
  train_images: np.ndarray   # uint8 [60000, 28, 28]
  test_images: np.ndarray    # uint8 [10000, 28, 28]
  test_labels: np.ndarray    # int [10000]
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
  test_images, test_labels = data.load(dataset, "test", data_dir=data_dir)
  test_features, _ = feature_nets.embed(net, test_images)
  return Reference(dataset, net, train_images, test_images, test_labels, test_features, metrics.feature_statistics(test_features),
                   {})


def score_samples(samples: np.ndarray, reference: Reference, *, seed: int = 0, memorization: bool = True,
                  kid_subsets: int = 100, swd: bool = False, labels: np.ndarray | None = None) -> dict:
  """Every score of gan_jax.metrics for `samples` against the reference's test split.

  Args:
    samples: uint8 [N, 28, 28] (0 black, 255 white), N >= 10 (10,000 is the standard).
    reference: from load_reference.
    seed: of KID's subsets.
    memorization: also compute the pixel-space memorization score (the slowest part).
    kid_subsets: subsets KID averages over (fewer: faster, larger standard error).
    swd: also compute the sliced Wasserstein distance of pixel patches (metrics.swd).
    labels: int [N], the classes a conditional model drew the samples for: adds
      "conditional_accuracy" (how often the domain classifier names the class asked for)
      and "per_class_fid" ([num classes]: each class's samples against its test images).
  Returns:
    {"num_samples", "fid", "classifier_score", "classifier_score_std", "kid", "kid_stderr",
     "precision", "recall", "classes_covered", "class_kl_to_uniform", "class_histogram" (list),
     "one_nn_accuracy", with memorization "memorization_ratio", "memorization_fraction_closer",
     and with swd "swd" (the mean over levels, x 1e3) and "swd_levels" ([28x28, 14x14, 7x7])}.
     1-NN and SWD use the first min(N, test size) of each set, so the two sets have equal size.
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
  if swd:
    scores["swd_levels"] = metrics.swd(samples[:n], reference.test_images[:n], seed=seed)
    scores["swd"] = float(np.mean(scores["swd_levels"]))
  if labels is not None:
    scores.update(conditional_scores(features, probs, labels, reference))
  if memorization:
    m = metrics.memorization(samples, reference.train_images, test_distances=reference.test_train_distances())
    scores["memorization_ratio"], scores["memorization_fraction_closer"] = m.ratio, m.fraction_closer
  return scores


def conditional_scores(features: np.ndarray, probs: np.ndarray, labels: np.ndarray, reference: Reference) -> dict:
  """How well a class-conditional model's samples match the classes they were drawn for.

  Args:
    features, probs: the domain classifier's features [N, D] and class probabilities [N, C] of the samples.
    labels: int [N], the classes asked for.
  Returns:
    {"conditional_accuracy": fraction of samples the classifier puts in the class asked for,
     "per_class_fid": [C] FID of each class's samples against that class's test images (None
     for a class with fewer than 2 samples)}.
  Raises:
    ConfigError: labels not of shape [N].
  """
  labels = np.asarray(labels)
  if labels.shape != (len(features),):
    raise ConfigError(f"labels must be [N] = [{len(features)}], got {labels.shape}")
  per_class = []
  for c in range(probs.shape[-1]):
    real = metrics.feature_statistics(reference.test_features[reference.test_labels == c])
    per_class.append(round(metrics.frechet_distance(*metrics.feature_statistics(features[labels == c]), *real), 3)
                     if np.sum(labels == c) > 1 else None)
  return {"conditional_accuracy": float(np.mean(np.argmax(probs, -1) == labels)), "per_class_fid": per_class}


def real_baseline(reference: Reference, num_samples: int = 10000, seed: int = 0, memorization: bool = True,
                  swd: bool = False) -> dict:
  """The scores of `num_samples` training images (drawn with `seed`) against the test split.

  This is what a perfect model of the training distribution would get, up to the
  train/test difference, and each model's row should be read against it. Its
  memorization ratio is 0 by construction (training images are their own nearest
  training images): the value a model that copies its training set would get.
  """
  rng = np.random.default_rng(seed)
  idx = rng.choice(len(reference.train_images), min(num_samples, len(reference.train_images)), replace=False)
  return score_samples(reference.train_images[idx], reference, seed=seed, memorization=memorization, swd=swd)


class TrainingEvaluator:
  """Scores a GAN during training and keeps the best checkpoint by FID.

  Used as gan_jax.train.Model.evaluate: (epoch, host state) -> scores; the run calls
  it every config.eval_every_epochs epochs or config.eval_every_steps steps. The
  samples are config.eval_samples images from one fixed seed (so epochs are
  comparable); memorization is skipped (it is slow, and evaluate.py reports it) and
  KID averages 10 subsets instead of 100, to keep evaluation under a tenth of training time.
  The best state so far is saved in <workdir>/best/checkpoints/<step>, with
  <workdir>/best.json = {"step", "epoch", "fid"}; a resumed run continues from it.

  Args (constructor):
    config: the run's config (eval_samples, dataset, data_dir, seed).
    workdir: the run's directory.
    sampler: (state, num_samples, seed) -> uint8 [num_samples, 28, 28], e.g. a GAN's
      `gan_jax.gan.samples` of the state's generator; called with seed config.seed + SAMPLE_SEED_OFFSET.
    labels: for a class-conditional sampler, num_samples -> the int [num_samples] classes its
      samples were drawn for; the scores then include "conditional_accuracy" (`conditional_scores`).
  Calling it returns the scores of
  `score_samples` without memorization or class histogram (FID and KID in squared
  LeNet-feature units, the rest unitless), computed against the test split.
  Raises (when called):
    DataError: the dataset's test or training files are missing or corrupt.
    OSError: <workdir>/best or best.json cannot be written.
  """

  def __init__(self, config: ml_collections.ConfigDict, workdir: str, sampler: Callable[[Any, int, int], np.ndarray],
               labels: Callable[[int], np.ndarray] | None = None):
    self.config, self.workdir, self.sampler, self.labels = config, workdir, sampler, labels
    self._reference = None
    self.best_path = os.path.join(workdir, "best.json")

  def __call__(self, epoch: float, state: Any) -> dict:
    if self._reference is None:
      self._reference = load_reference(self.config.dataset, self.config.data_dir or None)
    samples = self.sampler(state, self.config.eval_samples, self.config.seed + SAMPLE_SEED_OFFSET)
    labels = self.labels(len(samples)) if self.labels is not None else None
    scores = score_samples(samples, self._reference, memorization=False, kid_subsets=10, labels=labels)
    scores.pop("class_histogram")
    scores.pop("per_class_fid", None)
    best = None
    if os.path.exists(self.best_path):
      with open(self.best_path) as f:
        best = json.load(f)
    if best is None or scores["fid"] < best["fid"]:
      checkpointer = ckpt.Checkpointer(os.path.join(self.workdir, "best"), max_to_keep=1, writer_only=True)
      checkpointer.save(int(state.step), state)
      checkpointer.wait()
      checkpointer.close()
      files.write_json(self.best_path, {"step": int(state.step), "epoch": epoch, "fid": scores["fid"]})
    return scores
