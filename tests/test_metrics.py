"""The scores of gan_jax.metrics on inputs whose answer is known."""

import numpy as np
import pytest
import scipy.linalg
import sklearn.linear_model

from gan_jax import data, metrics
from tests.conftest import DATA_DIR


@pytest.fixture(scope="module")
def reference_images():
  """(MNIST test images, training images), uint8."""
  return data.load("mnist", "test", DATA_DIR or None)[0], data.load("mnist", "train", DATA_DIR or None)[0]


def _gaussian(rng, n, d, mean=0.0, scale=1.0):
  return (mean + scale * rng.standard_normal((n, d))).astype(np.float32)


def test_frechet_distance_of_a_set_with_itself_is_zero():
  f = _gaussian(np.random.default_rng(0), 2000, 16)
  assert metrics.frechet_distance_of_features(f, f) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_matches_the_closed_form():
  rng = np.random.default_rng(1)
  d = 6
  mean1, mean2 = rng.standard_normal(d), rng.standard_normal(d)
  # Diagonal covariances: tr(C1 + C2 - 2 (C1 C2)^(1/2)) = sum (s1 - s2)^2 for standard deviations s.
  s1, s2 = rng.uniform(0.5, 2, d), rng.uniform(0.5, 2, d)
  expected = np.sum((mean1 - mean2) ** 2) + np.sum((s1 - s2) ** 2)
  assert metrics.frechet_distance(mean1, np.diag(s1 ** 2), mean2, np.diag(s2 ** 2)) == pytest.approx(expected, rel=1e-9)
  # Full covariances that do not commute, against scipy's matrix square root.
  a, b = rng.standard_normal((d, d)), rng.standard_normal((d, d))
  c1, c2 = a @ a.T + 0.1 * np.eye(d), b @ b.T + 0.1 * np.eye(d)
  expected = np.sum((mean1 - mean2) ** 2) + np.trace(c1 + c2 - 2 * np.real(scipy.linalg.sqrtm(c1 @ c2)))
  assert metrics.frechet_distance(mean1, c1, mean2, c2) == pytest.approx(expected, rel=1e-6)
  with pytest.raises(ValueError):
    metrics.frechet_distance(mean1, c1, mean2[:3], c2)


def test_frechet_distance_of_samples_approaches_the_gaussians_distance():
  rng = np.random.default_rng(2)
  f1, f2 = _gaussian(rng, 20000, 4), _gaussian(rng, 20000, 4, mean=1.0, scale=2.0)
  # ||m1 - m2||^2 = 4, sum (s1 - s2)^2 = 4.
  assert metrics.frechet_distance_of_features(f1, f2) == pytest.approx(8.0, rel=0.03)


def test_classifier_score_bounds():
  eye = np.eye(10)
  uniform_one_hot = np.tile(eye, (100, 1))       # every class equally often, each sample certain
  score, _ = metrics.classifier_score(uniform_one_hot)
  assert score == pytest.approx(10.0, rel=1e-6)
  single_class = np.tile(eye[3], (1000, 1))
  assert metrics.classifier_score(single_class)[0] == pytest.approx(1.0, abs=1e-6)
  uncertain = np.full((1000, 10), 0.1)
  assert metrics.classifier_score(uncertain)[0] == pytest.approx(1.0, abs=1e-6)
  with pytest.raises(ValueError):
    metrics.classifier_score(uniform_one_hot[:5])


def test_kid_is_about_zero_for_one_distribution_and_positive_for_two():
  rng = np.random.default_rng(3)
  a, b = _gaussian(rng, 2000, 16), _gaussian(rng, 2000, 16)
  mean, stderr = metrics.kernel_inception_distance(a, b, num_subsets=50, subset_size=500)
  assert abs(mean) < 3 * stderr + 1e-4
  shifted = _gaussian(rng, 2000, 16, mean=0.5)
  mean_shifted, stderr_shifted = metrics.kernel_inception_distance(a, shifted, num_subsets=50, subset_size=500)
  assert mean_shifted > 10 * stderr_shifted and mean_shifted > 10 * abs(mean)


