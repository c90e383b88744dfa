"""Trains the vanilla MLP GAN (Goodfellow et al. 2014) on MNIST or Fashion-MNIST.

  python -m experiments.gan_mlp --workdir=runs/gan_mlp
  python -m experiments.gan_mlp --workdir=runs/gan_mlp_nodrop --d_dropout=0
  python -m experiments.gan_mlp --workdir=runs/gan_mlp_minimax --loss=minimax
  python -m experiments.gan_mlp --workdir=runs/gan_mlp_sgd --optimizer=sgd_momentum --config.learning_rate=0.01 --k_d_steps=2

Rerunning the same command resumes from the newest checkpoint in --workdir.
"""

from absl import flags

from experiments import cli
from gan_jax import configs, experiment

cli.define_flags(configs.gan_mlp())
flags.adopt_module_key_flags(cli)

if __name__ == "__main__":
  cli.run(experiment.train)
