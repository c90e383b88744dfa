"""The GAN game: its train-step phases, its state, its optimizers and its samples.

Goodfellow et al. 2014, Algorithm 1: each train step makes `k_d_steps`
discriminator updates, each on its own minibatch of real images and of noise,
then one generator update on fresh noise. The generator's and the
discriminator's modules and losses are arguments, so the MLP GAN, DCGAN and
LSGAN share this code, and so do the toy GANs of `gan_jax.toy`. The GAN as a
training run (figures, in-training scores) is `gan_jax.gan_run`.
"""

import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from gan_jax import data, losses, models, parallel, rng, sampling
from gan_jax.errors import ConfigError
from gan_jax.models import spectral_norm
from gan_jax.models.conditional import continuous_codes
from gan_jax.parallel import Collective
from gan_jax.train import (ParamAverage, Phase, TrainState, clip_parameters, create_train_state, example_keys,
                           make_optimizer)


def sample_latent(key: jax.Array, batch_size: int, latent_dim: int, collective: Collective = parallel.SINGLE_DEVICE) -> jax.Array:
  """z ~ N(0, I), [batch_size, latent_dim] float32, drawn per example of the global batch."""
  return jax.vmap(lambda k: jax.random.normal(k, (latent_dim,)))(example_keys(key, batch_size, collective))


def sample_labels(key: jax.Array, batch_size: int, num_classes: int,
                  collective: Collective = parallel.SINGLE_DEVICE) -> jax.Array:
  """Class labels y ~ Uniform{0, ..., num_classes - 1}, [batch_size] int32, drawn per example of the global batch."""
  return jax.vmap(lambda k: jax.random.randint(k, (), 0, num_classes))(example_keys(key, batch_size, collective))


def label_arguments(labels: Any, z: Any = None) -> dict:
  """The keyword arguments that hand a conditional module its labels, {"labels": labels}, and
  BiGAN's D(x, z) its z, {"z": z}; an argument that is None is left out (an unconditional module)."""
  return {**({} if labels is None else {"labels": labels}), **({} if z is None else {"z": z})}


def discriminate(discriminator: nn.Module, params: Any, batch_stats: Any, x: jax.Array, key: jax.Array,
                 collective: Collective = parallel.SINGLE_DEVICE, labels: Any = None, z: Any = None) -> tuple[Any, Any]:
  """D's output on x [B, ...] in train mode, and D's updated BatchNorm statistics.

  The output is D's: logits [B], or (logits, class_logits [B, C]) for an AC-GAN D.
  labels: [B] int32 for a class-conditional D(x, y) (CGAN), else None.
  z: [B, latent_dim] float32 for BiGAN's joint D(x, z), else None.

  Without BatchNorm (batch_stats == {}), each example gets its own dropout key, so
  the masks are independent of the device count (see `gan_jax.train.example_keys`):
  a DCGAN D with fast convolution gradients (conv_gradients="fast") takes the
  batch and the per-example keys; any other D is applied example by example
  under `vmap`. With BatchNorm, D is applied to the whole
  batch (its statistics couple the examples) with the key's one dropout stream.
  """
  given = label_arguments(labels, z)
  if batch_stats:
    out, updates = discriminator.apply({"params": params, "batch_stats": batch_stats}, x, train=True,
                                       rngs={"dropout": key}, mutable=["batch_stats"], **given)
    return out, updates["batch_stats"]
  if getattr(discriminator, "conv_gradients", "autodiff") == "fast":
    # gan_jax.models.conv's custom gradients want the whole batch (under vmap its weight
    # gradient would be formed per example); D draws per-example dropout masks itself.
    keys = example_keys(key, x.shape[0], collective)
    return discriminator.apply({"params": params}, x, train=True, example_keys=keys, **given), {}

  def one(x_i, key_i, given_i):
    out = discriminator.apply({"params": params}, x_i[None], train=True, rngs={"dropout": key_i},
                              **jax.tree.map(lambda y: y[None], given_i))
    return jax.tree.map(lambda o: o[0], out)
  return jax.vmap(one)(x, example_keys(key, x.shape[0], collective), given), {}


def split_discriminator_output(out: Any) -> tuple[jax.Array, Any]:
  """(logits [B], class_logits [B, C] or None) from D's output (see `discriminate`)."""
  return out if isinstance(out, tuple) else (out, None)


