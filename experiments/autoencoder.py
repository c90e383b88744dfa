"""Trains an autoencoder or a denoising autoencoder on MNIST or Fashion-MNIST.

  python -m experiments.autoencoder --workdir=runs/ae                                   # L2, no corruption
  python -m experiments.autoencoder --workdir=runs/dae --corruption=mask --corruption_level=0.3 \
      --recon_loss=bce --tied_weights                                                  # the classic DAE
  python -m experiments.autoencoder --workdir=runs/ae_conv --arch=conv

Rerunning the same command resumes from the newest checkpoint in --workdir.
"""

from absl import app, flags

from experiments import cli
from gan_jax import autoencoder, configs

cli.define_flags(configs.autoencoder())
flags.adopt_module_key_flags(cli)


def main(argv):
  del argv
  cli.run_main(lambda: autoencoder.train(cli.config_from_flags(), flags.FLAGS.workdir))


if __name__ == "__main__":
  app.run(main)
