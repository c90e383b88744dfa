"""Trains a DCGAN (Radford et al. 2016) on MNIST or Fashion-MNIST, TF DCGAN tutorial defaults.

  python -m experiments.dcgan --workdir=runs/dcgan_mnist
  python -m experiments.dcgan --workdir=runs/dcgan_fashion --dataset=fashion_mnist --optimizer=dcgan_paper

Rerunning the same command resumes from the newest checkpoint in --workdir.
"""

from absl import flags

from experiments import cli
from gan_jax import configs, gan

cli.define_flags(configs.dcgan())
flags.adopt_module_key_flags(cli)

if __name__ == "__main__":
  cli.run(gan.train)
