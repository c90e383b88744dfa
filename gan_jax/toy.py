"""Toy GANs with known densities: the theory of Goodfellow et al. 2014 made checkable.

1-D: p_data = N(mean, std^2). For a frozen generator with a known density p_g,
the discriminator trained to convergence approaches D*(x) = p_data(x) /
(p_data(x) + p_g(x)) (Proposition 1), and the game's value V(D*, G) is
C(G) = -log 4 + 2 JSD(p_data || p_g) (Theorem 1). For LSGAN (Mao et al. 2017,
eq. 4): D*(x) = (b p_data(x) + a p_g(x)) / (p_data(x) + p_g(x)).

2-D: a ring of 8 Gaussians, the standard picture of mode collapse.

Models and steps are the project's own: `gan_jax.gan.gan_phases` and
`gan_jax.train.make_train_step`, on vectors instead of images.
"""

import functools
from typing import NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from gan_jax import gan, losses
from gan_jax.models import spectral_norm
from gan_jax.train import TrainState, clip_parameters, create_train_state, make_train_step

# The data of toy step s come from fold_in(fold_in(run key, DATA_STREAM), s).
DATA_STREAM = 7
SPECTRAL_NORM_STREAM = 8  # fold_in(run key, this): the starting vectors of D's spectral normalization
# Seeds of the draws outside training, as offsets from the run's seed: the samples that
# estimate V(D, G) (seed + 1), the latents of the snapshots (1-D: seed + 100, ring: seed + 1000).
VALUE_SEED_OFFSET = 1
LINE_SNAPSHOT_SEED_OFFSET = 100
RING_SNAPSHOT_SEED_OFFSET = 1000


class ToyMLP(nn.Module):
  """A small MLP: [B, d_in] -> [B, d_out] (or [B] logits when squeeze), ReLU hidden units.

  Used as generator (z -> x) and as discriminator (x -> logit; `train` is accepted and ignored).
  """
  features: Sequence[int] = (32, 32)
  out_dim: int = 1
  squeeze: bool = False

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True) -> jax.Array:
    del train
    h = x
    for f in self.features:
      h = nn.relu(nn.Dense(f)(h))
    out = nn.Dense(self.out_dim)(h)
    return out[:, 0] if self.squeeze else out


class AffineGenerator(nn.Module):
  """G(z) = mu + sigma * z: with z ~ N(0, 1), p_g = N(mu, sigma^2), a density known exactly."""
  mu: float = 0.0
  sigma: float = 1.0

  @nn.compact
  def __call__(self, z: jax.Array, train: bool = True) -> jax.Array:
    del train
    self.param("unused", nn.initializers.zeros_init(), ())  # a parameter group for the optimizer
    return self.mu + self.sigma * z


def normal_pdf(x: np.ndarray, mean: float, std: float) -> np.ndarray:
  """Density of N(mean, std^2) at x."""
  return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * np.sqrt(2 * np.pi))


def optimal_discriminator(p_data: np.ndarray, p_g: np.ndarray) -> np.ndarray:
  """D*(x) = p_data(x) / (p_data(x) + p_g(x)) (Goodfellow et al. 2014, Proposition 1)."""
  return p_data / (p_data + p_g)


def lsgan_optimal_discriminator(p_data: np.ndarray, p_g: np.ndarray, a: float, b: float) -> np.ndarray:
  """D*(x) = (b p_data(x) + a p_g(x)) / (p_data(x) + p_g(x)) (Mao et al. 2017, eq. 4)."""
  return (b * p_data + a * p_g) / (p_data + p_g)


def jensen_shannon(p: np.ndarray, q: np.ndarray, dx: float) -> float:
  """JSD(p || q) in nats for densities sampled on a uniform grid of spacing dx (Riemann sum)."""
  m = 0.5 * (p + q)
  with np.errstate(divide="ignore", invalid="ignore"):
    kl_pm = np.where(p > 0, p * np.log(p / m), 0.0)
    kl_qm = np.where(q > 0, q * np.log(q / m), 0.0)
  return float(0.5 * (kl_pm.sum() + kl_qm.sum()) * dx)


