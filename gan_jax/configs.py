"""Default configurations of the experiments (ml_collections ConfigDicts).

Every field can be overridden on the command line as --config.<name>=value.
"""

import ml_collections
from ml_collections import config_dict


def _gan(**fields) -> ml_collections.ConfigDict:
  """Fields shared by every GAN experiment; `fields` override them."""
  config = dict(
      model_kind="gan",         # recorded in config.json, read by gan_jax.runs (gan, vae or autoencoder)
      recipe="",                # the named recipe the config came from (experiments.dcgan --recipe), or ""
      arch="dcgan",             # dcgan or mlp
      dataset="mnist",
      data_dir="",
      data_source="idx",        # idx (the IDX files, see gan_jax.obtain) or tfds (tensorflow-datasets' prepared copy)
      latent_dim=100,
      generator_features=(),    # () : the arch's defaults (dcgan 256,128,64; mlp 256,512,1024)
      discriminator_features=(),  # () : the arch's defaults (dcgan 64,128; mlp 1024,512,256)
      d_dropout=0.3,
      d_batch_norm=False,       # dcgan: BatchNorm in D after every conv but the first (Radford et al. 2016); needs d_dropout=0
      leaky_relu_slope=config_dict.placeholder(float),  # None: the arch's default (dcgan 0.3, mlp 0.2)
      kernel_size=0,            # dcgan: side of every (transposed) convolution kernel; 0: the default, 5
      conv_transpose="subpixel",
      conv_gradients="fast",    # dcgan: "fast" (gan_jax.models.conv's backward passes) or "autodiff" (XLA's)
      precision="float32",      # float32, or bfloat16: bf16 operands of convolutions and matrix products, float32 elsewhere
      reuse_fake=False,         # True: G's update reuses the last D update's fake batch (one G forward per step; see gan_phases)
      loss="non_saturating",    # minimax, non_saturating, least_squares or wasserstein
      conditioning="",          # "" (unconditional), cgan (G(z, y), D(x, y)), acgan (G(z, y), D classifies too) or infogan
      info_weight=1.0,          # infogan: lambda, the weight of the information loss L_I (Chen et al. 2016: 1)
      bigan=False,              # BiGAN / ALI: an encoder E: x -> z and D on (x, z) pairs (Donahue et al. 2016)
      critic_regularizer="",    # D's Lipschitz constraint: "" (none), clip (WGAN) or gradient_penalty (WGAN-GP)
      clip_value=0.01,          # clip: D's parameters stay in [-clip_value, clip_value] (Arjovsky et al. 2017: 0.01)
      gp_weight=10.0,           # gradient_penalty: its weight lambda (Gulrajani et al. 2017: 10)
      spectral_norm=False,      # D's weights divided by their spectral norms (Miyato et al. 2018)
      instance_noise=0.0,       # > 0: std of Gaussian noise on every image D sees (pixel range [-1, 1])
      instance_noise_steps=0,   # the instance noise's std falls linearly to 0 over this many steps (0: constant)
      ls_coding="",             # least_squares presets: zero_one or pearson (override ls_a, ls_b, ls_c)
      ls_a=0.0,
      ls_b=1.0,
      ls_c=1.0,
      k_d_steps=1,
      g_ema_decay=0.0,          # > 0: samples come from a moving average of G's parameters with this decay
      optimizer="tutorial",     # tutorial, dcgan_paper, adam, sgd_momentum, rmsprop
      learning_rate=2e-4,
      lr_decay_epochs=0,        # > 0: cosine decay of the learning rate to 10% over this many epochs (adam, sgd_momentum)
      d_learning_rate=0.0,      # > 0: D's own learning rate (TTUR, Heusel et al. 2017); adam and sgd_momentum only
      label_smoothing=0.0,      # one-sided: D's target on real images is 1 - label_smoothing (Salimans et al. 2016)
      b1=0.5,
      b2=0.999,
      momentum=0.9,
      batch_size=256,
      num_epochs=50,
      max_steps=0,              # 0: no cap
      max_train_minutes=0.0,    # > 0: the run ends (as if complete) once it has trained this long
      seed=0,
      accelerator="auto",
      parallelism="sharding",
      sample_every_epochs=1,
      figures=True,             # False: no figures (a sweep's runs); metrics, TensorBoard scalars and checkpoints as ever
      log_every_steps=10,
      checkpoint_every_steps=500,
      keep_checkpoints=3,
      show_progress=True,
      nan_policy="stop",       # non-finite losses or parameters: stop (keep the last finite checkpoint) or skip_step
      eval_every_epochs=0,      # 0: never; else score eval_samples samples (FID etc.) every this many epochs
      eval_every_steps=0,       # 0: never; else also score every this many steps (finer than epochs)
      eval_samples=2000,
  )
  config = ml_collections.ConfigDict(config)
  config.update(fields)
  return config


def dcgan_tf_tutorial() -> ml_collections.ConfigDict:
  """The TensorFlow DCGAN tutorial: MNIST, batch 256, 50 epochs, Adam 1e-4, non-saturating loss.

  G 7x7x256 -> 7x7x128 -> 14x14x64 -> 28x28x1 and D 64 -> 128 channels, 5x5 kernels,
  LeakyReLU 0.3, D dropout 0.3 (gan_jax/models/dcgan.py). Kept exactly as the
  runs of results/dcgan_mnist were made, so they stay bitwise reproducible: XLA's
  own convolution gradients (--config.conv_gradients=fast computes the same
  function with other rounding, its step about 16% faster; results/README.md).
  """
  return _gan(recipe="tf_tutorial", conv_gradients="autodiff")