def _class_loss(class_logits: jax.Array, labels: jax.Array) -> jax.Array:
  """The AC-GAN class term: mean cross-entropy -log P(C = y | x) (Odena et al. 2017, eq. 2's L_C, negated)."""
  return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(class_logits, labels))


def _generate_train(generator: nn.Module, params: Any, batch_stats: Any, z: jax.Array,
                    labels: Any = None) -> tuple[jax.Array, Any]:
  x_fake, updates = generator.apply({"params": params, "batch_stats": batch_stats}, z, train=True,
                                    mutable=["batch_stats"], **label_arguments(labels))
  return x_fake, updates["batch_stats"]


@jax.custom_vjp
def _with_pullback(params: Any, output: jax.Array, pullback: Any) -> jax.Array:
  """`output` (computed earlier from `params`), differentiable with respect to `params` through
  `pullback`, the function jax.vjp returned when it computed output: no second forward pass."""
  del params, pullback
  return output


def _with_pullback_fwd(params, output, pullback):
  del params
  return output, pullback


def _with_pullback_bwd(pullback, cotangent):
  return pullback(cotangent)[0], None, None


_with_pullback.defvjp(_with_pullback_fwd, _with_pullback_bwd)


def instance_noise_std(step: jax.Array, initial_std: float, anneal_steps: int) -> jax.Array:
  """The std of instance noise at train step `step` (0-based): initial_std, decreasing linearly
  to 0 at step anneal_steps and 0 after it; constant initial_std when anneal_steps == 0.
  Float32 scalar, in units of the [-1, 1] pixel range."""
  if not anneal_steps:
    return jnp.float32(initial_std)
  return jnp.float32(initial_std) * jnp.maximum(0.0, 1.0 - step.astype(jnp.float32) / anneal_steps)


def add_instance_noise(x: jax.Array, std: jax.Array, key: jax.Array, collective: Collective) -> jax.Array:
  """x + std * N(0, I), the noise of example i drawn from its own key (independent of the device count).

  Instance noise (Sønderby et al. 2017, "Amortised MAP Inference for Image
  Super-resolution", Section 3.2; Arjovsky & Bottou 2017, "Towards Principled
  Methods for Training GANs", Section 3): D sees both distributions blurred by the
  same Gaussian, so their supports overlap and D's gradients stay informative.
  x: [B, ...] float32; std: float32 scalar.
  """
  noise = jax.vmap(lambda k: jax.random.normal(k, x.shape[1:], x.dtype))(example_keys(key, x.shape[0], collective))
  return x + std * noise