def virtual_training_criterion(p_data: np.ndarray, p_g: np.ndarray, dx: float) -> float:
  """C(G) = max_D V(D, G) = -log 4 + 2 JSD(p_data || p_g) (Goodfellow et al. 2014, Theorem 1), nats."""
  return -np.log(4.0) + 2.0 * jensen_shannon(p_data, p_g, dx)


class ToyGan(NamedTuple):
  generator: nn.Module
  discriminator: nn.Module
  latent_dim: int
  sample_data: callable  # (key, n) -> [n, d] samples of p_data


def _init(toy: ToyGan, key: jax.Array, d_tx, g_tx, data_dim: int, spectral_norm_d: bool = False) -> TrainState:
  g_key, d_key, run_key = jax.random.split(key, 3)
  params = {"generator": toy.generator.init(g_key, jnp.zeros((2, toy.latent_dim)))["params"],
            "discriminator": toy.discriminator.init(d_key, jnp.zeros((2, data_dim)))["params"]}
  batch_stats = {"generator": {}, "discriminator": {}}
  if spectral_norm_d:
    batch_stats[gan.SPECTRAL_NORM_GROUP] = spectral_norm.init_vectors(params["discriminator"],
                                                                      jax.random.fold_in(run_key, SPECTRAL_NORM_STREAM))
  return create_train_state(params, batch_stats,
                            {"discriminator": (d_tx, ("discriminator",)), "generator": (g_tx, ("generator",))},
                            run_key)


def make_trainer(toy: ToyGan, loss: losses.GanLoss, batch_size: int, d_tx, g_tx, data_dim: int,
                 k_d_steps: int = 1, train_generator: bool = True, gradient_penalty: float = 0.0,
                 spectral_norm_d: bool = False):
  """(init(key) -> state, run(state, num_steps) -> (state, last metrics)), jitted, with fresh data every step.

  train_generator=False drops the generator phase: D is trained against a frozen G.
  gradient_penalty: the WGAN-GP penalty's weight; spectral_norm_d: D's weights spectrally
  normalized (see gan_jax.gan.gan_phases).
  """
  phases = gan.gan_phases(toy.generator, toy.discriminator, latent_dim=toy.latent_dim, k_d_steps=k_d_steps, loss=loss,
                          gradient_penalty=gradient_penalty, spectral_norm_d=spectral_norm_d)
  if not train_generator:
    phases = phases[:-1]
  step = make_train_step(phases, {"discriminator": (d_tx, ("discriminator",)), "generator": (g_tx, ("generator",))})

  @functools.partial(jax.jit, static_argnums=1)
  def run(state: TrainState, num_steps: int):
    def body(carry, _):
      state = carry
      x = toy.sample_data(jax.random.fold_in(jax.random.fold_in(state.key, DATA_STREAM), state.step),
                          batch_size * k_d_steps)
      return step(state, {"x": x.reshape(batch_size, k_d_steps, data_dim)})
    state, metrics = jax.lax.scan(body, state, None, length=num_steps)
    return state, jax.tree.map(lambda m: m[-1], metrics)

  return (lambda key: _init(toy, key, d_tx, g_tx, data_dim, spectral_norm_d)), run


def ring_of_gaussians(num_modes: int = 8, radius: float = 2.0, std: float = 0.02):
  """(sample(key, n) -> [n, 2], centres [num_modes, 2]): equal mixture of N(centre, std^2 I) on a circle."""
  angles = 2 * np.pi * np.arange(num_modes) / num_modes
  centres = np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1).astype(np.float32)

  def sample(key, n):
    k1, k2 = jax.random.split(key)
    idx = jax.random.randint(k1, (n,), 0, num_modes)
    return jnp.asarray(centres)[idx] + std * jax.random.normal(k2, (n, 2))

  return sample, centres


