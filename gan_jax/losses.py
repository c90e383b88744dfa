"""Losses as pure functions: the GAN losses, and the per-example terms of the VAE and autoencoders.

GAN losses are functions of the discriminator's outputs, D(x) = sigmoid(logit),
written with `jax.nn.softplus`, which is exact and stable for logits of any size:
-log sigmoid(l) = softplus(-l) and -log(1 - sigmoid(l)) = softplus(l); the
least-squares and Wasserstein losses take D's raw outputs. They are means over
the batch (the log-loss games' in nats), and so is the WGAN-GP gradient penalty. The reconstruction, KL and log-density terms
(bernoulli_nll, squared_error, gaussian_kl, ...) return one value per example
[B], summed over pixels or latent dimensions; `reparameterize` and `corrupt`
draw the noise those models need.
"""

import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax


def discriminator_loss(real_logits: jax.Array, fake_logits: jax.Array, real_label: float = 1.0) -> jax.Array:
  """The discriminator's side of the minimax game (Goodfellow et al. 2014, eq. 1).

  D maximises V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))]; this returns -V,
  the quantity D minimises. At the optimum of a perfect G, D = 1/2 everywhere
  and the loss is 2 log 2.

  With real_label < 1 the real images' target is real_label instead of 1: the
  one-sided label smoothing of Salimans et al. 2016 ("Improved techniques for
  training GANs", Section 3.4), -E_x[r log D(x) + (1 - r) log(1 - D(x))].

  Args:
    real_logits: [B] float32, D's logits on real images x.
    fake_logits: [B'] float32, D's logits on generated images G(z).
    real_label: the target of real images, in (0, 1].
  Returns:
    scalar float32, nats.
  """
  if real_label == 1.0:
    real_term = jax.nn.softplus(-real_logits)
  else:
    real_term = real_label * jax.nn.softplus(-real_logits) + (1.0 - real_label) * jax.nn.softplus(real_logits)
  return jnp.mean(real_term) + jnp.mean(jax.nn.softplus(fake_logits))


def generator_loss_minimax(fake_logits: jax.Array) -> jax.Array:
  """The generator's saturating (minimax) loss, E_z[log(1 - D(G(z)))] (Goodfellow et al. 2014, eq. 1).

  G minimises this directly. Its gradient vanishes when D rejects the samples
  confidently (D(G(z)) -> 0), which is why the paper proposes the
  non-saturating loss (Section 3).

  Args:
    fake_logits: [B] float32, D's logits on G(z).
  Returns:
    scalar float32, nats, <= 0.
  """
  return -jnp.mean(jax.nn.softplus(fake_logits))


def generator_loss_non_saturating(fake_logits: jax.Array) -> jax.Array:
  """The generator's non-saturating loss, -E_z[log D(G(z))] (Goodfellow et al. 2014, Section 3).

  Same fixed point as the minimax loss, with strong gradients early in training.

  Args:
    fake_logits: [B] float32, D's logits on G(z).
  Returns:
    scalar float32, nats, >= 0.
  """
  return jnp.mean(jax.nn.softplus(-fake_logits))




def lsgan_discriminator_loss(real_outputs: jax.Array, fake_outputs: jax.Array, a: float = 0.0,
                             b: float = 1.0) -> jax.Array:
  """LSGAN discriminator loss (Mao et al. 2017, eq. 2).

  1/2 E_x[(D(x) - b)^2] + 1/2 E_z[(D(G(z)) - a)^2], with D's raw (linear)
  output: D is pulled to b on real images and to a on generated ones. For a
  fixed G the optimum is D*(x) = (b p_data(x) + a p_g(x)) / (p_data(x) + p_g(x)) (eq. 4).

  Args:
    real_outputs: [B] float32, D's outputs on real images (no sigmoid).
    fake_outputs: [B'] float32, D's outputs on G(z).
    a, b: the target codes of fake and real data.
  Returns:
    scalar float32.
  """
  return 0.5 * jnp.mean((real_outputs - b) ** 2) + 0.5 * jnp.mean((fake_outputs - a) ** 2)