def gan_phases(generator: nn.Module, discriminator: nn.Module, *, latent_dim: int, k_d_steps: int = 1,
               loss: losses.GanLoss = losses.make_gan_loss("non_saturating"), reuse_fake: bool = False,
               gradient_penalty: float = 0.0, spectral_norm_d: bool = False, instance_noise: float = 0.0,
               instance_noise_steps: int = 0, conditioning: str = "", num_classes: int = 10,
               info_weight: float = 1.0, encoder: Any = None) -> list[Phase]:
  """The phases of one GAN train step: `k_d_steps` D updates, then one G update.

  With a "generator_ema" parameter group (see `averages_for`), the G phase also runs
  the averaged generator on its z to update that generator's BatchNorm running averages.

  The batch is {"x": [B, k_d_steps, H, W, C]} float32 in [-1, 1]; D update i uses
  batch["x"][:, i], so every D update sees its own real minibatch (Algorithm 1).
  Metrics: d_loss, d_real = mean D(x), d_fake = mean D(G(z)) (last D update, with
  dropout on; D's outputs read through `loss.d_output`), g_loss; for the
  Wasserstein loss also w1_estimate = d_real - d_fake, the critic's estimate of the
  Wasserstein-1 distance; with a gradient penalty, gradient_penalty (unweighted);
  with spectral normalization, d_sigma_max (the largest of D's weights' estimated
  spectral norms before normalization); with instance noise, instance_noise_std.

  By default the G update draws fresh z (Algorithm 1). With reuse_fake, it scores
  the last D update's fake batch G(z) again, with the updated D, as pytorch/examples'
  DCGAN and the TF tutorial do: G's parameters have not changed in between, so this
  is G's update on that z, and G's forward pass runs once per step instead of twice
  (the last D update computes it with `jax.vjp` and hands the G phase its pullback).

  Args:
    generator: module z [B, latent_dim] -> x [B, H, W, C], with `train` and BatchNorm
      statistics in "batch_stats" (may be empty).
    discriminator: module x -> logits [B], with `train` and a "dropout" PRNG stream.
    latent_dim: size of z.
    k_d_steps: discriminator updates per generator update (k of Algorithm 1), >= 1.
    loss: the D and G losses (see `gan_jax.losses.make_gan_loss`).
    reuse_fake: the G update reuses the last D update's z and G(z) (see above).
    gradient_penalty: lambda > 0 adds lambda times the WGAN-GP penalty
      (`gan_jax.losses.gradient_penalty`, Gulrajani et al. 2017) to every D update,
      at interpolates whose weights are drawn per example of the global batch; D
      must have no BatchNorm.
    spectral_norm_d: D is applied with spectrally normalized weights (Miyato et al.
      2018; `gan_jax.models.spectral_norm`), from the power-iteration vectors in
      batch_stats["spectral_norm"] (see `init_state`), which every D update steps once.
    instance_noise: > 0 adds Gaussian noise of this std (the [-1, 1] pixel range) to
      every image D sees, real or generated, in every phase (`add_instance_noise`).
    instance_noise_steps: the noise's std falls linearly to 0 over this many train
      steps (`instance_noise_std`); 0 keeps it constant.
    conditioning: "" (none); "cgan": G(z, y) and D(x, y) (Mirza & Osindero 2014), real images
      with their labels batch["y"] [B, k_d_steps], generated ones with labels drawn uniformly
      per example; "acgan": G(z, y) and a D with an auxiliary classifier (Odena et al. 2017):
      both players add the class cross-entropy on real (D) and generated (D and G) images, the
      L_C of the paper's eqs. 2-3 (metrics d_class_loss, d_class_accuracy on real images);
      "infogan": G(z, c) with a categorical code c_cat drawn like a CGAN's labels and continuous
      codes from z (`gan_jax.models.conditional.InfoGANGenerator`), and D with InfoGAN's Q head:
      both players add info_weight times `gan_jax.losses.infogan_information_loss` on the generated
      images (Chen et al. 2016, eq. 5; metrics info_categorical, info_continuous, info_bound and
      q_accuracy, Q's accuracy on the categorical code), and the data's labels are not used.
    num_classes: labels (InfoGAN: categorical codes) are 0 .. num_classes - 1.
    info_weight: InfoGAN's lambda (1 in the paper's MNIST experiments).
    encoder: BiGAN's encoder E: x -> z (Donahue et al. 2016; `gan_jax.models.bigan`), parameter
      group "encoder", or None. D is then D(x, z): each D update tells (x, E(x)) from (G(z), z);
      the G phase updates G and E together, G on D's loss for (G(z), z) and E on the same loss
      with the logits negated (E wants (x, E(x)) called generated: the paper's min over G, E of
      V(D, E, G), with the non-saturating form for both; metric e_loss).
  Raises:
    ConfigError: k_d_steps < 1, a negative instance_noise or instance_noise_steps, an unknown
      conditioning, or an encoder with a loss other than minimax or non_saturating, a gradient
      penalty, reuse_fake or conditioning.
  """
  if k_d_steps < 1:
    raise ConfigError(f"k_d_steps must be >= 1, got {k_d_steps}")
  if instance_noise < 0 or instance_noise_steps < 0:
    raise ConfigError(f"--config.instance_noise and instance_noise_steps must be >= 0, got {instance_noise} and "
                      f"{instance_noise_steps}")
  if conditioning not in models.CONDITIONINGS:
    raise ConfigError(f"unknown conditioning {conditioning!r}; choose cgan, acgan or infogan (or '' for none)")
  if encoder is not None and (loss.name not in ("minimax", "non_saturating") or gradient_penalty or reuse_fake
                              or conditioning):
    raise ConfigError("--bigan needs --loss=non_saturating or minimax (E's loss is G's with the logits negated), "
                      "and takes no gradient penalty, reuse_fake or conditioning")

  def encode(params, x):
    """BiGAN's E(x), [B, latent_dim]."""
    return encoder.apply({"params": params["encoder"]}, x, train=True)

  def d_variables(params, batch_stats):
    """D's parameters as D is applied (spectrally normalized or not), their new power-iteration
    vectors ({} without spectral normalization) and metrics."""
    if not spectral_norm_d:
      return params["discriminator"], {}, {}
    d_params, vectors, sigmas = spectral_norm.normalize(params["discriminator"], batch_stats[SPECTRAL_NORM_GROUP])
    return d_params, {SPECTRAL_NORM_GROUP: vectors}, {"d_sigma_max": jnp.max(jnp.stack(list(sigmas.values())))}

  def labels_of(batch, i, key, batch_size, collective):
    """(the real images' labels of D update i (None in the G phase), the generated images' labels
    drawn per example from a stream of their own); (None, None) for an unconditional GAN."""
    if not conditioning:
      return None, None
    y_fake = sample_labels(jax.random.fold_in(key, LABEL_STREAM), batch_size, num_classes, collective)
    return (None if i is None or conditioning == "infogan" else batch["y"][:, i]), y_fake

  def information(q, z, categories):
    """InfoGAN's weighted loss on Q's output q for G(z, c), and its metrics."""
    continuous = continuous_codes(z, models.INFO_CONTINUOUS)
    info_loss, metrics = losses.infogan_information_loss(q, categories, continuous)
    metrics["q_accuracy"] = jnp.mean(jnp.argmax(q[:, :num_classes], -1) == categories)
    return info_weight * info_loss, metrics

  def noisy(x, key, step, collective):
    if not instance_noise:
      return x, {}
    std = instance_noise_std(step, instance_noise, instance_noise_steps)
    return add_instance_noise(x, std, jax.random.fold_in(key, INSTANCE_NOISE_STREAM), collective), {
        "instance_noise_std": std}

  def d_loss_fn(i: int):
    hands_on = reuse_fake and i == k_d_steps - 1

    def loss_fn(params, batch_stats, batch, key, collective, step=None):
      x_real = batch["x"][:, i]
      z_key, real_key, fake_key = jax.random.split(key, 3)
      z = sample_latent(z_key, x_real.shape[0], latent_dim, collective)
      y_real, y_fake = labels_of(batch, i, key, x_real.shape[0], collective)
      # G's running statistics are updated in the G phase only: once per step.
      generate_train = lambda g_params: _generate_train(generator, g_params, batch_stats["generator"], z, y_fake)
      if hands_on:
        x_fake, pullback, g_stats = jax.vjp(generate_train, jax.lax.stop_gradient(params["generator"]), has_aux=True)
      else:
        x_fake, g_stats = generate_train(params["generator"])
      x_fake = jax.lax.stop_gradient(x_fake)
      # The images as D sees them (with instance noise, if any); the clean G(z) is what the G phase may reuse.
      seen_real, noise_metrics = noisy(x_real, real_key, step, collective)
      seen_fake, _ = noisy(x_fake, fake_key, step, collective)
      d_params, updates, metrics = d_variables(params, batch_stats)
      # Real and generated images are two batches (two sets of BatchNorm statistics in D,
      # as in Radford et al.'s code); D's running averages follow the real batches.
      d_stats = batch_stats["discriminator"]
      d_labels = (y_real, y_fake) if conditioning == "cgan" else (None, None)
      # BiGAN: D scores (x, E(x)) against (G(z), z).
      d_latents = (None, None) if encoder is None else (jax.lax.stop_gradient(encode(params, x_real)), z)
      real_out, new_d_stats = discriminate(discriminator, d_params, d_stats, seen_real, real_key, collective,
                                           d_labels[0], d_latents[0])
      fake_out, _ = discriminate(discriminator, d_params, d_stats, seen_fake, fake_key, collective, d_labels[1],
                                 d_latents[1])
      (real_logits, real_classes), (fake_logits, fake_classes) = map(split_discriminator_output, (real_out, fake_out))
      d_loss = loss.discriminator(real_logits, fake_logits)
      if new_d_stats:
        updates["discriminator"] = new_d_stats
      metrics.update(noise_metrics, d_real=jnp.mean(loss.d_output(real_logits)),
                     d_fake=jnp.mean(loss.d_output(fake_logits)))
      if loss.name == "wasserstein":
        metrics["w1_estimate"] = metrics["d_real"] - metrics["d_fake"]
      if conditioning == "acgan":
        metrics["d_class_loss"] = _class_loss(real_classes, y_real) + _class_loss(fake_classes, y_fake)
        metrics["d_class_accuracy"] = jnp.mean(jnp.argmax(real_classes, -1) == y_real)
        d_loss = d_loss + metrics["d_class_loss"]
      if conditioning == "infogan":
        info_loss, info_metrics = information(fake_classes, z, y_fake)
        metrics.update(info_metrics)
        d_loss = d_loss + info_loss
      if gradient_penalty:
        # Streams of their own (fold_in), so that the other draws are those of a run without it.
        eps_key, dropout_key = jax.random.split(jax.random.fold_in(key, GRADIENT_PENALTY_STREAM))
        eps = jax.vmap(jax.random.uniform)(example_keys(eps_key, x_real.shape[0], collective))
        # A CGAN critic is scored at the interpolates with the real images' labels.
        critic = lambda x: split_discriminator_output(
            discriminate(discriminator, d_params, d_stats, x, dropout_key, collective, d_labels[0])[0])[0]
        metrics["gradient_penalty"] = losses.gradient_penalty(critic, seen_real, seen_fake, eps)
        d_loss = d_loss + gradient_penalty * metrics["gradient_penalty"]
      metrics["d_loss"] = d_loss
      if hands_on:
        return d_loss, (updates, metrics, {"z": z, "labels": y_fake, "x_fake": x_fake, "pullback": pullback,
                                           "g_stats": g_stats})
      return d_loss, (updates, metrics)
    return loss_fn

  def g_loss_fn(params, batch_stats, batch, key, collective, carry=None, step=None):
    z_key, d_key = jax.random.split(key)
    if carry is None:
      z = sample_latent(z_key, batch["x"].shape[0], latent_dim, collective)
      y_fake = labels_of(batch, None, key, batch["x"].shape[0], collective)[1]
      x_fake, new_stats = _generate_train(generator, params["generator"], batch_stats["generator"], z, y_fake)
    else:  # the last D update's G(z), differentiated through its pullback
      z, y_fake, new_stats = carry["z"], carry["labels"], carry["g_stats"]
      x_fake = _with_pullback(params["generator"], carry["x_fake"], carry["pullback"])
    seen_fake, _ = noisy(x_fake, d_key, step, collective)
    d_params = d_variables(params, batch_stats)[0]  # the vectors are stepped in D's updates only
    fake_out, _ = discriminate(discriminator, d_params, batch_stats["discriminator"], seen_fake, d_key,
                               collective, y_fake if conditioning == "cgan" else None, None if encoder is None else z)
    fake_logits, fake_classes = split_discriminator_output(fake_out)
    g_loss = loss.generator(fake_logits)
    metrics = {}
    if encoder is not None:
      # E's update, on the last D update's real images: D's loss on (x, E(x)) with the labels swapped.
      x_real = batch["x"][:, -1]
      real_key = jax.random.fold_in(key, ENCODER_STREAM)
      seen_real, _ = noisy(x_real, real_key, step, collective)
      real_out, _ = discriminate(discriminator, d_params, batch_stats["discriminator"], seen_real, real_key,
                                 collective, z=encode(params, x_real))
      metrics["e_loss"] = loss.generator(-real_out)
      g_loss = g_loss + metrics["e_loss"]
    if conditioning == "acgan":
      g_loss = g_loss + _class_loss(fake_classes, y_fake)
    if conditioning == "infogan":
      info_loss, _ = information(fake_classes, z, y_fake)
      metrics["g_info_loss"] = info_loss
      g_loss = g_loss + info_loss
    updates = {"generator": new_stats}
    if "generator_ema" in params:
      # The averaged generator keeps BatchNorm running averages of its own, from the
      # same z: G's would not match the averaged weights.
      _, updates["generator_ema"] = _generate_train(
          generator, jax.lax.stop_gradient(params["generator_ema"]), batch_stats["generator_ema"], z, y_fake)
    return g_loss, (updates, {"g_loss": g_loss, **metrics})

  takes_step = bool(instance_noise)
  d_phases = [Phase("discriminator", ("discriminator",), d_loss_fn(i), takes_step=takes_step)
              for i in range(k_d_steps)]
  g_groups = ("generator",) if encoder is None else ("generator", "encoder")
  return d_phases + [Phase("generator", g_groups, g_loss_fn, takes_carry=reuse_fake, takes_step=takes_step)]


