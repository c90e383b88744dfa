"""Default configurations of the experiments (ml_collections ConfigDicts).

Every field can be overridden on the command line as --config.<name>=value.
"""

import ml_collections


def dcgan() -> ml_collections.ConfigDict:
  """Defaults: the TensorFlow DCGAN tutorial (MNIST, batch 256, 50 epochs, Adam 1e-4)."""
  return ml_collections.ConfigDict(dict(
      model="dcgan",
      dataset="mnist",
      data_dir="",
      latent_dim=100,
      generator_features=(256, 128, 64),
      discriminator_features=(64, 128),
      d_dropout=0.3,
      leaky_relu_slope=0.3,
      conv_transpose="subpixel",
      loss="non_saturating",
      k_d_steps=1,
      optimizer="tutorial",
      learning_rate=2e-4,
      b1=0.5,
      b2=0.999,
      momentum=0.9,
      batch_size=256,
      num_epochs=50,
      max_steps=0,
      seed=0,
      accelerator="auto",
      parallelism="sharding",
      sample_every_epochs=1,
      log_every_steps=10,
      checkpoint_every_steps=500,
      keep_checkpoints=3,
      show_progress=True,
  ))