def lsgan_generator_loss(fake_outputs: jax.Array, c: float = 1.0) -> jax.Array:
  """LSGAN generator loss (Mao et al. 2017, eq. 2): 1/2 E_z[(D(G(z)) - c)^2].

  c is the value G wants D to believe for fake data. With b - c = 1 and
  b - a = 2 (e.g. a = -1, b = 1, c = 0) minimising it minimises the Pearson
  chi-square divergence between p_data + p_g and 2 p_g (eq. 8); the 0-1 coding
  is a = 0, b = c = 1 (eq. 9).

  Args:
    fake_outputs: [B] float32, D's outputs on G(z) (no sigmoid).
    c: the generator's target code.
  Returns:
    scalar float32, >= 0.
  """
  return 0.5 * jnp.mean((fake_outputs - c) ** 2)


LS_CODINGS = {
    "zero_one": (0.0, 1.0, 1.0),   # a, b, c of Mao et al. 2017, eq. 9
    "pearson": (-1.0, 1.0, 0.0),   # b - c = 1, b - a = 2: the Pearson chi-square divergence (eq. 8)
}


def wasserstein_critic_loss(real_outputs: jax.Array, fake_outputs: jax.Array) -> jax.Array:
  """The WGAN critic's loss (Arjovsky et al. 2017, Algorithm 1): mean f(G(z)) - mean f(x).

  The critic f maximises E[f(x)] - E[f(G(z))]; over 1-Lipschitz f (which weight
  clipping or a gradient penalty approximates) that maximum is the Wasserstein-1
  distance between the data and the generator's distribution (the
  Kantorovich-Rubinstein duality), so minus this loss is the critic's estimate of it.

  Args:
    real_outputs: [B] float32, the critic's outputs on real images (linear, no sigmoid).
    fake_outputs: [B'] float32, on G(z).
  Returns:
    scalar float32.
  """
  return jnp.mean(fake_outputs) - jnp.mean(real_outputs)


def wasserstein_generator_loss(fake_outputs: jax.Array) -> jax.Array:
  """The WGAN generator's loss (Arjovsky et al. 2017, Algorithm 1): -mean f(G(z)).

  Args:
    fake_outputs: [B] float32, the critic's outputs on G(z).
  Returns:
    scalar float32.
  """
  return -jnp.mean(fake_outputs)


GRADIENT_NORM_EPS = 1e-12  # under the square root of the gradient norm: a finite penalty gradient where it is 0


def gradient_penalty(critic: Callable[[jax.Array], jax.Array], x_real: jax.Array, x_fake: jax.Array,
                     eps: jax.Array) -> jax.Array:
  """The WGAN-GP penalty without its weight (Gulrajani et al. 2017, Algorithm 1, line 8):
  the batch mean of (||grad_x f(x_hat)||_2 - 1)^2 at x_hat = eps x + (1 - eps) G(z).

  Args:
    critic: x [B, ...] -> outputs [B]; it must treat the examples independently
      (no BatchNorm), so that the gradient of sum_i f(x_hat_i) with respect to
      x_hat_i is example i's own gradient.
    x_real: [B, ...] float32 real images.
    x_fake: [B, ...] float32 generated images.
    eps: [B] float32 in [0, 1], one interpolation weight per example.
  Returns:
    scalar float32, >= 0 (norms are computed as sqrt(sum of squares + GRADIENT_NORM_EPS)).
  """
  weight = eps.reshape((-1,) + (1,) * (x_real.ndim - 1))
  x_hat = weight * x_real + (1.0 - weight) * x_fake
  grads = jax.grad(lambda x: jnp.sum(critic(x)))(x_hat)
  norms = jnp.sqrt(jnp.sum(jnp.square(grads.reshape(grads.shape[0], -1)), axis=1) + GRADIENT_NORM_EPS)
  return jnp.mean(jnp.square(norms - 1.0))