GRADIENT_PENALTY_STREAM = 3  # fold_in index of a D update's key for the penalty's interpolation weights
LABEL_STREAM = 5  # fold_in index of a phase's key for the labels of its generated images
ENCODER_STREAM = 6  # fold_in index of the G phase's key for BiGAN's real pair (its dropout and instance noise)
INSTANCE_NOISE_STREAM = 4  # fold_in index of the key of D's dropout on a batch, for that batch's instance noise
SPECTRAL_NORM_GROUP = "spectral_norm"  # the TrainState.batch_stats entry of D's power-iteration vectors
CRITIC_REGULARIZERS = ("", "clip", "gradient_penalty")


def critic_regularizer(config: ml_collections.ConfigDict) -> str:
  """config.critic_regularizer, checked: "" (none), "clip" (WGAN's weight clipping to
  [-config.clip_value, clip_value], Arjovsky et al. 2017) or "gradient_penalty"
  (WGAN-GP's, weight config.gp_weight, Gulrajani et al. 2017).

  Raises:
    ConfigError: an unknown name, a weight or bound <= 0, or a gradient penalty on a D with BatchNorm.
  """
  name = config.get("critic_regularizer", "")
  if name not in CRITIC_REGULARIZERS:
    raise ConfigError(f"unknown --critic_regularizer={name!r}; choose clip or gradient_penalty (or '' for none)")
  if name == "clip" and not config.clip_value > 0:
    raise ConfigError(f"--config.clip_value must be > 0, got {config.clip_value}")
  if name == "gradient_penalty" and not config.gp_weight > 0:
    raise ConfigError(f"--config.gp_weight must be > 0, got {config.gp_weight}")
  if name == "gradient_penalty" and config.get("d_batch_norm"):
    raise ConfigError("the gradient penalty is a per-example gradient, which BatchNorm in D couples; "
                      "use --config.d_batch_norm=false (Gulrajani et al. 2017 use no normalization or layer norm)")
  return name


