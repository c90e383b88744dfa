"""Data parallelism: pmap and sharding steps equal the single-device step (8 simulated CPUs)."""

import chex
import jax
import numpy as np
import pytest

from gan_jax import data, experiment, gan, parallel
from gan_jax.errors import AcceleratorError, ParallelismError
from gan_jax.models import build_discriminator, build_generator
from gan_jax.train import make_train_step
from tests.helpers import gan_optimizers, gan_state, one_line_exit_2, tiny_dcgan_config


def _run_steps(config, dp, batches):
  generator = build_generator(config, batch_norm_axis_name=dp.batch_norm_axis_name if dp else None)
  discriminator = build_discriminator(config, batch_norm_axis_name=dp.batch_norm_axis_name if dp else None)
  step = make_train_step(gan.phases_for(config, generator, discriminator), gan_optimizers(config),
                         dp.collective if dp else parallel.SINGLE_DEVICE)
  state = gan_state(config, generator, discriminator)
  if dp is None:
    step = jax.jit(step)
    for batch in batches:
      state, _ = step(state, batch)
    return state
  step, state = dp.wrap(step), dp.put_state(state)
  for batch in batches:
    state, _ = step(state, dp.put_batch(batch))
  return dp.get_state(state)


# The tutorial's DCGAN with XLA's conv gradients (dropout 0.3 on); the fast recipe's layers (4x4
# kernels, leaky ReLU 0.2, label smoothing) with the fast conv gradients and D's per-example dropout
# masks drawn inside D; D with BatchNorm, whose batch statistics must be those of the global batch,
# with G's update reusing D's fake batch (its pullback is carried across phases); mixed precision;
# WGAN-GP, whose penalty's interpolation weights are drawn per example of the global batch (at
# SGD 1e-3: the critic's scores are unbounded, and at 0.1 G's BatchNorm biases reach -40 in 3 steps,
# where float32 rounding alone is 4e-6).
# The last two step with SGD: Adam's first steps move each weight by about lr * sign(gradient), so
# where a gradient is near 0 the last-bit differences of another summation order (BatchNorm means
# over 8 devices) flip the step: measured, up to 1.6e-5 with Adam and 6e-8 with SGD for reuse_fake
# under pmap.
SGD = dict(optimizer="sgd_momentum", learning_rate=0.1)
VARIANTS = {"tutorial_autodiff": dict(conv_gradients="autodiff"),
            # with spectral normalization (its vectors are compared as batch_stats), instance noise and a CGAN's labels
            "fast_layers_sn_noise_cgan": dict(kernel_size=4, leaky_relu_slope=0.2, label_smoothing=0.1,
                                              spectral_norm=True, instance_noise=0.2, instance_noise_steps=2,
                                              conditioning="cgan"),
            "d_batch_norm_reuse_fake_acgan": dict(d_dropout=0.0, d_batch_norm=True, reuse_fake=True,
                                                  conditioning="acgan", **SGD),
            # InfoGAN: the categorical codes drawn per example, the continuous ones read from z, D's Q head
            "infogan": dict(conditioning="infogan", kernel_size=4),
            # BiGAN: the encoder's parameters stepped with G's, D on (x, E(x)) and (G(z), z)
            "bigan": dict(bigan=True, kernel_size=4),
            "bfloat16": dict(precision="bfloat16", **SGD),
            "wgan_gp": dict(loss="wasserstein", critic_regularizer="gradient_penalty", d_dropout=0.0,
                            optimizer="sgd_momentum", learning_rate=1e-3)}
# Not bfloat16 under pmap: there G's BatchNorm means are sums in another order, and rounding the
# next layer's operands to bfloat16 turns their last-bit differences into whole bfloat16 steps
# (2**-8 relative): measured 1.3e-4 after one step. Under sharding XLA reduces as on one device.
# WGAN-GP and the tutorial's layers under pmap only: there each device draws its examples'
# interpolation weights and dropout masks from the global example index, while sharding runs the
# single-device program on the global batch (sharding is checked on the other three variants).
# InfoGAN and BiGAN under pmap only, where each device draws its examples' codes and dropout from
# the global example index and the encoder's gradients are averaged across devices (suite time).
MODES = {variant: {"bfloat16": ("sharding",), "wgan_gp": ("pmap",), "tutorial_autodiff": ("pmap",),
                   "infogan": ("pmap",), "bigan": ("pmap",)}.get(
    variant, ("sharding", "pmap")) for variant in VARIANTS}


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_data_parallel_step_equals_single_device(variant):
  assert jax.device_count() == 8
  config = tiny_dcgan_config(batch_size=16, **VARIANTS[variant])  # 2 images per device
  images, labels = data.load("mnist", "train", data_dir=config.data_dir or None)
  batches = [{"x": data.to_gan_range(images[16 * i:16 * (i + 1)])[:, None],
              **({"y": labels[16 * i:16 * (i + 1)].astype(np.int32)[:, None]} if config.conditioning else {})}
             for i in range(3)]
  single = _run_steps(config, None, batches)
  for mode in MODES[variant]:
    multi = _run_steps(config, parallel.DataParallel(mode, jax.devices()), batches)
    assert int(multi.step) == 3
    chex.assert_trees_all_close(multi.params, single.params, atol=1e-5, rtol=0, custom_message=mode)
    chex.assert_trees_all_close(multi.batch_stats, single.batch_stats, atol=1e-5, rtol=0, custom_message=mode)
  # The comparison can fail: three steps moved the parameters far more than the tolerance.
  start = gan_state(config, build_generator(config), build_discriminator(config))
  moved = jax.tree.map(lambda a, b: float(np.max(np.abs(np.asarray(a) - np.asarray(b)))), single.params, start.params)
  assert max(jax.tree.leaves(moved)) > 1e-4


def test_batch_size_must_divide_over_devices():
  dp = parallel.DataParallel("sharding", jax.devices())
  with pytest.raises(ParallelismError, match="not divisible by the 8 devices"):
    dp.check_batch_size(250)
  dp.check_batch_size(256)


def test_unknown_parallelism_and_accelerator():
  with pytest.raises(ParallelismError, match="choose one of sharding, pmap"):
    parallel.DataParallel("dp")
  with pytest.raises(AcceleratorError, match="choose one of"):
    parallel.resolve_accelerator("npu")


def test_absent_accelerator_is_one_line_exit_2(tmp_path, capsys):
  assert "tpu" not in parallel.available_backends()
  config = tiny_dcgan_config(accelerator="tpu", max_steps=1)
  line = one_line_exit_2(capsys, lambda: experiment.train(config, str(tmp_path / "run")))
  assert line == "error: --accelerator=tpu is not present on this machine; available: cpu (or use --accelerator=auto)"
  assert not (tmp_path / "run").exists()


def test_batch_size_the_devices_do_not_divide_is_one_line_exit_2(tmp_path, capsys):
  assert jax.device_count() == 8
  config = tiny_dcgan_config(batch_size=250, max_steps=1)
  line = one_line_exit_2(capsys, lambda: experiment.train(config, str(tmp_path / "run")))
  assert line == "error: batch size 250 is not divisible by the 8 devices; use a multiple of 8, e.g. --batch_size=248"
  assert not (tmp_path / "run").exists()
