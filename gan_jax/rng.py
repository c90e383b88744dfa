"""Named PRNG streams: every random draw of a run outside its train step.

A run's seed s gives independent streams fold_in(key(s), stream), one per job,
so adding a draw to one job never shifts the numbers of another. The numbers
are part of every recorded result: changing one changes the runs that use it.
(Inside a train step, the run key is folded with the step number and split per
phase: `gan_jax.train.make_train_step`.)
"""

import enum

import jax


class Stream(enum.IntEnum):
  """The streams of one seed."""
  INIT = 0             # initial parameters, and the run key the train step folds each step into
  FIXED_Z = 1          # the latents of the fixed-z sample grids drawn every epoch
  DATA_ORDER = 2       # the order of the training images: one permutation per epoch
  FIGURES = 3          # the end-of-run figures' draws (latents, real images, interpolation pairs)
  RECONSTRUCTIONS = 4  # the corruption shown in the autoencoder's reconstruction figures
  SPECTRAL_NORM = 5    # the starting vectors of the discriminator's spectral normalization
  IWAE = 7             # the importance samples of the VAE's test log-likelihood


def key(seed: int, stream: Stream) -> jax.Array:
  """The typed PRNG key of `stream` for `seed`: fold_in(jax.random.key(seed), stream)."""
  return jax.random.fold_in(jax.random.key(seed), int(stream))
