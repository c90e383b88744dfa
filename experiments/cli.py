"""Flag plumbing shared by the experiment scripts (absl + ml_collections).

Each experiment defines its default ConfigDict. Every config field is reachable
as `--config.<name>=value`; the common ones also have short flags
(`--dataset`, `--batch_size`, ...) that win over the config when given.
--distributed, --coordinator_address, --num_processes and --process_id make the
process one of a multi-process run (see README, "Several processes or hosts").
"""

import os
import sys
from typing import Any, Callable

from absl import app, flags, logging
import ml_collections
from ml_collections import config_flags

from gan_jax import parallel
from gan_jax.errors import ConfigError, GanJaxError

SHORT_FLAGS = {
    "dataset": (flags.DEFINE_string, "dataset: mnist or fashion_mnist"),
    "num_epochs": (flags.DEFINE_integer, "training epochs"),
    "max_steps": (flags.DEFINE_integer, "optional cap on train steps (0: none)"),
    "max_train_minutes": (flags.DEFINE_float, "optional training-time budget in minutes: the run ends, as if "
                          "complete, after the step that passes it (0: none)"),
    "batch_size": (flags.DEFINE_integer, "global batch size (split across devices)"),
    "seed": (flags.DEFINE_integer, "PRNG seed of parameters, noise and data order"),
    "accelerator": (flags.DEFINE_string, "JAX backend: auto, cpu, gpu or tpu"),
    "parallelism": (flags.DEFINE_string, "data parallelism: sharding (jax.jit over a mesh) or pmap"),
    "sample_every_epochs": (flags.DEFINE_integer, "write a sample grid every this many epochs"),
    "data_dir": (flags.DEFINE_string, "directory holding <dataset>/*.gz (else $GAN_JAX_DATA_DIR, cache, registries)"),
    "data_source": (flags.DEFINE_string, "training data: idx (the IDX files) or tfds (tensorflow-datasets' "
                                         "prepared copy; pip install -e '.[tfds]')"),
    "precision": (flags.DEFINE_string, "float32, or bfloat16: mixed precision (bfloat16 operands of the convolutions "
                                       "and matrix products, float32 accumulation, parameters and optimizer)"),
    "nan_policy": (flags.DEFINE_string, "non-finite losses or parameters: stop (the run ends naming the step; the "
                                        "last finite checkpoint is kept) or skip_step (that step's update is dropped)"),
    # GAN experiments
    "arch": (flags.DEFINE_string, "architecture: dcgan or mlp (GANs); mlp or conv (autoencoder)"),
    "loss": (flags.DEFINE_string, "GAN losses: non_saturating, minimax, least_squares or wasserstein"),
    "critic_regularizer": (flags.DEFINE_string, "D's Lipschitz constraint: clip (WGAN, --config.clip_value) or "
                           "gradient_penalty (WGAN-GP, --config.gp_weight); empty: none"),
    "conditioning": (flags.DEFINE_string, "class-conditional GANs: cgan (G(z, y) and D(x, y); Mirza & Osindero "
                     "2014) or acgan (G(z, y) and D with an auxiliary classifier; Odena et al. 2017); infogan "
                     "(G(z, c) with latent codes that D's Q head recovers, no labels; Chen et al. 2016)"),
    "bigan": (flags.DEFINE_boolean, "BiGAN (ALI): an encoder E: x -> z trained with G, and D on (x, z) pairs "
              "(Donahue et al. 2016); figures of x -> E(x) -> G(E(x))"),
    "spectral_norm": (flags.DEFINE_boolean, "spectral normalization of D's weights (Miyato et al. 2018)"),
    "instance_noise": (flags.DEFINE_float, "std of Gaussian noise on every image D sees, pixel range [-1, 1] "
                       "(annealed to 0 over --config.instance_noise_steps steps; 0: off)"),
    "optimizer": (flags.DEFINE_string,
                  "tutorial (Adam 1e-4), dcgan_paper (Adam 2e-4, beta1 0.5), adam (--config.learning_rate, "
                  "--config.b1), sgd_momentum (--config.learning_rate, --config.momentum), rmsprop "
                  "(--config.learning_rate)"),
    "k_d_steps": (flags.DEFINE_integer, "discriminator updates per generator update"),
    "d_dropout": (flags.DEFINE_float, "dropout rate in the discriminator"),
    "ls_coding": (flags.DEFINE_string, "LSGAN codes: zero_one (a=0, b=1, c=1) or pearson (a=-1, b=1, c=0)"),
    "ls_a": (flags.DEFINE_float, "LSGAN target of D on fake data"),
    "ls_b": (flags.DEFINE_float, "LSGAN target of D on real data"),
    "ls_c": (flags.DEFINE_float, "LSGAN target G wants D to give fake data"),
    # VAE and autoencoders
    "latent_dim": (flags.DEFINE_integer, "size of the latent z (VAE) or code (autoencoder)"),
    "posterior": (flags.DEFINE_string, "VAE q(z|x): diagonal or full (covariance)"),
    "binarize": (flags.DEFINE_boolean, "VAE: train on a fresh stochastic binarization of each batch "
                 "(dynamically binarized MNIST), and report test ELBOs on a fixed binarization"),
    "eval_every_epochs": (flags.DEFINE_integer, "GANs: score config.eval_samples samples (FID etc.) every this many "
                          "epochs and keep the best checkpoint by FID in <workdir>/best (0: never)"),
    "code_dim": (flags.DEFINE_integer, "autoencoder code size"),
    "recon_loss": (flags.DEFINE_string, "autoencoder loss: l2 or bce (sigmoid outputs, cross-entropy)"),
    "corruption": (flags.DEFINE_string, "denoising corruption: none, mask or gaussian"),
    "corruption_level": (flags.DEFINE_float, "masked fraction of pixels, or the Gaussian noise's std"),
    "tied_weights": (flags.DEFINE_boolean, "decoder uses the encoder's transposed weights (mlp only)"),
}