def mode_coverage(samples: np.ndarray, centres: np.ndarray, std: float, min_count: int = 20) -> dict:
  """Mode collapse as numbers, for a mixture of isotropic Gaussians.

  A sample is "high quality" when it lies within 3 std of its nearest centre; a
  mode is "covered" when at least `min_count` high-quality samples fall on it
  (the measure of Srivastava et al. 2017, VEEGAN, and Metz et al. 2017).

  Returns:
    {"modes_covered": int, "high_quality_fraction": float, "counts": per-mode list}.
  """
  d = np.linalg.norm(samples[:, None, :] - centres[None], axis=2)
  nearest, dist = d.argmin(axis=1), d.min(axis=1)
  good = dist < 3 * std
  counts = np.bincount(nearest[good], minlength=len(centres))
  return {"modes_covered": int((counts >= min_count).sum()), "high_quality_fraction": float(good.mean()),
          "counts": counts.tolist()}


def check_optimal_discriminator(loss_name: str = "non_saturating", data_mean: float = 0.0, data_std: float = 1.0,
                                g_mean: float = 1.5, g_std: float = 0.7, num_steps: int = 3000,
                                batch_size: int = 512, seed: int = 0, ls_codes=(0.0, 1.0, 1.0)) -> dict:
  """Trains D against a frozen affine G and compares it with the theory.

  Args:
    loss_name: "non_saturating" (the log-loss D objective; its G loss is not used) or "least_squares".
    data_mean, data_std: p_data = N(data_mean, data_std^2).
    g_mean, g_std: p_g = N(g_mean, g_std^2), the frozen generator.
    ls_codes: (a, b, c) for least_squares.
  Returns:
    {"x": grid [n], "d": D's output on the grid (probability, or raw for LSGAN), "d_star": the
     theoretical optimum, "max_abs_error": max |D - D*| where p_data + p_g >= 5% of its peak,
     "value": V(D, G) estimated on 200,000 samples (log-loss only), "c_of_g": -log 4 + 2 JSD}.
  """
  a, b, c = ls_codes
  loss = losses.make_gan_loss(loss_name, a, b, c)
  toy = ToyGan(AffineGenerator(g_mean, g_std), ToyMLP((64, 64), squeeze=True), 1,
               lambda key, n: data_mean + data_std * jax.random.normal(key, (n, 1)))
  init, run = make_trainer(toy, loss, batch_size, optax.adam(1e-3), optax.adam(0.0), 1, train_generator=False)
  state, _ = run(init(jax.random.key(seed)), num_steps)
  x = np.linspace(min(data_mean - 4 * data_std, g_mean - 4 * g_std), max(data_mean + 4 * data_std,
                                                                          g_mean + 4 * g_std), 2001)
  p_data, p_g = normal_pdf(x, data_mean, data_std), normal_pdf(x, g_mean, g_std)
  d_apply = jax.jit(lambda v: loss.d_output(toy.discriminator.apply(
      {"params": state.params["discriminator"]}, v, train=False)))
  d = np.asarray(d_apply(jnp.asarray(x[:, None], jnp.float32)), np.float64)
  if loss_name == "least_squares":
    d_star = lsgan_optimal_discriminator(p_data, p_g, a, b)
  else:
    d_star = optimal_discriminator(p_data, p_g)
  support = (p_data + p_g) >= 0.05 * (p_data + p_g).max()
  result = {"x": x, "d": d, "d_star": d_star, "max_abs_error": float(np.abs(d - d_star)[support].max())}
  if loss_name != "least_squares":
    key_r, key_f = jax.random.split(jax.random.key(seed + VALUE_SEED_OFFSET))
    real = data_mean + data_std * jax.random.normal(key_r, (200_000, 1))
    fake = g_mean + g_std * jax.random.normal(key_f, (200_000, 1))
    logits = lambda v: toy.discriminator.apply({"params": state.params["discriminator"]}, v, train=False)
    # V(D, G) = E log D(x) + E log(1 - D(G(z))) = -(the discriminator loss).
    result["value"] = -float(losses.discriminator_loss(logits(real), logits(fake)))
    result["c_of_g"] = virtual_training_criterion(p_data, p_g, x[1] - x[0])
  return result