def gan_loss(config: ml_collections.ConfigDict) -> losses.GanLoss:
  """The losses named by config.loss; for least_squares, the codes of config.ls_coding or ls_a, ls_b, ls_c.

  Raises:
    ConfigError: unknown loss or coding.
  """
  a, b, c = config.ls_a, config.ls_b, config.ls_c
  if config.ls_coding:
    if config.ls_coding not in losses.LS_CODINGS:
      raise ConfigError(f"unknown --ls_coding={config.ls_coding!r}; choose one of {', '.join(losses.LS_CODINGS)}")
    a, b, c = losses.LS_CODINGS[config.ls_coding]
  try:
    return losses.make_gan_loss(config.loss, a, b, c, label_smoothing=config.get("label_smoothing", 0.0))
  except ValueError as e:
    raise ConfigError(str(e)) from e


def phases_for(config: ml_collections.ConfigDict, generator: nn.Module, discriminator: nn.Module) -> list[Phase]:
  """`gan_phases` as a config asks: its loss, k_d_steps, reuse_fake, critic regularizer,
  spectral normalization (config.spectral_norm), instance noise (config.instance_noise,
  instance_noise_steps), conditioning and BiGAN's encoder (config.bigan).

  Raises:
    ConfigError: see `gan_loss`, `critic_regularizer` and `gan_phases`.
  """
  penalty = config.gp_weight if critic_regularizer(config) == "gradient_penalty" else 0.0
  return gan_phases(generator, discriminator, latent_dim=config.latent_dim, k_d_steps=config.k_d_steps,
                    loss=gan_loss(config), reuse_fake=config.get("reuse_fake", False), gradient_penalty=penalty,
                    spectral_norm_d=config.get("spectral_norm", False),
                    instance_noise=config.get("instance_noise", 0.0),
                    instance_noise_steps=config.get("instance_noise_steps", 0),
                    conditioning=models.conditioning(config), num_classes=models.NUM_CLASSES,
                    info_weight=config.get("info_weight", 1.0),
                    encoder=models.build_encoder(config) if config.get("bigan") else None)


