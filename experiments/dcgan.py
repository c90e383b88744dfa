"""Trains a DCGAN on MNIST or Fashion-MNIST (TF DCGAN tutorial defaults).

  python -m experiments.dcgan --workdir=runs/dcgan_mnist
  python -m experiments.dcgan --workdir=runs/dcgan_fashion --dataset=fashion_mnist --optimizer=dcgan_paper

Rerunning the same command resumes from the newest checkpoint in --workdir.
"""

from absl import app, flags

from experiments import cli
from gan_jax import configs, gan


cli.define_flags(configs.dcgan(), {
    "optimizer": (flags.DEFINE_string, "tutorial (Adam 1e-4), dcgan_paper (Adam 2e-4, beta1 0.5), adam, sgd_momentum"),
    "loss": (flags.DEFINE_string, "generator loss: non_saturating or minimax"),
})


def main(argv):
  del argv
  cli.run_main(lambda: gan.train(cli.config_from_flags(), flags.FLAGS.workdir))


if __name__ == "__main__":
  app.run(main)