def dcgan_fast() -> ml_collections.ConfigDict:
  """The DCGAN recipe chosen by the search in results/README.md (issue 9): digits of every class in 2 epochs on a CPU.

  G 7x7x128 -> 14x14x64 -> 28x28x1 (no 7x7 stride-1 layer), D 64 -> 128
  channels, 5x5 kernels, LeakyReLU 0.2, no dropout; batch 16 and Adam 8e-4 with
  beta1 = 0 (more, larger steps per epoch than the tutorial's batch 256 and
  1e-4; no momentum, which the GPU seed screen of results/gpu_sweep found worth
  about 10 FID points over the DCGAN paper's 0.5); samples from a moving average
  of G (decay 0.9995) with its own BatchNorm statistics; FID of 2,000 samples
  scored at the end of every epoch.
  """
  return _gan(recipe="fast", generator_features=(128, 64), discriminator_features=(64, 128), kernel_size=5,
              leaky_relu_slope=0.2, d_dropout=0.0, batch_size=16, optimizer="adam", learning_rate=8e-4, b1=0.0,
              g_ema_decay=0.9995, num_epochs=2, eval_every_epochs=1, log_every_steps=25, checkpoint_every_steps=1875)


def dcgan_wgan() -> ml_collections.ConfigDict:
  """WGAN (Arjovsky et al. 2017, Algorithm 1) on the DCGAN architecture: the Wasserstein loss, a
  critic (linear output, no BatchNorm, no dropout) whose weights are clipped to [-0.01, 0.01],
  5 critic updates per G update, RMSProp 5e-5, batch 64."""
  return _gan(recipe="wgan", loss="wasserstein", critic_regularizer="clip", clip_value=0.01, k_d_steps=5,
              optimizer="rmsprop", learning_rate=5e-5, d_dropout=0.0, batch_size=64, num_epochs=10,
              log_every_steps=25)


def dcgan_wgan_gp() -> ml_collections.ConfigDict:
  """WGAN-GP (Gulrajani et al. 2017, Algorithm 1) on the DCGAN architecture: the Wasserstein loss
  with the gradient penalty (lambda = 10) on a critic without BatchNorm or dropout, 5 critic
  updates per G update, Adam 1e-4 with beta1 = 0.5, beta2 = 0.9, batch 64."""
  return _gan(recipe="wgan_gp", loss="wasserstein", critic_regularizer="gradient_penalty", gp_weight=10.0,
              k_d_steps=5, optimizer="adam", learning_rate=1e-4, b1=0.5, b2=0.9, d_dropout=0.0, batch_size=64,
              num_epochs=10, log_every_steps=25)


DCGAN_RECIPES = {"fast": dcgan_fast, "tf_tutorial": dcgan_tf_tutorial, "wgan": dcgan_wgan, "wgan_gp": dcgan_wgan_gp}


def dcgan(recipe: str = "fast") -> ml_collections.ConfigDict:
  """The DCGAN config of a named recipe (DCGAN_RECIPES); "fast" is the default of experiments.dcgan.

  Raises:
    KeyError: unknown recipe.
  """
  return DCGAN_RECIPES[recipe]()


def gan_mlp() -> ml_collections.ConfigDict:
  """The vanilla MLP GAN (Goodfellow et al. 2014): 100 epochs of batch 100, Adam 2e-4 (beta1 0.5), D dropout 0.3."""
  return _gan(arch="mlp", optimizer="adam", batch_size=100, num_epochs=100)


def lsgan() -> ml_collections.ConfigDict:
  """LSGAN (Mao et al. 2017) on the DCGAN architecture, Pearson chi-square coding, Adam 2e-4 (beta1 0.5)."""
  return _gan(loss="least_squares", ls_coding="pearson", optimizer="dcgan_paper")


def vae() -> ml_collections.ConfigDict:
  """The MLP VAE of the course's homework: 784-512-256-2, Bernoulli decoder, Adam 1e-3, batch 128, 50 epochs."""
  return ml_collections.ConfigDict(dict(
      model_kind="vae", dataset="mnist", data_dir="", data_source="idx", latent_dim=2, encoder_features=(512, 256), decoder_features=(256, 512),
      posterior="diagonal", binarize=False, optimizer="adam", learning_rate=1e-3, b1=0.9, b2=0.999, momentum=0.9,
      batch_size=128, num_epochs=50, max_steps=0, seed=0, accelerator="auto", parallelism="sharding",
      sample_every_epochs=1, figures=True, log_every_steps=50, checkpoint_every_steps=2000, keep_checkpoints=3,
      show_progress=True, nan_policy="stop"))


def autoencoder() -> ml_collections.ConfigDict:
  """A (denoising) MLP autoencoder: 784-256-32 sigmoid units, L2 loss, no corruption, Adam 1e-3, batch 128, 20 epochs."""
  return ml_collections.ConfigDict(dict(
      model_kind="autoencoder", arch="mlp", dataset="mnist", data_dir="", data_source="idx", code_dim=32, features=(256,), activation="sigmoid",
      recon_loss="l2", corruption="none", corruption_level=0.3, tied_weights=False, kmeans_examples=10000,
      optimizer="adam", learning_rate=1e-3, b1=0.9, b2=0.999, momentum=0.9,
      batch_size=128, num_epochs=20, max_steps=0, seed=0, accelerator="auto", parallelism="sharding",
      sample_every_epochs=1, figures=True, log_every_steps=50, checkpoint_every_steps=2000, keep_checkpoints=3,
      show_progress=True, nan_policy="stop"))