def infogan_information_loss(q: jax.Array, categories: jax.Array, continuous: jax.Array) -> tuple[jax.Array, dict]:
  """InfoGAN's L_I with its sign flipped, the loss both players minimize (Chen et al. 2016, eq. 5):
  -E[log Q(c | G(z, c))], the mean over the batch of the categorical code's cross-entropy plus the
  continuous codes' negative log-likelihood under a Gaussian of mean Q's output and fixed unit std
  (0.5 (c - mu)^2 per code; its constant 0.5 log(2 pi) is dropped, as it has no gradient).

  L_I(G, Q) = E[log Q(c | x)] + H(c) <= I(c; G(z, c)) (Lemma 5.1), so for the categorical code
  log(num_categories) - cross-entropy is a lower bound on the mutual information in nats.

  Args:
    q: [B, K + M] float32, Q's output on G(z, c): K categorical logits, then M means.
    categories: [B] int32 in [0, K), the categorical codes G was given.
    continuous: [B, M] float32, the continuous codes G was given.
  Returns:
    (loss, metrics): loss a float32 scalar; metrics {"info_categorical": the cross-entropy,
    "info_continuous": the Gaussian NLL, "info_bound": log K - cross-entropy (nats)}.
  """
  num_categories = q.shape[-1] - continuous.shape[-1]
  categorical = jnp.mean(optax.softmax_cross_entropy_with_integer_labels(q[:, :num_categories], categories))
  gaussian = jnp.mean(jnp.sum(0.5 * jnp.square(continuous - q[:, num_categories:]), axis=-1))
  return categorical + gaussian, {"info_categorical": categorical, "info_continuous": gaussian,
                                  "info_bound": jnp.log(float(num_categories)) - categorical}


class GanLoss(NamedTuple):
  """A GAN's pair of losses on D's outputs, and how its outputs read as D(x).

  Attributes:
    discriminator: (real_outputs [B], fake_outputs [B']) -> scalar.
    generator: fake_outputs [B] -> scalar.
    d_output: D's raw outputs -> the value reported as D(x): sigmoid for the
      log-loss games (a probability), identity for LSGAN (its targets are a and b)
      and for the WGAN critic (its scores).
    name: the loss's name in LOSSES.
  """
  discriminator: Callable[[jax.Array, jax.Array], jax.Array]
  generator: Callable[[jax.Array], jax.Array]
  d_output: Callable[[jax.Array], jax.Array]
  name: str = ""


LOSSES = ("minimax", "non_saturating", "least_squares", "wasserstein")


def make_gan_loss(name: str, ls_a: float = 0.0, ls_b: float = 1.0, ls_c: float = 1.0,
                  label_smoothing: float = 0.0) -> GanLoss:
  """The losses of one GAN variant.

  Args:
    name: "minimax" (Goodfellow et al. 2014, eq. 1, saturating G loss),
      "non_saturating" (the same D loss, G maximises log D(G(z))),
      "least_squares" (Mao et al. 2017 with codes ls_a, ls_b, ls_c), or
      "wasserstein" (Arjovsky et al. 2017: a critic with linear outputs; it needs
      a Lipschitz constraint, weight clipping or a gradient penalty, see gan_jax.gan).
    label_smoothing: s in [0, 1): D's target on real images is 1 - s (one-sided
      label smoothing, Salimans et al. 2016); log-loss games only.
  Raises:
    ValueError: unknown name, label_smoothing out of range or given for least squares.
  """
  if not 0.0 <= label_smoothing < 1.0:
    raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
  if name in ("minimax", "non_saturating"):
    d_loss = discriminator_loss
    if label_smoothing:
      d_loss = functools.partial(discriminator_loss, real_label=1.0 - label_smoothing)
    g_loss = generator_loss_minimax if name == "minimax" else generator_loss_non_saturating
    return GanLoss(d_loss, g_loss, jax.nn.sigmoid, name)
  if name in ("least_squares", "wasserstein") and label_smoothing:
    raise ValueError(f"label_smoothing applies to the log-loss games, not {name}")
  if name == "least_squares":
    return GanLoss(functools.partial(lsgan_discriminator_loss, a=ls_a, b=ls_b),
                   functools.partial(lsgan_generator_loss, c=ls_c), lambda outputs: outputs, name)
  if name == "wasserstein":
    return GanLoss(wasserstein_critic_loss, wasserstein_generator_loss, lambda outputs: outputs, name)
  raise ValueError(f"unknown GAN loss {name!r}; choose one of {', '.join(LOSSES)}")


