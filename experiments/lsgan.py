"""Trains an LSGAN (Mao et al. 2017) on MNIST or Fashion-MNIST.

  python -m experiments.lsgan --workdir=runs/lsgan_pearson                        # a=-1, b=1, c=0
  python -m experiments.lsgan --workdir=runs/lsgan_01 --ls_coding=zero_one        # a=0, b=1, c=1
  python -m experiments.lsgan --workdir=runs/lsgan_mlp --arch=mlp --optimizer=adam --batch_size=100

Rerunning the same command resumes from the newest checkpoint in --workdir.
"""

from absl import flags

from experiments import cli
from gan_jax import configs, experiment

cli.define_flags(configs.lsgan())
flags.adopt_module_key_flags(cli)

if __name__ == "__main__":
  cli.run(experiment.train)