def test_precision_and_recall():
  rng = np.random.default_rng(4)
  real = _gaussian(rng, 1000, 8)
  assert metrics.precision_recall(real, real) == (1.0, 1.0)
  # Collapsed samples (all near one real point) are precise but recall nothing.
  collapsed = real[:1] + 0.001 * _gaussian(rng, 1000, 8)
  precision, recall = metrics.precision_recall(real, collapsed)
  assert precision == 1.0 and recall < 0.05
  far = _gaussian(rng, 1000, 8, mean=20.0)
  assert metrics.precision_recall(real, far) == (0.0, 0.0)


def test_class_coverage_counts_modes():
  eye = np.eye(10)
  balanced = metrics.class_coverage(np.tile(eye, (50, 1)))
  assert balanced.classes_covered == 10 and balanced.kl_to_uniform == pytest.approx(0.0, abs=1e-12)
  collapsed = metrics.class_coverage(np.concatenate([np.tile(eye[7], (995, 1)), eye[:5]]))
  assert collapsed.classes_covered == 1  # five stray samples (0.5% each class) are under the 1% bar
  assert collapsed.kl_to_uniform == pytest.approx(np.log(10), abs=0.05)
  np.testing.assert_allclose(collapsed.histogram.sum(), 1.0)


def test_memorization_tells_copies_from_new_images():
  rng = np.random.default_rng(5)
  images = rng.integers(0, 256, (600, 28, 28), dtype=np.uint8)
  train, test = images[:400], images[400:500]
  copies = metrics.memorization(train[:100], train, test)
  assert copies.ratio < 1e-3 and copies.fraction_closer == 1.0  # 0 up to float32 round-off
  fresh = metrics.memorization(images[500:], train, test)
  assert 0.9 < fresh.ratio < 1.1 and fresh.fraction_closer < 0.1
  # Precomputed test distances (as gan_jax.evaluation caches them) give the same answer.
  cached = metrics.memorization(images[500:], train, test_distances=metrics.nearest_training_distances(test, train))
  assert cached == fresh


def test_one_nn_accuracy():
  rng = np.random.default_rng(6)
  a, b = _gaussian(rng, 1000, 4), _gaussian(rng, 1000, 4)
  assert 0.44 < metrics.one_nn_accuracy(a, b) < 0.56
  assert metrics.one_nn_accuracy(a, _gaussian(rng, 1000, 4, mean=50.0)) == 1.0
  # Copies of the real points: each point's nearest other point is its twin in the other set.
  assert metrics.one_nn_accuracy(a, a.copy()) == 0.0


def test_nearest_neighbors_matches_brute_force():
  rng = np.random.default_rng(0)
  refs = rng.normal(size=(57, 6, 6)).astype(np.float32)
  queries = np.concatenate([refs[[3, 40]] + 0.01, rng.normal(size=(5, 6, 6)).astype(np.float32)])
  d, i = metrics.nearest_neighbors(queries, refs, k=4, chunk_size=10)  # several chunks
  brute = np.linalg.norm(queries.reshape(7, 1, -1).astype(np.float64) - refs.reshape(1, 57, -1), axis=2)
  np.testing.assert_array_equal(i, np.argsort(brute, axis=1)[:, :4])
  np.testing.assert_allclose(d, np.sort(brute, axis=1)[:, :4], rtol=1e-6)
  assert list(i[:2, 0]) == [3, 40]


def test_nearest_neighbors_measures_near_copies_exactly():
  # Pixel-scale images (0..255) and copies 0.5 grey levels away in 36 pixels: the
  # fast form |q|^2 + |r|^2 - 2 q.r loses these distances to float32 rounding.
  rng = np.random.default_rng(1)
  refs = rng.uniform(0, 255, size=(300, 6, 6)).astype(np.float32)
  queries = refs[[7, 123, 299]] + 0.5
  d, i = metrics.nearest_neighbors(queries, refs, k=2, chunk_size=128)
  np.testing.assert_array_equal(i[:, 0], [7, 123, 299])
  np.testing.assert_allclose(d[:, 0], 3.0, rtol=1e-6)  # sqrt(36 * 0.5^2)


