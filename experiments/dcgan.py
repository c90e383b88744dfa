"""Trains a DCGAN (Radford et al. 2016) on MNIST or Fashion-MNIST.

  python -m experiments.dcgan --workdir=runs/dcgan_mnist                          # the fast recipe, 2 epochs
  python -m experiments.dcgan --workdir=runs/dcgan_fashion --dataset=fashion_mnist
  python -m experiments.dcgan --workdir=runs/dcgan_tutorial --recipe=tf_tutorial  # the TF tutorial, 50 epochs

Rerunning the same command resumes from the newest checkpoint in --workdir.
"""

from absl import flags

from experiments import cli
from gan_jax import configs, experiment

cli.define_flags(configs.dcgan(), recipes=configs.DCGAN_RECIPES)
flags.adopt_module_key_flags(cli)

if __name__ == "__main__":
  cli.run(experiment.train)
