"""MLP encoder and decoder of the VAE (Kingma & Welling 2014), for 28x28x1 images.

  encoder: x [B, 28, 28, 1] -> 784 -> 512 -> 256 -> mean, logvar [B, latent_dim]
           (and, for a full-covariance posterior, L' [B, latent_dim, latent_dim])
  decoder: z [B, latent_dim] -> 256 -> 512 -> 784 Bernoulli logits -> [B, 28, 28, 1]
ReLU hidden units, as in the course's homework (784-512-256-2).
"""

from typing import Sequence

import flax.linen as nn
import jax


class VAEEncoder(nn.Module):
  """q(z|x): a Gaussian with diagonal or full covariance.

  Attributes:
    latent_dim: size of z (2 by default, so the latent space can be drawn).
    features: hidden widths (default 512, 256).
    posterior: "diagonal" (mean, logvar) or "full" (also a [latent_dim, latent_dim]
      matrix L' whose strictly lower triangle is used; Kingma & Welling 2019, Algorithm 2).
  """
  latent_dim: int = 2
  features: Sequence[int] = (512, 256)
  posterior: str = "diagonal"

  @nn.compact
  def __call__(self, x: jax.Array) -> tuple[jax.Array, ...]:
    """x: [B, 28, 28, 1] float32 in [0, 1] -> (mean, logvar) [B, latent_dim] (+ L' [B, d, d] for "full")."""
    h = x.reshape(x.shape[0], -1)
    for i, f in enumerate(self.features):
      h = nn.relu(nn.Dense(f, name=f"hidden_{i}")(h))
    mean = nn.Dense(self.latent_dim, name="mean")(h)
    logvar = nn.Dense(self.latent_dim, name="logvar")(h)
    if self.posterior == "diagonal":
      return mean, logvar
    if self.posterior != "full":
      raise ValueError(f"posterior must be 'diagonal' or 'full', got {self.posterior!r}")
    # Initialised at zero so training starts from the diagonal posterior.
    l_prime = nn.Dense(self.latent_dim * self.latent_dim, kernel_init=nn.initializers.zeros, name="l_prime")(h)
    return mean, logvar, l_prime.reshape(x.shape[0], self.latent_dim, self.latent_dim)


class VAEDecoder(nn.Module):
  """p(x|z): independent Bernoulli pixels.

  Attributes:
    features: hidden widths (default 256, 512).
    image_shape: (28, 28, 1).
  """
  features: Sequence[int] = (256, 512)
  image_shape: Sequence[int] = (28, 28, 1)

  @nn.compact
  def __call__(self, z: jax.Array) -> jax.Array:
    """z: [B, latent_dim] float32 -> logits [B, 28, 28, 1] float32 (p = sigmoid(logits))."""
    h = z
    for i, f in enumerate(self.features):
      h = nn.relu(nn.Dense(f, name=f"hidden_{i}")(h))
    size = 1
    for d in self.image_shape:
      size *= d
    return nn.Dense(size, name="logits")(h).reshape((z.shape[0],) + tuple(self.image_shape))