def test_laplacian_pyramid_levels_add_back_up_to_the_image():
  images = np.random.default_rng(0).uniform(size=(3, 28, 28)).astype(np.float32)
  levels = metrics.laplacian_pyramid(images, 3)
  assert [lv.shape[1:] for lv in levels] == [(28, 28), (14, 14), (7, 7)]
  upsample = lambda x: metrics._blur(np.repeat(np.repeat(x, 2, axis=1), 2, axis=2))
  np.testing.assert_allclose(levels[0] + upsample(levels[1] + upsample(levels[2])), images, atol=1e-5)
  with pytest.raises(ValueError, match="divisible by 8"):
    metrics.laplacian_pyramid(images, 4)


def test_sliced_wasserstein_is_zero_for_one_set_and_the_mean_projected_shift_for_a_shifted_one():
  """b = a + delta: along a unit direction u the sorted projections differ by u . delta, so the
  distance is E|u . delta| = |delta| Gamma(D/2) / (sqrt(pi) Gamma((D+1)/2)) for u uniform on the sphere
  (tolerance 2%: the Monte Carlo error of 4 x 4096 directions)."""
  from math import gamma, pi, sqrt
  a = np.random.default_rng(1).normal(size=(500, 5)).astype(np.float32)
  assert metrics.sliced_wasserstein(a, a.copy()) == 0.0
  delta = np.array([0.3, -1.2, 0.5, 0.0, 2.0], np.float32)
  expected = np.linalg.norm(delta) * gamma(5 / 2) / (sqrt(pi) * gamma(3))
  got = metrics.sliced_wasserstein(a, a + delta, num_directions=4096)
  assert got == pytest.approx(expected, rel=0.02)
  with pytest.raises(ValueError, match="one shape"):
    metrics.sliced_wasserstein(a, a[:10])


def test_swd_of_images_is_zero_for_one_set_and_grows_with_noise_beyond_the_real_baseline(reference_images):
  test_images, train_images = reference_images
  assert metrics.swd(test_images[:1000], test_images[:1000].copy()) == [0.0, 0.0, 0.0]
  baseline = metrics.swd(test_images[:1000], train_images[:1000])
  noise = np.random.default_rng(0).normal(0, 40, size=(1000, 28, 28))
  noisy = np.clip(train_images[:1000] + noise, 0, 255).astype(np.uint8)
  damaged = metrics.swd(test_images[:1000], noisy)
  assert damaged[0] > 3 * baseline[0]  # pixel noise is fine-scale detail: the finest level sees it


def test_linear_probe_reaches_the_logistic_regression_optimum_and_chance_on_random_labels():
  """The probe's test accuracy equals scikit-learn's logistic regression (same objective: mean
  cross-entropy + l2/2 ||W||^2, lbfgs) within 1%, on overlapping 5-class Gaussians in 20-D; separated
  classes give 1; labels independent of the features give chance (1/5)."""
  rng = np.random.default_rng(0)
  centres = rng.normal(size=(5, 20))
  def draw(n, spread):
    y = rng.integers(0, 5, n)
    return centres[y] + spread * rng.normal(size=(n, 20)), y
  (x, y), (xt, yt) = draw(4000, 1.5), draw(2000, 1.5)
  ours = metrics.linear_probe_accuracy(x, y, xt, yt, l2=1e-3)
  mean, std = x.mean(0), x.std(0) + 1e-6
  reference = sklearn.linear_model.LogisticRegression(C=1 / (1e-3 * len(x)), max_iter=2000).fit((x - mean) / std, y)
  assert 0.5 < ours < 0.99
  assert ours == pytest.approx(reference.score((xt - mean) / std, yt), abs=0.01)
  (x, y), (xt, yt) = draw(1000, 0.05), draw(500, 0.05)
  assert metrics.linear_probe_accuracy(x, y, xt, yt) == 1.0
  random = metrics.linear_probe_accuracy(x, rng.integers(0, 5, 1000), xt, rng.integers(0, 5, 500))
  assert 0.12 < random < 0.3
  with pytest.raises(ValueError, match="one width"):
    metrics.linear_probe_accuracy(x, y, xt[:, :3], yt)


def test_kmeans_accuracy_finds_separated_clusters_whatever_their_numbering():
  rng = np.random.default_rng(1)
  labels = rng.integers(0, 10, 1000)
  points = 10 * rng.normal(size=(10, 8))[labels] + 0.1 * rng.normal(size=(1000, 8))
  assert metrics.kmeans_accuracy(points, labels) == 1.0
  assert metrics.kmeans_accuracy(points, (labels + 3) % 10) == 1.0
