"""Trains the VAE (Kingma & Welling 2014) on MNIST or Fashion-MNIST.

  python -m experiments.vae --workdir=runs/vae_z2                      # 2-D latent: manifold grid
  python -m experiments.vae --workdir=runs/vae_z20 --latent_dim=20
  python -m experiments.vae --workdir=runs/vae_full --posterior=full   # full-covariance q(z|x)

Rerunning the same command resumes from the newest checkpoint in --workdir.
"""

from absl import app, flags

from experiments import cli
from gan_jax import configs, vae

cli.define_flags(configs.vae())
flags.adopt_module_key_flags(cli)


def main(argv):
  del argv
  cli.run_main(lambda: vae.train(cli.config_from_flags(), flags.FLAGS.workdir))


if __name__ == "__main__":
  app.run(main)