# ---------------------------------------------------------------------------
# Autoencoders and the VAE (Kingma & Welling 2014).

LOG_2PI = 1.8378770664093453  # log(2 pi)


def bernoulli_nll(logits: jax.Array, x: jax.Array) -> jax.Array:
  """-log p(x|z) of independent Bernoulli pixels, summed per example (the cross-entropy).

  Args:
    logits: [B, ...] float32, decoder logits (p = sigmoid(logits)).
    x: [B, ...] float32 targets in [0, 1] (grey values or binarized).
  Returns:
    [B] float32, nats per example.
  """
  per_pixel = jax.nn.softplus(logits) - x * logits  # = -x log p - (1 - x) log(1 - p), stable
  return jnp.sum(per_pixel.reshape(per_pixel.shape[0], -1), axis=1)


def squared_error(x_recon: jax.Array, x: jax.Array) -> jax.Array:
  """||x_recon - x||^2 summed per example (the autoencoder's L2 reconstruction loss).

  Args:
    x_recon, x: [B, ...] float32.
  Returns:
    [B] float32, squared pixel units.
  """
  d = (x_recon - x).reshape(x.shape[0], -1)
  return jnp.sum(d * d, axis=1)


def gaussian_kl(mean: jax.Array, logvar: jax.Array) -> jax.Array:
  """KL(N(mean, diag(exp(logvar))) || N(0, I)) (Kingma & Welling 2014, Appendix B).

  -1/2 sum_j (1 + logvar_j - mean_j^2 - exp(logvar_j)).

  Args:
    mean, logvar: [B, latent_dim] float32; logvar is the natural log of the variance.
  Returns:
    [B] float32, nats, >= 0.
  """
  return -0.5 * jnp.sum(1.0 + logvar - mean ** 2 - jnp.exp(logvar), axis=1)


def full_covariance_factor(logvar: jax.Array, l_prime: jax.Array) -> jax.Array:
  """L = mask(L') + diag(sigma), the Cholesky factor of q(z|x)'s covariance.

  Kingma & Welling 2019 ("An Introduction to VAEs"), Algorithm 2: the mask keeps
  the strictly lower triangle of L', so diag(L) = sigma = exp(logvar / 2) > 0.

  Args:
    logvar: [B, d] float32.
    l_prime: [B, d, d] float32.
  Returns:
    L: [B, d, d] float32, lower triangular.
  """
  d = logvar.shape[-1]
  mask = jnp.tril(jnp.ones((d, d), logvar.dtype), k=-1)
  return l_prime * mask + jax.vmap(jnp.diag)(jnp.exp(0.5 * logvar))


