"""Trains the VAE (Kingma & Welling 2014) on MNIST or Fashion-MNIST.

  python -m experiments.vae --workdir=runs/vae_z2                      # 2-D latent: manifold grid
  python -m experiments.vae --workdir=runs/vae_z20 --latent_dim=20
  python -m experiments.vae --workdir=runs/vae_full --posterior=full   # full-covariance q(z|x)

Rerunning the same command resumes from the newest checkpoint in --workdir.
"""

from absl import flags

from experiments import cli
from gan_jax import configs, experiment

cli.define_flags(configs.vae())
flags.adopt_module_key_flags(cli)

if __name__ == "__main__":
  cli.run(experiment.train)
