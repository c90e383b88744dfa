"""A LeNet-style CNN classifier of 28x28x1 images, the domain feature network.

After LeCun et al. 1998 ("Gradient-based learning applied to document
recognition"), in its modern form (ReLU, max pooling, dropout; Srivastava et
al. 2014), as in the Keras and PyTorch MNIST examples:

  x [N, 28, 28, 1] in [0, 1] -> Conv 5x5 SAME -> 32 -> ReLU -> MaxPool 2x2 (14x14)
    -> Conv 5x5 SAME -> 64 -> ReLU -> MaxPool 2x2 (7x7) -> flatten
    -> Dense 128 -> ReLU (the features) -> Dropout 0.5 -> Dense 10 (the logits)

Trained on MNIST and on Fashion-MNIST by `gan_jax.feature_nets.train`, its
penultimate activations serve as the feature space of the FID-style scores of
generated digits and clothes, in place of ImageNet's Inception network. No
BatchNorm, so the weights are one pure params tree.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax


class LeNet(nn.Module):
  """Image -> (class logits, penultimate features).

  Attributes:
    features: widths of the two convolutions (each followed by ReLU and a 2x2 max pool).
    hidden: width of the penultimate dense layer, the feature dimension.
    num_classes: number of classes (10 for MNIST and Fashion-MNIST).
    dropout: dropout rate on the features, applied only when training.
  """
  features: Sequence[int] = (32, 64)
  hidden: int = 128
  num_classes: int = 10
  dropout: float = 0.5

  @nn.compact
  def __call__(self, x: jax.Array, *, train: bool = False) -> tuple[jax.Array, jax.Array]:
    """Classifies images.

    Args:
      x: [N, 28, 28, 1] float32 in [0, 1] (0 is background).
      train: True applies dropout and needs the "dropout" PRNG stream.
    Returns:
      (logits, features): logits [N, num_classes] float32 (unnormalised log
      probabilities); features [N, hidden] float32, the ReLU activations of the
      penultimate layer, before dropout.
    """
    h = x
    for i, f in enumerate(self.features):
      h = nn.Conv(f, (5, 5), padding="SAME", name=f"conv_{i}")(h)
      h = nn.max_pool(nn.relu(h), (2, 2), strides=(2, 2))
    h = h.reshape(h.shape[0], -1)
    features = nn.relu(nn.Dense(self.hidden, name="hidden")(h))
    h = nn.Dropout(self.dropout, deterministic=not train)(features)
    return nn.Dense(self.num_classes, name="logits")(h), features
