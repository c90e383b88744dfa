"""Restoring a training run from its workdir: its config.json, its modules, a checkpoint, and its samples.

The run-orchestration floor of gan_jax, beside `gan_jax.experiment` (which trains
runs): it builds any family's modules (`gan_jax.gan`, `gan_jax.vae`), which the
scoring code (`gan_jax.evaluation`) never does. Used by experiments.sample and
experiments.evaluate.
"""

import json
import os
from typing import Any, NamedTuple, Optional, Sequence

import ml_collections
import numpy as np

from gan_jax import checkpoint as ckpt
from gan_jax import autoencoder, gan, gan_run, models, sampling, vae
from gan_jax.errors import CheckpointError, ConfigError
from gan_jax.models import build_discriminator, build_generator
from gan_jax.train import Schedule

MODEL_KINDS = ("gan", "vae", "autoencoder")


class Run(NamedTuple):
  """A training run restored from its workdir."""
  kind: str        # "gan" or "vae"
  config: ml_collections.ConfigDict
  modules: tuple   # (generator, discriminator) or (encoder, decoder)
  state: Any       # the TrainState of `step`
  step: int


def run_kind(config: ml_collections.ConfigDict) -> str:
  """'gan', 'vae' or 'autoencoder': the run's config.model_kind (gan_jax.configs sets it).

  Raises:
    CheckpointError: a config.json without model_kind (written before the field existed).
  """
  if config.get("model_kind") not in MODEL_KINDS:
    raise CheckpointError(f"the config.json of this run names no model_kind ({', '.join(MODEL_KINDS)}); "
                          f"add \"model_kind\": \"gan\" (or vae, autoencoder) to it")
  return config.model_kind


def read_config(workdir: str) -> ml_collections.ConfigDict:
  """The config.json of a training run.

  Raises:
    CheckpointError: no config.json in workdir.
  """
  path = os.path.join(workdir, "config.json")
  if not os.path.exists(path):
    raise CheckpointError(f"{path} not found; pass the --workdir of a training run")
  with open(path) as f:
    return ml_collections.ConfigDict(json.load(f))


def checkpoint_steps(workdir: str) -> list:
  """The steps of the complete checkpoints in workdir/checkpoints, ascending."""
  directory = os.path.join(workdir, "checkpoints")
  if not os.path.isdir(directory):
    return []
  return sorted(int(name) for name in os.listdir(directory) if name.isdigit())


def load_run(workdir: str, step: int | None = None, samplers_only: bool = True) -> Run:
  """Restores the GAN or VAE (or, with samplers_only=False, autoencoder) of a workdir at `step`
  (default: the newest checkpoint).

  Raises:
    CheckpointError: no config.json, no checkpoint, or a damaged one.
    ConfigError: the run is an autoencoder (it has no sampler) and samplers_only.
  """
  config = read_config(workdir)
  kind = run_kind(config)
  if kind == "autoencoder" and samplers_only:
    raise ConfigError(f"{workdir} holds an autoencoder, which does not generate samples; "
                      f"pass the workdir of a GAN or VAE run")
  steps = checkpoint_steps(workdir)
  if not steps:
    raise CheckpointError(f"no checkpoint in {workdir}/checkpoints; train first")
  if step is not None and step not in steps:
    raise CheckpointError(f"no checkpoint of step {step} in {workdir}; it has {', '.join(map(str, steps))}")
  if kind == "gan":
    modules = (build_generator(config), build_discriminator(config))
    optimizers = gan.optimizers_for(config, Schedule.from_config(config).steps_per_epoch)
    template = gan.init_state(config, *modules, optimizers)
  elif kind == "vae":
    modules = vae.build_modules(config)
    template = vae.init_state(config, *modules, vae.optimizers_for(config))
  else:
    modules = autoencoder.build_modules(config)
    template = autoencoder.init_state(config, *modules, autoencoder.optimizers_for(config))
  checkpointer = ckpt.Checkpointer(workdir)
  try:
    state = checkpointer.restore(template, step)
  except CheckpointError as e:
    raise CheckpointError(f"{e}; pass --step with one of its other checkpoints: "
                          f"{', '.join(str(s) for s in steps if s != (step or steps[-1])) or 'none'}") from e
  finally:
    checkpointer.close()
  return Run(kind, config, modules, state, int(state.step))


def num_classes(run: Run) -> int:
  """How many classes (InfoGAN: values of the categorical code) the run's generator is conditioned on
  (0: an unconditional model)."""
  return models.NUM_CLASSES if run.kind == "gan" and models.conditioning(run.config) else 0


def class_conditional(run: Run) -> bool:
  """Whether the run's generator draws a class asked for (CGAN, AC-GAN), so that its samples' labels
  are classes a classifier can check; an InfoGAN's categorical code is a class only up to a permutation."""
  return run.kind == "gan" and models.conditioning(run.config) in models.CLASS_CONDITIONINGS


def sample_labels(run: Run, num_samples: int, classes: Optional[Sequence[int]] = None) -> Optional[np.ndarray]:
  """The labels `generate_samples` draws a conditional GAN's samples with (int32 [num_samples],
  balanced over `classes`, default all; see gan_jax.sampling.sample_labels; for an InfoGAN, its
  categorical codes); None for other runs.

  Raises:
    ConfigError: bad classes, or classes for an unconditional model.
  """
  if not num_classes(run):
    if classes is not None:
      raise ConfigError("--labels needs a conditional run (trained with --conditioning=cgan, acgan or infogan)")
    return None
  return sampling.sample_labels(num_samples, num_classes(run), classes)


def generate_samples(run: Run, num_samples: int, seed: int = 0, classes: Optional[Sequence[int]] = None) -> np.ndarray:
  """The first `num_samples` images of `seed` (gan_jax.sampling): uint8 [num_samples, 28, 28].

  GANs: G(z) in inference mode (`gan_jax.gan.samples`); a class-conditional G draws sample
  i with `sample_labels(run, num_samples, classes)[i]`. VAEs: the decoder's Bernoulli means,
  the grey-value images the model describes (`gan_jax.vae.samples`).
  Raises:
    ConfigError: num_samples < 1; bad classes (see sample_labels).
  """
  sample_labels(run, 1, classes)  # checks the classes
  if run.kind == "gan":
    return gan.samples(run.modules[0], *gan.sampling_variables(run.state), run.config.latent_dim, num_samples, seed,
                       num_classes(run), classes)
  return vae.samples(run.modules[1], run.state.params["decoder"], run.config.latent_dim, num_samples, seed)


def representation(run: Run, images: np.ndarray) -> tuple[str, np.ndarray]:
  """What the run learned to represent images by, without labels: (a name, float32 [N, F]).

  Autoencoders: the codes h (`gan_jax.autoencoder.encode`); VAEs: the means of q(z|x); BiGANs:
  E(x); other GANs: D's penultimate features (`gan_jax.gan_run.discriminator_features`).
  Args:
    images: uint8 [N, 28, 28].
  Raises:
    ConfigError: a GAN whose D also takes labels (CGAN).
  """
  if run.kind == "autoencoder":
    return "codes", autoencoder.encode(run.modules[0], run.state.params, images)
  if run.kind == "vae":
    return "means of q(z|x)", vae.encode_means(run.modules[0], run.state.params, images)
  if run.config.get("bigan"):
    return "E(x)", gan_run.encode(run.config, run.state, images)
  return "D's penultimate features", gan_run.discriminator_features(run.modules[1], run.state, images)