def check_critic_w1(data_mean: float = 0.0, g_mean: float = 2.0, std: float = 1.0, gp_weight: float = 10.0,
                    num_steps: int = 2000, batch_size: int = 512, seed: int = 0) -> dict:
  """Trains a WGAN-GP critic (Gulrajani et al. 2017) against a frozen affine G and compares
  its estimate of the Wasserstein-1 distance with the closed form.

  For p_data = N(data_mean, std^2) and p_g = N(g_mean, std^2), W1 = |data_mean - g_mean|
  (shifting every point is the optimal transport), and f(x) = +-x is an optimal
  1-Lipschitz critic. The penalty is soft: among critics of slope s, the critic's
  objective s * W1 - gp_weight * (s - 1)^2 is largest at s = 1 + W1 / (2 gp_weight), so
  the estimate tends to W1 * (1 + W1 / (2 gp_weight)), above W1 by W1 / (2 gp_weight)
  of it (10% for W1 = 2 and gp_weight 10; it vanishes as gp_weight grows).

  Returns:
    {"estimate": mean f(x) - mean f(G(z)) over 200,000 samples of each, "w1": the closed
     form, "penalized_optimum": W1 * (1 + W1 / (2 gp_weight)), "gradient_penalty": the
     last step's penalty}.
  """
  loss = losses.make_gan_loss("wasserstein")
  toy = ToyGan(AffineGenerator(g_mean, std), ToyMLP((64, 64), squeeze=True), 1,
               lambda key, n: data_mean + std * jax.random.normal(key, (n, 1)))
  init, run = make_trainer(toy, loss, batch_size, optax.adam(1e-3, b1=0.5, b2=0.9), optax.adam(0.0), 1,
                           train_generator=False, gradient_penalty=gp_weight)
  state, metrics = run(init(jax.random.key(seed)), num_steps)
  key_r, key_f = jax.random.split(jax.random.key(seed + VALUE_SEED_OFFSET))
  critic = lambda v: toy.discriminator.apply({"params": state.params["discriminator"]}, v, train=False)
  real = data_mean + std * jax.random.normal(key_r, (200_000, 1))
  fake = g_mean + std * jax.random.normal(key_f, (200_000, 1))
  w1 = abs(data_mean - g_mean)
  return {"estimate": -float(losses.wasserstein_critic_loss(critic(real), critic(fake))), "w1": w1,
          "penalized_optimum": w1 * (1 + w1 / (2 * gp_weight)), "gradient_penalty": float(metrics["gradient_penalty"])}


def train_1d_gan(num_steps: int = 4000, snapshots: Sequence[int] = (0, 250, 1000, 4000), data_mean: float = 4.0,
                 data_std: float = 0.5, batch_size: int = 256, seed: int = 0, k_d_steps: int = 5) -> list:
  """An MLP G (z ~ N(0, 1) -> x, 32-32 ReLU) against an MLP D (64-64) on p_data = N(data_mean, data_std^2).

  k_d_steps = 5 D updates per G update with Adam 1e-3 (beta1 0.5): with k = 1 and an
  equally small D, G collapsed to about half of p_data's width (std 0.27 against
  0.5 after 4,000 steps); with k = 5 it reached std 0.49.

  Returns:
    [{"step", "x_fake": 20,000 samples of p_g, "grid", "d": D(x) on the grid}] at each snapshot step.
  """
  toy = ToyGan(ToyMLP((32, 32)), ToyMLP((64, 64), squeeze=True), 1,
               lambda key, n: data_mean + data_std * jax.random.normal(key, (n, 1)))
  loss = losses.make_gan_loss("non_saturating")
  tx = optax.adam(1e-3, b1=0.5)
  init, run = make_trainer(toy, loss, batch_size, tx, tx, 1, k_d_steps)
  state = init(jax.random.key(seed))
  grid = np.linspace(data_mean - 6, data_mean + 4, 400).astype(np.float32)
  out, done = [], 0
  for snap in sorted(snapshots):
    if snap > done:
      state, _ = run(state, snap - done)
      done = snap
    z = jax.random.normal(jax.random.key(seed + LINE_SNAPSHOT_SEED_OFFSET), (20_000, 1))
    x_fake = toy.generator.apply({"params": state.params["generator"]}, z)
    d = jax.nn.sigmoid(toy.discriminator.apply({"params": state.params["discriminator"]}, grid[:, None]))
    out.append({"step": snap, "x_fake": np.asarray(x_fake)[:, 0], "grid": grid, "d": np.asarray(d)})
  return out


