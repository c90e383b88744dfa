"""BiGAN's encoder and joint discriminator (Donahue et al. 2016, "Adversarial Feature Learning";
the same model as ALI, Dumoulin et al. 2016), for 28x28x1 images.

  E: x [B, 28, 28, 1] -> z [B, latent_dim], deterministic (the paper's Section 3):
     dcgan arch: stride-2 convolutions (D's widths) with LeakyReLU -> flatten -> Dense latent_dim;
     mlp arch: Dense layers (D's widths) with LeakyReLU -> Dense latent_dim.
  D(x, z): the architecture's discriminator on x with a second input plane, Dense(z) reshaped to
     28x28 (`gan_jax.models.conditional.discriminate_with_plane`, as a CGAN's D sees its label).
"""

from typing import Optional, Sequence

import flax.linen as nn
import jax

from gan_jax.models.conditional import PlaneDiscriminator, discriminate_with_plane


class BiGANEncoder(nn.Module):
  """E: x -> z, BiGAN's encoder.

  Attributes:
    latent_dim: size of z.
    features: widths of the hidden layers (the discriminator's).
    convolutional: stride-2 convolutions of side kernel_size (dcgan) or dense layers (mlp).
    kernel_size: side of the convolution kernels.
    leaky_relu_slope: negative slope of the LeakyReLUs.
  """
  latent_dim: int = 100
  features: Sequence[int] = (64, 128)
  convolutional: bool = True
  kernel_size: int = 5
  leaky_relu_slope: float = 0.2

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True) -> jax.Array:
    """x: [B, 28, 28, 1] float32 in [-1, 1] -> z: [B, latent_dim] float32 (`train` is unused: no dropout
    or BatchNorm, so the examples stay independent under any data parallelism)."""
    del train
    h = x if self.convolutional else x.reshape(x.shape[0], -1)
    for i, f in enumerate(self.features):
      if self.convolutional:
        h = nn.Conv(f, (self.kernel_size, self.kernel_size), strides=(2, 2), padding="SAME", name=f"conv_{i}")(h)
      else:
        h = nn.Dense(f, name=f"hidden_{i}")(h)
      h = nn.leaky_relu(h, self.leaky_relu_slope)
    return nn.Dense(self.latent_dim, name="z")(h.reshape(h.shape[0], -1))


class JointDiscriminator(PlaneDiscriminator):
  """D(x, z) of BiGAN: `discriminator` on x with Dense(z) as a second input plane.

  Attributes:
    discriminator: the wrapped module, x [B, 28, 28, 2] -> logits [B].
  """

  @nn.compact
  def __call__(self, x: jax.Array, z: jax.Array, train: bool = True,
               example_keys: Optional[jax.Array] = None) -> jax.Array:
    """x: [B, 28, 28, 1] float32 in [-1, 1], z: [B, latent_dim] float32 -> logits [B] float32."""
    return discriminate_with_plane(self.discriminator, x, z, "latent_plane", train, example_keys)
