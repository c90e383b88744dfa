"""Flag plumbing shared by the experiment scripts (absl + ml_collections).

Each experiment defines its default ConfigDict. Every config field is reachable
as `--config.<name>=value`; the common ones also have short flags
(`--dataset`, `--batch_size`, ...) that win over the config when given.
"""

import sys
from typing import Callable

from absl import flags, logging
import ml_collections
from ml_collections import config_flags

from gan_jax.errors import GanJaxError

SHORT_FLAGS = {
    "dataset": (flags.DEFINE_string, "dataset: mnist or fashion_mnist"),
    "num_epochs": (flags.DEFINE_integer, "training epochs"),
    "max_steps": (flags.DEFINE_integer, "optional cap on train steps (0: none)"),
    "batch_size": (flags.DEFINE_integer, "global batch size (split across devices)"),
    "seed": (flags.DEFINE_integer, "PRNG seed of parameters, noise and data order"),
    "accelerator": (flags.DEFINE_string, "JAX backend: auto, cpu, gpu or tpu"),
    "parallelism": (flags.DEFINE_string, "data parallelism: sharding (jax.jit over a mesh) or pmap"),
    "sample_every_epochs": (flags.DEFINE_integer, "write a sample grid every this many epochs"),
    "data_dir": (flags.DEFINE_string, "directory holding <dataset>/*.gz (else $GAN_JAX_DATA_DIR, cache, registries)"),
}


def define_flags(default_config: ml_collections.ConfigDict, extra_short_flags: dict = ()) -> None:
  """Defines --workdir, --config.* and the short flags present in `default_config`."""
  flags.DEFINE_string("workdir", None, "directory for checkpoints, logs and figures", required=True)
  config_flags.DEFINE_config_dict("config", default_config, "experiment config (--config.name=value)")
  for name, (define, help_text) in {**SHORT_FLAGS, **dict(extra_short_flags)}.items():
    if name in default_config:
      define(name, None, f"{help_text} (default {default_config[name]!r}; same as --config.{name})")


def config_from_flags() -> ml_collections.ConfigDict:
  """The --config dict with the short flags that were given applied on top."""
  config = flags.FLAGS.config
  for name in config:
    if name in flags.FLAGS and flags.FLAGS[name].value is not None:
      config[name] = flags.FLAGS[name].value
  return config


def run_main(main: Callable[[], None]) -> None:
  """Runs main(); a GanJaxError becomes one line on stderr and exit status 2."""
  if not flags.FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
  try:
    main()
  except GanJaxError as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)