class RingVariant(NamedTuple):
  """One way of training the ring GAN: a loss, D's regularizer and the optimizers its paper used."""
  loss: str
  k_d_steps: int = 1
  clip_value: float = 0.0          # > 0: WGAN's weight clipping of D
  gradient_penalty: float = 0.0    # > 0: WGAN-GP's penalty weight
  spectral_norm: bool = False
  optimizer: str = "adam"          # adam (learning_rate, beta1 0.5) or the papers' own (below)


# The comparison of issue 13 (results/README.md). WGAN and WGAN-GP use the settings of
# Gulrajani et al.'s toy code (gan_toy.py): RMSProp 5e-5 with clipping 0.01, and Adam 1e-4
# (0.5, 0.9) with lambda = 0.1 (their toy value), each with 5 critic updates per G update.
RING_VARIANTS = {
    "minimax": RingVariant("minimax"),
    "non_saturating": RingVariant("non_saturating"),
    "least_squares": RingVariant("least_squares"),
    "wgan": RingVariant("wasserstein", k_d_steps=5, clip_value=0.01, optimizer="wgan"),
    "wgan_gp": RingVariant("wasserstein", k_d_steps=5, gradient_penalty=0.1, optimizer="wgan_gp"),
    "non_saturating_sn": RingVariant("non_saturating", spectral_norm=True),
}


def _ring_optimizers(variant: RingVariant, learning_rate: float):
  """(d_tx, g_tx) of a ring variant."""
  if variant.optimizer == "wgan":
    tx = optax.rmsprop(5e-5, decay=0.99, eps=1e-8, eps_in_sqrt=False)
  elif variant.optimizer == "wgan_gp":
    tx = optax.adam(1e-4, b1=0.5, b2=0.9)
  else:
    tx = optax.adam(learning_rate, b1=0.5)
  d_tx = optax.chain(tx, clip_parameters(variant.clip_value)) if variant.clip_value else tx
  return d_tx, tx


def train_ring(variant_name: str, seed: int = 0, num_steps: int = 20000, snapshots: Sequence[int] = (),
               batch_size: int = 256, std: float = 0.02, num_samples: int = 2500,
               learning_rate: float = 1e-3) -> dict:
  """A 2-D GAN on the ring of 8 Gaussians (Metz et al. 2017, Figure 2 set-up).

  G: z (256-D, N(0, I)) -> 128 -> 128 -> 2, D: 2 -> 128 -> 128 -> 1, both ReLU, Adam (beta1 0.5)
  at learning_rate unless the variant (RING_VARIANTS) uses its paper's optimizer.

  Args:
    variant_name: a key of RING_VARIANTS (the plain losses are named as in gan_jax.losses).
  Returns:
    {"samples": {step: [num_samples, 2]} at each snapshot and at num_steps, "centres": [8, 2],
     "coverage": mode_coverage at num_steps}.
  Raises:
    KeyError: an unknown variant.
  """
  variant = RING_VARIANTS[variant_name]
  sample, centres = ring_of_gaussians(std=std)
  toy = ToyGan(ToyMLP((128, 128), out_dim=2), ToyMLP((128, 128), squeeze=True), 256, sample)
  loss = losses.make_gan_loss(variant.loss, *losses.LS_CODINGS["zero_one"])
  d_tx, g_tx = _ring_optimizers(variant, learning_rate)
  init, run = make_trainer(toy, loss, batch_size, d_tx, g_tx, 2, k_d_steps=variant.k_d_steps,
                           gradient_penalty=variant.gradient_penalty, spectral_norm_d=variant.spectral_norm)
  state = init(jax.random.key(seed))
  z = jax.random.normal(jax.random.key(seed + RING_SNAPSHOT_SEED_OFFSET), (num_samples, toy.latent_dim))
  samples, done = {}, 0
  for snap in sorted(set(snapshots) | {num_steps}):
    if snap > done:
      state, _ = run(state, snap - done)
      done = snap
    samples[snap] = np.asarray(toy.generator.apply({"params": state.params["generator"]}, z))
  return {"samples": samples, "centres": centres, "coverage": mode_coverage(samples[num_steps], centres, std)}