def reparameterize(key: jax.Array, mean: jax.Array, logvar: jax.Array, l_prime=None) -> tuple[jax.Array, jax.Array]:
  """z = mean + L eps, eps ~ N(0, I): a sample of q(z|x) differentiable in its parameters.

  Kingma & Welling 2014, Section 2.4 (diagonal: L = diag(sigma)); Kingma & Welling 2019,
  Algorithm 2 (full covariance: L from `full_covariance_factor`).

  Args:
    key: typed PRNG key, or [B] keys (one per example).
    mean, logvar: [B, d] float32.
    l_prime: optional [B, d, d] float32 for the full-covariance posterior.
  Returns:
    (z [B, d] float32, eps [B, d] float32).
  """
  if key.ndim:
    eps = jax.vmap(lambda k: jax.random.normal(k, mean.shape[1:], mean.dtype))(key)
  else:
    eps = jax.random.normal(key, mean.shape, mean.dtype)
  if l_prime is None:
    return mean + jnp.exp(0.5 * logvar) * eps, eps
  return mean + jnp.einsum("bij,bj->bi", full_covariance_factor(logvar, l_prime), eps), eps


def gaussian_log_q(eps: jax.Array, logvar: jax.Array) -> jax.Array:
  """log q(z|x) at z = mean + L eps, for a diagonal or full L with diag(L) = exp(logvar / 2).

  Kingma & Welling 2019, Algorithm 2: log q = -sum_j (1/2 (eps_j^2 + log 2 pi) + log sigma_j);
  a triangular L has log|det L| = sum_j log sigma_j whatever its off-diagonal part.

  Args:
    eps: [B, d] float32, the noise that gave z.
    logvar: [B, d] float32.
  Returns:
    [B] float32, nats.
  """
  return -jnp.sum(0.5 * (eps ** 2 + LOG_2PI) + 0.5 * logvar, axis=1)


def standard_normal_log_p(z: jax.Array) -> jax.Array:
  """log N(z; 0, I): [B, d] -> [B] float32, nats."""
  return -0.5 * jnp.sum(z ** 2 + LOG_2PI, axis=1)


def full_covariance_kl(mean: jax.Array, logvar: jax.Array, l_prime: jax.Array) -> jax.Array:
  """KL(N(mean, L L^T) || N(0, I)) = 1/2 (tr(L L^T) + mean^T mean - d - log det(L L^T)).

  Args:
    mean, logvar: [B, d]; l_prime: [B, d, d] (see `full_covariance_factor`).
  Returns:
    [B] float32, nats, >= 0.
  """
  factor = full_covariance_factor(logvar, l_prime)
  trace = jnp.sum(factor ** 2, axis=(1, 2))
  return 0.5 * (trace + jnp.sum(mean ** 2, axis=1) - mean.shape[1] - jnp.sum(logvar, axis=1))


CORRUPTIONS = ("none", "mask", "gaussian")


def corrupt(key: jax.Array, x: jax.Array, kind: str, level: float) -> jax.Array:
  """The corruption process of a denoising autoencoder (Vincent et al. 2008).

  "mask": each pixel is set to 0 with probability `level` (masking noise, the
  course's corruption level); "gaussian": x + level * N(0, 1) (additive, not
  clipped); "none": x unchanged.

  Args:
    key: typed PRNG key, or [B] keys, one per example.
    x: [B, 28, 28, 1] float32 in [0, 1].
    kind: one of CORRUPTIONS.
    level: masking probability in [0, 1], or the Gaussian standard deviation (>= 0).
  Returns:
    x_tilde: like x.
  Raises:
    ValueError: unknown kind or level out of range.
  """
  if kind not in CORRUPTIONS:
    raise ValueError(f"corruption must be one of {', '.join(CORRUPTIONS)}, got {kind!r}")
  if kind == "none":
    return x
  if level < 0 or (kind == "mask" and level > 1):
    raise ValueError(f"corruption_level {level} out of range for {kind}")
  shape = x.shape[1:] if key.ndim else x.shape

  def draw(sample):  # one draw per example's key, or one for the whole batch
    return jax.vmap(sample)(key) if key.ndim else sample(key)

  if kind == "mask":
    keep = draw(lambda k: jax.random.bernoulli(k, 1.0 - level, shape))
    return jnp.where(keep, x, 0.0)
  return x + level * draw(lambda k: jax.random.normal(k, shape, x.dtype))