def init_state(config: ml_collections.ConfigDict, generator: nn.Module, discriminator: nn.Module,
               optimizers: dict) -> TrainState:
  """A fresh GAN TrainState from config.seed (the same seed gives the same state); with
  config.spectral_norm, batch_stats["spectral_norm"] holds D's power-iteration vectors; with
  config.bigan, params["encoder"] holds BiGAN's encoder.

  Args:
    optimizers: from `optimizers_for` (their states start the TrainState's opt_state).
  """

  kind = models.conditioning(config)
  labels = {"labels": jnp.zeros((2,), jnp.int32)}

  @jax.jit  # one compilation instead of one per initializer op
  def initial_variables(key):
    g_key, d_key, run_key = jax.random.split(key, 3)
    g_vars = generator.init(g_key, jnp.zeros((2, config.latent_dim), jnp.float32), train=False,
                            **(labels if kind else {}))
    x = jnp.zeros((2,) + data.IMAGE_SHAPE, jnp.float32)
    d_vars = discriminator.init(d_key, x, train=False, **(labels if kind == "cgan" else {}),
                                **({"z": jnp.zeros((2, config.latent_dim))} if encoder is not None else {}))
    # BiGAN's encoder from a key of its own, so the other groups start as without it
    e_vars = encoder.init(jax.random.fold_in(key, ENCODER_STREAM), x) if encoder is not None else {}
    return g_vars, d_vars, e_vars, run_key

  encoder = models.build_encoder(config) if config.get("bigan") else None
  g_vars, d_vars, e_vars, run_key = initial_variables(rng.key(config.seed, rng.Stream.INIT))
  params = {"generator": g_vars["params"], "discriminator": d_vars["params"]}
  if encoder is not None:
    params["encoder"] = e_vars["params"]
  batch_stats = {"generator": g_vars.get("batch_stats", {}), "discriminator": d_vars.get("batch_stats", {})}
  if config.get("spectral_norm"):
    batch_stats[SPECTRAL_NORM_GROUP] = spectral_norm.init_vectors(d_vars["params"],
                                                                  rng.key(config.seed, rng.Stream.SPECTRAL_NORM))
  if config.get("g_ema_decay"):  # copies: each group has its own buffers (they are donated in steps)
    params["generator_ema"] = jax.tree.map(jnp.copy, g_vars["params"])
    batch_stats["generator_ema"] = jax.tree.map(jnp.copy, batch_stats["generator"])
  return create_train_state(params=params, batch_stats=batch_stats, optimizers=optimizers, key=run_key)


