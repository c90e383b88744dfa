"""Trains an autoencoder or a denoising autoencoder on MNIST or Fashion-MNIST.

  python -m experiments.autoencoder --workdir=runs/ae                                   # L2, no corruption
  python -m experiments.autoencoder --workdir=runs/dae --corruption=mask --corruption_level=0.3 \
      --recon_loss=bce --tied_weights                                                  # the classic DAE
  python -m experiments.autoencoder --workdir=runs/ae_conv --arch=conv

Rerunning the same command resumes from the newest checkpoint in --workdir.
"""

from absl import flags

from experiments import cli
from gan_jax import configs, experiment

cli.define_flags(configs.autoencoder())
flags.adopt_module_key_flags(cli)

if __name__ == "__main__":
  cli.run(experiment.train)
