"""The named DCGAN recipes."""

import pytest

from gan_jax import configs


def test_tf_tutorial_recipe_is_the_tutorial_and_the_runs_of_results():
  c = configs.dcgan("tf_tutorial")
  # Every field that shapes training as the results/dcgan_mnist runs had it (empty or 0: the
  # module's defaults, i.e. the tutorial's layers and 5x5 kernels); the fields added since are off.
  assert (c.generator_features, c.discriminator_features, c.kernel_size, c.leaky_relu_slope, c.conv_transpose) == (
      (), (), 0, None, "subpixel")
  assert (c.batch_size, c.num_epochs, c.optimizer, c.loss, c.k_d_steps, c.d_dropout, c.latent_dim) == (
      256, 50, "tutorial", "non_saturating", 1, 0.3, 100)
  assert (c.d_batch_norm, c.g_ema_decay, c.label_smoothing, c.d_learning_rate) == (False, 0.0, 0.0, 0.0)
  assert (c.eval_every_epochs, c.eval_every_steps, c.recipe) == (0, 0, "tf_tutorial")
  assert (c.precision, c.reuse_fake) == ("float32", False)


def test_fast_recipe_is_the_default():
  assert configs.dcgan().to_dict() == configs.dcgan("fast").to_dict()
  fast = configs.dcgan()
  assert fast.recipe == "fast" and fast.num_epochs == 2 and fast.eval_every_epochs == 1
  with pytest.raises(KeyError):
    configs.dcgan("fastest")


@pytest.mark.parametrize("overrides,message", [
    (dict(precision="float16"), "unknown --config.precision='float16'; choose one of float32, bfloat16"),
    (dict(precision="bfloat16", conv_transpose="xla"), "--config.precision=bfloat16 needs --config.conv_transpose=subpixel"),
])
def test_bad_precision_is_a_config_error(overrides, message):
  from gan_jax.errors import ConfigError
  from gan_jax.models import build_generator
  config = configs.dcgan()
  config.update(overrides)
  with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(").replace(")", r"\)") + "$"):
    build_generator(config)