def discriminator_variables(state: TrainState) -> dict:
  """The variables that apply D outside training, {"params": ..., ["batch_stats": ...]}: with
  spectral normalization (a "spectral_norm" entry in state.batch_stats), D's weights divided
  by their spectral norms, estimated by one more power-iteration step (not kept)."""
  d_params = state.params["discriminator"]
  if SPECTRAL_NORM_GROUP in state.batch_stats:
    d_params = spectral_norm.normalize(d_params, state.batch_stats[SPECTRAL_NORM_GROUP])[0]
  d_stats = state.batch_stats["discriminator"]
  return {"params": d_params, **({"batch_stats": d_stats} if d_stats else {})}


def averages_for(config: ml_collections.ConfigDict) -> list[ParamAverage]:
  """[the generator's moving average] when config.g_ema_decay > 0, else [].

  Raises:
    ConfigError: g_ema_decay outside [0, 1).
  """
  decay = config.get("g_ema_decay", 0.0)
  if not 0.0 <= decay < 1.0:
    raise ConfigError(f"--config.g_ema_decay must be in [0, 1), got {decay}")
  return [ParamAverage("generator_ema", "generator", decay)] if decay else []


def sampling_variables(state: TrainState) -> tuple[Any, Any]:
  """(params, batch_stats) that draw a GAN's samples: the generator's moving average, with
  its own BatchNorm running averages, when the run keeps one (config.g_ema_decay), else
  the generator itself."""
  name = "generator_ema" if "generator_ema" in state.params else "generator"
  return state.params[name], state.batch_stats[name]


