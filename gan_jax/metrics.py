"""Scores of generated images: how close to the data, how diverse, how novel.

All functions are pure and take numpy arrays: features of a domain classifier
(gan_jax.feature_nets) or pixels. Each score is meant to be read beside its
real-vs-real baseline (training images scored against the test split), which
`gan_jax.evaluation` computes the same way.

- Fréchet distance (Heusel et al. 2017, "GANs trained by a two time-scale
  update rule", eq. 6) of Gaussians fitted to features. On a LeNet trained on
  the domain this is an FID *for this domain*: not comparable with FIDs on
  Inception features.
- classifier score, exp(E_x KL(p(y|x) || p(y))): the Inception Score (Salimans
  et al. 2016, "Improved techniques for training GANs", Section 4) with the
  domain classifier; between 1 and the number of classes.
- KID (Bińkowski et al. 2018, "Demystifying MMD GANs", Section 3.3): unbiased
  MMD^2 with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, over subsets.
- precision and recall (Kynkäänniemi et al. 2019, "Improved precision and
  recall metric for assessing generative models", eq. 1-3), k-NN balls.
- class coverage: the predicted-class histogram, the classes covered and its
  KL to uniform (mode collapse as a number).
- memorization: nearest-training-image distances of the samples against those
  of held-out test images (pixel space).
- 1-NN two-sample test (Lopez-Paz & Oquab 2017; Xu et al. 2018, "An empirical
  study on evaluation metrics of GANs"): leave-one-out 1-NN accuracy, 0.5 ideal.
- sliced Wasserstein distance (SWD; Karras et al. 2018, "Progressive growing of
  GANs", Appendix D): between 7x7 patches of a Laplacian pyramid of the pixels,
  per pyramid level; no feature network.
- representations: k-means (k = 10) accuracy under the best matching of clusters
  to classes (Hungarian algorithm), as unsupervised-clustering papers report it,
  and a linear probe (multinomial logistic regression on frozen features).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import scipy.optimize
import sklearn.cluster

from gan_jax.batching import batched


@jax.jit
def _squared_distances(queries: jax.Array, references: jax.Array) -> jax.Array:
  q2 = jnp.sum(queries ** 2, axis=1)[:, None]
  r2 = jnp.sum(references ** 2, axis=1)[None, :]
  return jnp.maximum(q2 + r2 - 2.0 * queries @ references.T, 0.0)


def nearest_neighbors(queries: np.ndarray, references: np.ndarray, k: int = 1,
                      chunk_size: int = 10000, margin: int = 16) -> tuple[np.ndarray, np.ndarray]:
  """The k nearest references of each query in L2 pixel distance.

  Candidates are found fast, as |q|^2 + |r|^2 - 2 q.r in float32 on the device;
  that form loses precision exactly where it matters (a near-copy's distance is a
  small difference of large numbers), so the k + `margin` best candidates of each
  query are then measured again exactly, as ||q - r|| in float64, and ranked by
  that.

  Args:
    queries: [Q, ...] images (any float or uint8 values; flattened per image).
    references: [R, ...] images of the same shape and scale as the queries.
    k: neighbours per query, 1..R.
    chunk_size: references compared per device call (bounds memory to Q x chunk_size).
    margin: extra candidates per query re-measured exactly, against rounding in the fast pass.
  Returns:
    (distances float32 [Q, k], Euclidean, in the images' units, ascending;
     indices int64 [Q, k] into references).
  Raises:
    ValueError: k out of range or shapes that differ per image.
  """
  q = np.asarray(queries, np.float32).reshape(len(queries), -1)
  r = np.asarray(references, np.float32).reshape(len(references), -1)
  if q.shape[1] != r.shape[1]:
    raise ValueError(f"queries have {q.shape[1]} values per image, references {r.shape[1]}")
  if not 1 <= k <= len(r):
    raise ValueError(f"k must be in 1..{len(r)}, got {k}")
  m = min(len(r), k + margin)
  best_d = np.full((len(q), 0), np.inf, np.float32)
  best_i = np.zeros((len(q), 0), np.int64)
  for start in range(0, len(r), chunk_size):
    d = np.asarray(_squared_distances(q, r[start:start + chunk_size]))
    mm = min(m, d.shape[1])
    part = np.argpartition(d, mm - 1, axis=1)[:, :mm]
    best_d = np.concatenate([best_d, np.take_along_axis(d, part, axis=1)], axis=1)
    best_i = np.concatenate([best_i, part + start], axis=1)
    keep = np.argpartition(best_d, m - 1, axis=1)[:, :m] if best_d.shape[1] > m else slice(None)
    if best_d.shape[1] > m:
      best_d, best_i = np.take_along_axis(best_d, keep, axis=1), np.take_along_axis(best_i, keep, axis=1)
  exact = np.empty(best_i.shape, np.float64)
  block = max(1, 2 ** 24 // (m * q.shape[1]))  # queries per block: about 128 MiB of float64 differences
  for s in range(0, len(q), block):
    diff = q[s:s + block, None, :].astype(np.float64) - r[best_i[s:s + block]].astype(np.float64)
    exact[s:s + block] = np.sqrt(np.einsum("qmd,qmd->qm", diff, diff))
  order = np.lexsort((best_i, exact), axis=1)[:, :k]  # ties: the lower index first
  return np.take_along_axis(exact, order, axis=1).astype(np.float32), np.take_along_axis(best_i, order, axis=1)


def _as_matrix(x: np.ndarray, name: str) -> np.ndarray:
  x = np.asarray(x, np.float32)
  if x.ndim < 2 or len(x) < 2:
    raise ValueError(f"{name} must have shape [N >= 2, ...], got {x.shape}")
  return x.reshape(len(x), -1)


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Mean [D] and covariance [D, D] (float64, unbiased) of features [N, D]."""
  f = _as_matrix(features, "features").astype(np.float64)
  return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_distance(mean1: np.ndarray, cov1: np.ndarray, mean2: np.ndarray, cov2: np.ndarray) -> float:
  """||m1 - m2||^2 + tr(C1 + C2 - 2 (C1 C2)^(1/2)): the Fréchet (2-Wasserstein) distance of two Gaussians squared.

  The trace of (C1 C2)^(1/2) is computed as the sum of the square roots of the
  eigenvalues of the symmetric PSD matrix C1^(1/2) C2 C1^(1/2) (the same
  eigenvalues), which avoids scipy.linalg.sqrtm's complex round-off.

  Args:
    mean1, mean2: [D] float; cov1, cov2: [D, D] symmetric positive semi-definite.
  Returns:
    the distance, >= 0 up to round-off (clipped at 0), in squared feature units.
  Raises:
    ValueError: shapes that do not match.
  """
  mean1, mean2 = np.asarray(mean1, np.float64), np.asarray(mean2, np.float64)
  cov1, cov2 = np.asarray(cov1, np.float64), np.asarray(cov2, np.float64)
  d = mean1.shape[0]
  if mean2.shape != (d,) or cov1.shape != (d, d) or cov2.shape != (d, d):
    raise ValueError(f"shapes must be [D] and [D, D]: got {mean1.shape}, {cov1.shape}, {mean2.shape}, {cov2.shape}")
  w, v = np.linalg.eigh((cov1 + cov1.T) / 2)
  sqrt1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
  inner = sqrt1 @ cov2 @ sqrt1
  trace_sqrt = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0, None)))
  value = np.sum((mean1 - mean2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2 * trace_sqrt
  return float(max(value, 0.0))


def frechet_distance_of_features(features1: np.ndarray, features2: np.ndarray) -> float:
  """The Fréchet distance of Gaussians fitted to two feature sets [N1, D] and [N2, D]."""
  return frechet_distance(*feature_statistics(features1), *feature_statistics(features2))


def classifier_score(probs: np.ndarray, num_splits: int = 10) -> tuple[float, float]:
  """exp(E_x KL(p(y|x) || p(y))), the Inception Score's formula with a domain classifier.

  Args:
    probs: [N, C] class probabilities p(y|x) of N samples (rows sum to 1).
    num_splits: the score is computed on this many equal splits (as Salimans et al.).
  Returns:
    (mean, standard deviation) over the splits; 1 <= score <= C.
  Raises:
    ValueError: fewer samples than splits, or probs not [N, C].
  """
  p = np.asarray(probs, np.float64)
  if p.ndim != 2 or len(p) < num_splits or num_splits < 1:
    raise ValueError(f"probs must be [N >= num_splits={num_splits}, C], got {p.shape}")
  scores = []
  for part in np.array_split(p, num_splits):
    marginal = part.mean(axis=0, keepdims=True)
    kl = np.sum(part * (np.log(np.clip(part, 1e-12, None)) - np.log(np.clip(marginal, 1e-12, None))), axis=1)
    scores.append(np.exp(kl.mean()))
  return float(np.mean(scores)), float(np.std(scores))


def _polynomial_mmd2(x: np.ndarray, y: np.ndarray) -> float:
  """Unbiased MMD^2 estimate with k(a, b) = (a.b / d + 1)^3 (x: [m, d], y: [n, d])."""
  d = x.shape[1]
  kxx = (x @ x.T / d + 1) ** 3
  kyy = (y @ y.T / d + 1) ** 3
  kxy = (x @ y.T / d + 1) ** 3
  m, n = len(x), len(y)
  return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
               - 2 * kxy.mean())


def kernel_inception_distance(features1: np.ndarray, features2: np.ndarray, num_subsets: int = 100,
                              subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
  """KID: the unbiased polynomial-kernel MMD^2, averaged over random subsets (Bińkowski et al. 2018).

  Args:
    features1, features2: [N1, D], [N2, D].
    num_subsets: subsets drawn (without replacement within a subset) from each set.
    subset_size: examples per subset; capped at min(N1, N2).
  Returns:
    (mean, standard error of the mean over subsets). The estimator is unbiased, so
    the mean is about 0 (and can be negative) for two samples of one distribution.
  """
  f1 = _as_matrix(features1, "features1").astype(np.float64)
  f2 = _as_matrix(features2, "features2").astype(np.float64)
  size = min(subset_size, len(f1), len(f2))
  rng = np.random.default_rng(seed)
  values = np.array([_polynomial_mmd2(f1[rng.choice(len(f1), size, replace=False)],
                                      f2[rng.choice(len(f2), size, replace=False)]) for _ in range(num_subsets)])
  return float(values.mean()), float(values.std(ddof=1) / np.sqrt(num_subsets)) if num_subsets > 1 else 0.0


def kth_neighbor_distance(points: np.ndarray, k: int) -> np.ndarray:
  """Distance [N] float32 of each point [N, D] to its k-th nearest other point of the same set."""
  distances, _ = nearest_neighbors(points, points, k=k + 1)
  return distances[:, k]


def _within_any_ball(queries: np.ndarray, centres: np.ndarray, radii: np.ndarray, chunk_size: int = 2000) -> np.ndarray:
  """bool [Q]: whether each query lies within radius of at least one centre."""
  r2 = jnp.asarray(radii, jnp.float32) ** 2
  return batched(lambda start, q: jnp.any(_squared_distances(jnp.asarray(q), jnp.asarray(centres)) <= r2[None, :],
                                          axis=1), np.asarray(queries, np.float32), batch_size=chunk_size)


def precision_recall(real_features: np.ndarray, fake_features: np.ndarray, k: int = 3,
                     real_radii: np.ndarray | None = None) -> tuple[float, float]:
  """Improved precision and recall (Kynkäänniemi et al. 2019) with k-NN balls.

  Precision: the fraction of generated samples inside the real manifold (the
  union of balls around each real feature reaching its k-th nearest real
  neighbour). Recall: the fraction of real samples inside the generated manifold.

  Args:
    real_features: [N, D]; fake_features: [M, D].
    k: the neighbour that sets each ball's radius (3 in the paper).
    real_radii: optional [N], `kth_neighbor_distance(real_features, k)` computed once
      for a fixed real set (it is the costly part).
  Returns:
    (precision, recall), each in [0, 1].
  """
  real = _as_matrix(real_features, "real_features")
  fake = _as_matrix(fake_features, "fake_features")
  radii = kth_neighbor_distance(real, k) if real_radii is None else real_radii
  precision = _within_any_ball(fake, real, radii).mean()
  recall = _within_any_ball(real, fake, kth_neighbor_distance(fake, k)).mean()
  return float(precision), float(recall)


class ClassCoverage(NamedTuple):
  """Predicted-class statistics of a sample set.

  histogram: float [C], the fraction of samples per predicted class.
  classes_covered: classes holding at least `min_share` of their uniform share (1 / C).
  kl_to_uniform: KL(histogram || uniform) in nats; 0 for balanced classes, log C for one class.
  """
  histogram: np.ndarray
  classes_covered: int
  kl_to_uniform: float


def class_coverage(probs: np.ndarray, min_share: float = 0.1) -> ClassCoverage:
  """Mode coverage as numbers: which classes the domain classifier sees in the samples.

  Args:
    probs: [N, C] class probabilities; each sample counts for its argmax class.
    min_share: a class is covered when its fraction is at least min_share / C
      (with the default, 1% of the samples for 10 classes), so that a few
      misclassified samples do not count as a mode.
  """
  p = np.asarray(probs)
  num_classes = p.shape[1]
  hist = np.bincount(np.argmax(p, axis=1), minlength=num_classes) / len(p)
  nonzero = hist > 0
  kl = float(np.sum(hist[nonzero] * np.log(hist[nonzero] * num_classes)))
  return ClassCoverage(hist, int(np.sum(hist >= min_share / num_classes)), kl)


class Memorization(NamedTuple):
  """Nearest-training-image distances of generated samples against held-out images.

  ratio: median distance of the samples to their nearest training image, divided by
    the same median for held-out test images. About 1 (or above) for a model that
    generalises like the test set; near 0 for copies of training images.
  fraction_closer: the fraction of samples nearer to a training image than 99% of
    the test images are (0.01 expected for samples like test images).
  sample_median, test_median: the two medians (L2, pixels in [0, 1]).
  """
  ratio: float
  fraction_closer: float
  sample_median: float
  test_median: float


def unit_pixels(x: np.ndarray) -> np.ndarray:
  """Images as float32 in [0, 1]: uint8 is divided by 255, floats are kept."""
  x = np.asarray(x)
  return x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)


def nearest_training_distances(images: np.ndarray, train_images: np.ndarray) -> np.ndarray:
  """float32 [N]: L2 pixel distance (pixels in [0, 1]) of each image to its nearest training image."""
  return nearest_neighbors(unit_pixels(images), unit_pixels(train_images))[0][:, 0]


def memorization(samples: np.ndarray, train_images: np.ndarray, test_images: np.ndarray = None,
                 test_distances: np.ndarray = None) -> Memorization:
  """Are the samples copies of training images? Pixel-space L2 nearest neighbours.

  Args:
    samples, train_images, test_images: uint8 [N, 28, 28] (or any shape per image,
      same scale); uint8 is divided by 255.
    test_distances: optional nearest_training_distances(test_images, train_images),
      computed once and reused across evaluations (it is half the cost).
  Raises:
    ValueError: neither test_images nor test_distances given.
  """
  if test_distances is None and test_images is None:
    raise ValueError("memorization needs test_images or test_distances")
  d_samples = nearest_training_distances(samples, train_images)
  d_test = test_distances if test_distances is not None else nearest_training_distances(test_images, train_images)
  test_median = float(np.median(d_test))
  return Memorization(float(np.median(d_samples)) / max(test_median, 1e-12),
                      float(np.mean(d_samples < np.quantile(d_test, 0.01))),
                      float(np.median(d_samples)), test_median)


def one_nn_accuracy(real_features: np.ndarray, fake_features: np.ndarray) -> float:
  """Leave-one-out 1-nearest-neighbour two-sample test accuracy.

  Each point of the union of the two sets is labelled by its nearest other point;
  0.5 means the sets cannot be told apart, 1.0 that they are fully separated (and
  below 0.5 that the samples sit closer to the real points than real points do to
  each other, a sign of memorization). Sets should be the same size.

  Args:
    real_features: [N, D]; fake_features: [M, D].
  Returns:
    the accuracy in [0, 1].
  """
  real = _as_matrix(real_features, "real_features")
  fake = _as_matrix(fake_features, "fake_features")
  points = np.concatenate([real, fake])
  is_real = np.arange(len(points)) < len(real)
  _, indices = nearest_neighbors(points, points, k=2)
  # Column 0 is the point itself unless it has an exact duplicate; take the first index that is not itself.
  own = indices[:, 0] == np.arange(len(points))
  neighbour = np.where(own, indices[:, 1], indices[:, 0])
  return float(np.mean(is_real[neighbour] == is_real))


# ---------------------------------------------------------------------------
# Sliced Wasserstein distance between patches (Karras et al. 2018, Appendix D).

_BINOMIAL_5 = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0  # the Gaussian pyramid's 5-tap filter (Burt & Adelson 1983)


def _blur(images: np.ndarray) -> np.ndarray:
  """Separable 5x5 binomial blur of [N, H, W] float images, edges reflected."""
  padded = np.pad(images, ((0, 0), (2, 2), (2, 2)), mode="reflect")
  rows = sum(w * padded[:, i:i + images.shape[1], :] for i, w in enumerate(_BINOMIAL_5))
  return sum(w * rows[:, :, i:i + images.shape[2]] for i, w in enumerate(_BINOMIAL_5))


def laplacian_pyramid(images: np.ndarray, num_levels: int = 3) -> list[np.ndarray]:
  """The Laplacian pyramid of [N, H, W] float images (Burt & Adelson 1983).

  Level i < num_levels - 1 is G_i - upsample(G_{i+1}), the detail lost by halving
  the resolution; the last level is the coarsest Gaussian level itself. G_0 is the
  image and G_{i+1} its blurred, 2x subsampled self; upsampling repeats pixels and
  blurs. For 28x28 images and 3 levels: 28x28, 14x14 and 7x7.

  Raises:
    ValueError: a side not divisible by 2 ** (num_levels - 1).
  """
  size = 2 ** (num_levels - 1)
  if images.shape[1] % size or images.shape[2] % size:
    raise ValueError(f"image sides {images.shape[1:]} must be divisible by {size} for {num_levels} levels")
  gaussian = [np.asarray(images, np.float32)]
  for _ in range(num_levels - 1):
    gaussian.append(_blur(gaussian[-1])[:, ::2, ::2])
  upsample = lambda x: _blur(np.repeat(np.repeat(x, 2, axis=1), 2, axis=2))
  return [g - upsample(g_next) for g, g_next in zip(gaussian, gaussian[1:])] + [gaussian[-1]]


def patch_descriptors(level: np.ndarray, per_image: int, patch_size: int = 7, seed: int = 0) -> np.ndarray:
  """`per_image` random patch_size x patch_size patches of each [N, H, W] pyramid level,
  flattened: [N * per_image, patch_size ** 2] float32. The positions are uniform over the
  level and depend only on (seed, N, H, W), so two sets of one size get the same positions;
  a level no larger than a patch has one position, and gives one patch per image."""
  n, h, w = level.shape
  if h <= patch_size and w <= patch_size:
    per_image = 1
  rng = np.random.default_rng(seed)
  ys = rng.integers(0, max(h - patch_size, 0) + 1, size=(n, per_image))
  xs = rng.integers(0, max(w - patch_size, 0) + 1, size=(n, per_image))
  offsets = np.arange(min(patch_size, h))
  rows = ys[..., None, None] + offsets[:, None]  # [N, P, k, 1]
  cols = xs[..., None, None] + offsets[None, :]  # [N, P, 1, k]
  patches = level[np.arange(n)[:, None, None, None], rows, cols]
  return patches.reshape(n * per_image, -1).astype(np.float32)


def sliced_wasserstein(a: np.ndarray, b: np.ndarray, num_directions: int = 128, num_repeats: int = 4,
                       seed: int = 0) -> float:
  """The sliced Wasserstein-1 distance between two equal-size point sets [M, D]:
  the mean, over random unit directions, of the 1-D Wasserstein-1 distance between the
  sets' projections (sorted projections, mean absolute difference).

  Two identical sets give 0; b = a + delta gives |delta| E|u_1| for u uniform on the
  unit sphere (the 1-D distance along u is |u . delta|).

  Args:
    a, b: [M, D] float point sets of equal size M.
    num_directions: directions per repeat (Karras et al.: 512; 128 here, for CPU time).
    num_repeats: independent sets of directions averaged (Karras et al.: 4).
    seed: of the directions.
  Raises:
    ValueError: sets of different shapes.
  """
  if a.shape != b.shape or a.ndim != 2:
    raise ValueError(f"sliced_wasserstein needs two [M, D] sets of one shape, got {a.shape} and {b.shape}")
  rng = np.random.default_rng(seed)
  distances = []
  for _ in range(num_repeats):
    directions = rng.normal(size=(a.shape[1], num_directions))
    directions = (directions / np.linalg.norm(directions, axis=0, keepdims=True)).astype(a.dtype)
    projected_a, projected_b = np.sort(a @ directions, axis=0), np.sort(b @ directions, axis=0)
    distances.append(np.mean(np.abs(projected_a - projected_b), dtype=np.float64))
  return float(np.mean(distances))


def swd(images1: np.ndarray, images2: np.ndarray, num_levels: int = 3, per_image: int = 16,
        seed: int = 0) -> list[float]:
  """The sliced Wasserstein distance between two image sets at each Laplacian pyramid level
  (Karras et al. 2018, Appendix D, adapted to 28x28: 3 levels, 28x28 to 7x7, 7x7 patches).

  At each level, `per_image` random 7x7 patches of every image (one at the 7x7 level)
  are flattened to descriptors; each set's descriptors are normalized to zero mean and
  unit standard deviation (over all their values, as Karras et al. normalize each
  colour channel), and the two sets compared with `sliced_wasserstein`. Reported, as by
  Karras et al., times 1e3: lower is better; a real-vs-real baseline shows the sampling
  noise, which is largest at the coarsest level (one descriptor per image).

  Args:
    images1, images2: uint8 [N, 28, 28] (or float), the same N.
    num_levels: pyramid levels (finest first).
    per_image: patches drawn per image and level (Karras et al.: 128; 16 here, for CPU time).
    seed: of the patch positions and the directions.
  Returns:
    [num_levels] floats, finest level first.
  Raises:
    ValueError: sets of different sizes.
  """
  if images1.shape != images2.shape:
    raise ValueError(f"swd needs two image sets of one shape, got {images1.shape} and {images2.shape}")
  distances = []
  pyramids = [laplacian_pyramid(np.asarray(x, np.float32) / 255.0, num_levels) for x in (images1, images2)]
  for level, (level1, level2) in enumerate(zip(*pyramids)):
    descriptors = []
    for pyramid_level in (level1, level2):
      d = patch_descriptors(pyramid_level, per_image, seed=seed * 1000 + level)
      descriptors.append((d - d.mean()) / max(float(d.std()), 1e-12))
    distances.append(1e3 * sliced_wasserstein(*descriptors, seed=seed * 1000 + level))
  return distances


def clustering_accuracy(labels: np.ndarray, clusters: np.ndarray, num_classes: int = 10) -> float:
  """Accuracy of cluster ids against labels under the best one-to-one matching (Hungarian algorithm).

  Args:
    labels, clusters: int [N], values in 0..num_classes-1.
  Returns:
    float in [0, 1].
  """
  counts = np.zeros((num_classes, num_classes), np.int64)
  np.add.at(counts, (clusters, labels), 1)
  rows, cols = scipy.optimize.linear_sum_assignment(-counts)
  return float(counts[rows, cols].sum() / len(labels))


def kmeans_accuracy(codes: np.ndarray, labels: np.ndarray, seed: int = 0) -> float:
  """k-means (k = 10, scikit-learn) on the codes, scored by `clustering_accuracy` against the labels."""
  clusters = sklearn.cluster.KMeans(n_clusters=10, n_init=10, random_state=seed).fit_predict(codes)
  return clustering_accuracy(np.asarray(labels, np.int64), clusters)


def linear_probe_accuracy(train_features: np.ndarray, train_labels: np.ndarray, test_features: np.ndarray,
                          test_labels: np.ndarray, l2: float = 1e-4, max_iterations: int = 300) -> float:
  """A linear probe of a representation: multinomial logistic regression fitted on the training
  features (standardized with the training set's mean and std), its accuracy on the test features.

  Minimizes the mean cross-entropy plus l2 / 2 * ||W||^2 over W [F, C] and b [C] by full-batch
  L-BFGS (optax.lbfgs, zoom line search) for max_iterations steps from zero, float32; the
  problem is convex, so the result does not depend on a seed.

  Args:
    train_features: [N, F] float; train_labels: int [N] in [0, C), C = max label + 1.
    test_features: [M, F] float; test_labels: int [M].
    l2: weight decay of W (not b), >= 0.
    max_iterations: L-BFGS steps.
  Returns:
    float in [0, 1].
  Raises:
    ValueError: features not 2-D or of different widths, or labels not matching them in length.
  """
  train_features, test_features = _as_matrix(train_features, "train_features"), _as_matrix(test_features, "test_features")
  if train_features.shape[1] != test_features.shape[1]:
    raise ValueError(f"train and test features must have one width, got {train_features.shape} and {test_features.shape}")
  if len(train_labels) != len(train_features) or len(test_labels) != len(test_features):
    raise ValueError("there must be one label per feature row")
  mean, std = train_features.mean(0), train_features.std(0) + 1e-6
  x = jnp.asarray((train_features - mean) / std, jnp.float32)
  y = jnp.asarray(train_labels, jnp.int32)
  num_classes = int(max(np.max(train_labels), np.max(test_labels))) + 1
  params = {"w": jnp.zeros((x.shape[1], num_classes)), "b": jnp.zeros((num_classes,))}
  return float(np.mean(np.argmax(np.asarray(_fit_probe(x, y, params, l2, max_iterations)(
      jnp.asarray((test_features - mean) / std, jnp.float32))), -1) == np.asarray(test_labels)))


def _fit_probe(x: jax.Array, y: jax.Array, params: dict, l2: float, max_iterations: int):
  def objective(p):
    logits = x @ p["w"] + p["b"]
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, y)) + 0.5 * l2 * jnp.sum(p["w"] ** 2)

  solver = optax.lbfgs()
  value_and_grad = optax.value_and_grad_from_state(objective)

  @jax.jit
  def fit(p):
    def step(_, carry):
      p, state = carry
      value, grad = value_and_grad(p, state=state)
      updates, state = solver.update(grad, state, p, value=value, grad=grad, value_fn=objective)
      return optax.apply_updates(p, updates), state
    return jax.lax.fori_loop(0, max_iterations, step, (p, solver.init(p)))[0]

  fitted = fit(params)
  return lambda features: features @ fitted["w"] + fitted["b"]