_RECIPES: dict = {}


def define_distributed_flags() -> None:
  """--distributed, --coordinator_address, --num_processes, --process_id: one process of a multi-process run."""
  flags.DEFINE_boolean("distributed", False, "join JAX's distributed runtime (implied by the three flags below or "
                       "$JAX_COORDINATOR_ADDRESS); on a Cloud TPU pod or under SLURM, Open MPI or Kubernetes "
                       "JAX finds the settings it is not given")
  flags.DEFINE_string("coordinator_address", "", "host:port of process 0, the same for every process")
  flags.DEFINE_integer("num_processes", 0, "how many processes the run has (one per host, usually)")
  flags.DEFINE_integer("process_id", -1, "this process's index, 0 .. num_processes - 1")


def start_distributed_if_asked() -> None:
  """Starts JAX's distributed runtime when the flags or $JAX_COORDINATOR_ADDRESS ask for it.

  Raises:
    DistributedError: see gan_jax.parallel.start_distributed.
  """
  f = flags.FLAGS
  if f.distributed or f.coordinator_address or f.num_processes > 1 or os.environ.get("JAX_COORDINATOR_ADDRESS"):
    parallel.start_distributed(f.coordinator_address, f.num_processes, f.process_id)


def define_flags(default_config: ml_collections.ConfigDict,
                 recipes: dict[str, Callable[[], ml_collections.ConfigDict]] | None = None) -> None:
  """Defines --workdir, --config.* and the short flags of the fields present in `default_config`.

  Args:
    default_config: the experiment's config when no --recipe is given.
    recipes: optional {name: () -> ConfigDict}; defines --recipe=NAME, whose config
      replaces the default before the --config.* and short flags are applied.
  """
  flags.DEFINE_string("workdir", None, "directory for checkpoints, logs and figures", required=True)
  define_distributed_flags()
  config_flags.DEFINE_config_dict("config", default_config, "experiment config (--config.name=value)")
  for name, (define, help_text) in SHORT_FLAGS.items():
    if name in default_config:
      define(name, None, f"{help_text} (default {default_config[name]!r}; same as --config.{name})")
  if recipes:
    _RECIPES.update(recipes)
    flags.DEFINE_string("recipe", None, f"named config: {' or '.join(recipes)} (default {default_config.recipe!r}); "
                        f"--config.* and the short flags apply on top of it")


def config_from_flags() -> ml_collections.ConfigDict:
  """The --config dict (or the --recipe's) with the --config.* overrides and the short flags given applied on top.

  Raises:
    ConfigError: unknown --recipe.
  """
  config = flags.FLAGS.config
  if _RECIPES and flags.FLAGS.recipe is not None:
    if flags.FLAGS.recipe not in _RECIPES:
      raise ConfigError(f"unknown --recipe={flags.FLAGS.recipe!r}; choose one of {', '.join(_RECIPES)}")
    config = _RECIPES[flags.FLAGS.recipe]()
    config.update_from_flattened_dict(flags.FLAGS["config"].override_values)
  for name in config:
    if name in flags.FLAGS and flags.FLAGS[name].value is not None:
      config[name] = flags.FLAGS[name].value
  return config


def run(train: Callable[[ml_collections.ConfigDict, str], Any]) -> None:
  """The main program of an experiment (after define_flags): flags -> config -> train(config, workdir)."""

  def main(argv):
    del argv

    def start_and_train():
      start_distributed_if_asked()
      train(config_from_flags(), flags.FLAGS.workdir)
    run_main(start_and_train)

  app.run(main)


def run_main(main: Callable[[], None]) -> None:
  """Runs main(); a GanJaxError becomes one line on stderr and exit status 2."""
  if not flags.FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
  try:
    main()
  except GanJaxError as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)