def optimizers_for(config: ml_collections.ConfigDict, steps_per_epoch: int) -> dict:
  """{name: (optax transformation, groups)}: one optimizer of config.optimizer per player.

  With config.d_learning_rate > 0, D's optimizer uses that learning rate and G's
  config.learning_rate: the two time-scale update rule (TTUR, Heusel et al. 2017).
  With config.lr_decay_epochs, both decay (see make_optimizer) over that many epochs
  of `steps_per_epoch` train steps (D's optimizer counts its k_d_steps updates per step).
  With config.critic_regularizer="clip", D's parameters are clipped to
  [-config.clip_value, config.clip_value] after every update (`clip_parameters`).

  Raises:
    ConfigError: unknown config.optimizer (see gan_jax.train.make_optimizer), or a
      d_learning_rate with an optimizer of fixed learning rate (tutorial, dcgan_paper).
  """
  tx = make_optimizer(config, updates_per_epoch=steps_per_epoch)
  d_config = config
  if config.get("d_learning_rate"):
    if config.optimizer not in ("adam", "sgd_momentum", "rmsprop"):
      raise ConfigError(f"--config.d_learning_rate needs --optimizer=adam, sgd_momentum or rmsprop, "
                        f"not {config.optimizer!r}")
    d_config = ml_collections.ConfigDict(config.to_dict())
    d_config.learning_rate = config.d_learning_rate
  d_tx = make_optimizer(d_config, updates_per_epoch=steps_per_epoch * config.k_d_steps)
  if critic_regularizer(config) == "clip":
    d_tx = optax.chain(d_tx, clip_parameters(config.clip_value))
  g_groups = ("generator", "encoder") if config.get("bigan") else ("generator",)  # BiGAN: E is stepped with G
  return {"discriminator": (d_tx, ("discriminator",)), "generator": (tx, g_groups)}


def fixed_latents(config: ml_collections.ConfigDict, num: int = 64) -> jax.Array:
  """The z used for every sample grid of a run: [num, latent_dim], from config.seed."""
  return jax.random.normal(rng.key(config.seed, rng.Stream.FIXED_Z), (num, config.latent_dim))


@functools.partial(jax.jit, static_argnums=0)
def generate(generator: nn.Module, params: Any, batch_stats: Any, z: jax.Array, labels: Any = None) -> jax.Array:
  """x_fake = G(z) (or G(z, y) with labels [B] int32, for a conditional G) in inference mode
  (BatchNorm running averages): [B, 28, 28, 1] in [-1, 1]."""
  return generator.apply({"params": params, "batch_stats": batch_stats}, z, train=False, **label_arguments(labels))


def interpolate(z0: jax.Array, z1: jax.Array, num: int, method: str = "linear") -> jax.Array:
  """Points between two latents, endpoints included.

  Args:
    z0, z1: [latent_dim] float32.
    num: number of points, >= 2.
    method: "linear" ((1 - t) z0 + t z1) or "spherical" (slerp: along the great
      circle, with the norm interpolated linearly too, White 2016, "Sampling
      Generative Networks"), which keeps points at the norms N(0, I) samples have.
  Returns:
    [num, latent_dim] float32.
  Raises:
    ValueError: unknown method.
  """
  t = jnp.linspace(0.0, 1.0, num)[:, None]
  if method == "linear":
    return (1 - t) * z0 + t * z1
  if method != "spherical":
    raise ValueError(f"method must be 'linear' or 'spherical', got {method!r}")
  n0, n1 = jnp.linalg.norm(z0), jnp.linalg.norm(z1)
  omega = jnp.arccos(jnp.clip(jnp.dot(z0 / n0, z1 / n1), -1.0, 1.0))
  so = jnp.sin(omega)
  slerp = (jnp.sin((1 - t) * omega) * z0 / n0 + jnp.sin(t * omega) * z1 / n1) / jnp.where(so < 1e-6, 1.0, so)
  direction = jnp.where(so < 1e-6, (1 - t) * z0 / n0 + t * z1 / n1, slerp)
  return direction * ((1 - t) * n0 + t * n1)


def samples(generator: nn.Module, params: Any, batch_stats: Any, latent_dim: int, num_samples: int,
            seed: int = 0, num_classes: int = 0, classes: Any = None) -> np.ndarray:
  """G(z) in inference mode (BatchNorm running averages) for the first `num_samples` latents
  z ~ N(0, I) of `seed` (gan_jax.sampling, the path sample, evaluate and in-training scores share).

  Args:
    num_classes: > 0 for a conditional G: sample i is G(z_i, y_i), y = `sampling.sample_labels`
      (balanced over `classes`, default all num_classes).
  Returns:
    uint8 [num_samples, 28, 28].
  Raises:
    ConfigError: num_samples < 1, or a class outside 0..num_classes - 1.
  """
  decode = lambda z, *labels: data.gan_range_to_uint8(generate(generator, params, batch_stats, z, *labels))
  return sampling.sample_images(decode, latent_dim, num_samples, seed, num_classes, classes)
