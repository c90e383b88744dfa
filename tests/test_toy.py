"""The theory of GANs on 1-D Gaussians with known densities (stated tolerances), and mode coverage."""

import numpy as np
import pytest

from gan_jax import toy


def test_criterion_is_minus_log_4_when_the_densities_match():
  x = np.linspace(-8, 8, 4001)
  p = toy.normal_pdf(x, 0.0, 1.0)
  assert toy.virtual_training_criterion(p, p, x[1] - x[0]) == pytest.approx(-np.log(4.0), abs=1e-9)
  far = toy.normal_pdf(x, 6.0, 0.5)  # nearly disjoint supports: JSD -> log 2, C(G) -> 0
  assert toy.virtual_training_criterion(p, far, x[1] - x[0]) == pytest.approx(0.0, abs=1e-3)


def test_trained_discriminator_matches_d_star_and_the_value_of_the_game():
  # Tolerances: |D - D*| <= 0.05 where p_data + p_g is at least 5% of its peak;
  # |V(D, G) - (-log 4 + 2 JSD)| <= 0.01 nats (V estimated on 200,000 samples).
  r = toy.check_optimal_discriminator("non_saturating", num_steps=3000)
  assert r["max_abs_error"] <= 0.05
  assert abs(r["value"] - r["c_of_g"]) <= 0.01
  assert r["c_of_g"] > -np.log(4.0) + 0.1  # p_g != p_data: the criterion is above its minimum


@pytest.mark.parametrize("codes", [(0.0, 1.0, 1.0), (-1.0, 1.0, 0.0)])
def test_lsgan_discriminator_matches_its_optimum(codes):
  # Tolerance: |D - D*| <= 0.06 (b - a), on the same support, D* = (b p_data + a p_g) / (p_data + p_g).
  a, b, _ = codes
  r = toy.check_optimal_discriminator("least_squares", num_steps=3000, ls_codes=codes)
  assert r["max_abs_error"] <= 0.06 * (b - a)


def test_mode_coverage_counts_modes_and_quality():
  _, centres = toy.ring_of_gaussians(std=0.02)
  rng = np.random.default_rng(0)
  on_three = np.concatenate([c + 0.02 * rng.normal(size=(100, 2)) for c in centres[:3]])
  off = np.zeros((100, 2))  # the ring's centre: far from every mode
  cov = toy.mode_coverage(np.concatenate([on_three, off]), centres, 0.02)
  assert cov["modes_covered"] == 3
  assert cov["high_quality_fraction"] == pytest.approx(300 * 0.9973 / 400, abs=0.01)


@pytest.mark.slow
def test_wgan_gp_critic_estimates_the_wasserstein_distance_of_two_gaussians():
  """N(0, 1) against N(2, 1): W1 = 2. The gradient penalty is soft, so the best critic's slope is
  1 + W1 / (2 lambda) and its estimate W1 (1 + W1 / (2 lambda)) = 2.2 at lambda = 10 (toy.check_critic_w1).
  Tolerances: within 0.05 of that optimum, and so within 12.5% of the closed form W1."""
  r = toy.check_critic_w1(data_mean=0.0, g_mean=2.0, gp_weight=10.0, num_steps=1000)
  assert r["w1"] == 2.0 and r["penalized_optimum"] == pytest.approx(2.2)
  assert abs(r["estimate"] - r["penalized_optimum"]) <= 0.05
  assert abs(r["estimate"] - r["w1"]) <= 0.125 * r["w1"]


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["wgan", "non_saturating_sn"])
def test_ring_variants_train_with_their_cures(variant):
  """The clipped critic (RMSProp, 5 critic steps) and the spectrally normalized D train on the ring;
  an unknown variant is a KeyError and experiments.toy refuses it in one line."""
  r = toy.train_ring(variant, num_steps=20, snapshots=(10,), num_samples=100)
  assert sorted(r["samples"]) == [10, 20] and r["samples"][20].shape == (100, 2)
  assert np.all(np.isfinite(r["samples"][20])) and 0 <= r["coverage"]["modes_covered"] <= 8
  with pytest.raises(KeyError):
    toy.train_ring("wgan_sn", num_steps=10)
