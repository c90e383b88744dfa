"""DCGAN modules: output shapes, and the sub-pixel transposed convolution equals nn.ConvTranspose."""

import functools
import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax.models import spectral_norm
from gan_jax.models.dcgan import DCGANDiscriminator, DCGANGenerator
from gan_jax.models.layers import SubPixelConvTranspose


def test_generator_and_discriminator_shapes():
  z = jax.random.normal(jax.random.key(0), (3, 100))
  generator, discriminator = DCGANGenerator(), DCGANDiscriminator()
  g_vars = jax.jit(functools.partial(generator.init, train=False))(jax.random.key(1), z)
  x, updates = jax.jit(functools.partial(generator.apply, train=True, mutable=["batch_stats"]))(g_vars, z)
  chex.assert_shape(x, (3, 28, 28, 1))
  assert float(jnp.max(jnp.abs(x[0] - x[1]))) > 1e-3  # another z, another image (G does not ignore z)
  chex.assert_trees_all_equal_shapes(updates["batch_stats"], g_vars["batch_stats"])
  d_vars = jax.jit(functools.partial(discriminator.init, train=False))(jax.random.key(2), x)
  logits = jax.jit(functools.partial(discriminator.apply, train=True))(d_vars, x, rngs={"dropout": jax.random.key(3)})
  chex.assert_shape(logits, (3,))
  chex.assert_tree_all_finite(logits)
  # The tutorial's layer sizes.
  assert g_vars["params"]["project"]["kernel"].shape == (100, 7 * 7 * 256)
  assert g_vars["params"]["deconv_7x7"]["kernel"].shape == (5, 5, 256, 128)
  assert d_vars["params"]["conv_1"]["kernel"].shape == (5, 5, 64, 128)


def test_discriminator_dropout_is_active_only_in_training():
  discriminator = DCGANDiscriminator()
  x = jax.random.normal(jax.random.key(0), (4, 28, 28, 1))
  variables = discriminator.init(jax.random.key(1), x, train=False)
  a = discriminator.apply(variables, x, train=True, rngs={"dropout": jax.random.key(2)})
  b = discriminator.apply(variables, x, train=True, rngs={"dropout": jax.random.key(3)})
  assert not jnp.allclose(a, b)
  chex.assert_trees_all_equal(discriminator.apply(variables, x, train=False),
                              discriminator.apply(variables, x, train=False))


@pytest.mark.parametrize("c_in,c_out,stride,size,kernel", [
    (256, 128, 1, 7, 5),  # the DCGAN layers
    (128, 64, 2, 7, 5),
    (64, 1, 2, 14, 5),
    (6, 5, 2, 5, 4),      # other kernel sizes and strides
    (3, 4, 3, 4, 3),
])
def test_subpixel_conv_transpose_equals_flax_conv_transpose(c_in, c_out, stride, size, kernel):
  x = jax.random.normal(jax.random.key(0), (2, size, size + 1, c_in))
  reference = nn.ConvTranspose(c_out, (kernel, kernel), (stride, stride), padding="SAME")
  subpixel = SubPixelConvTranspose(c_out, (kernel, kernel), (stride, stride))
  variables = reference.init(jax.random.key(1), x)
  variables = jax.tree.map(lambda p: p + 0.1 * jax.random.normal(jax.random.key(2), p.shape), variables)
  chex.assert_trees_all_equal_shapes(subpixel.init(jax.random.key(1), x), variables)
  y_ref, y_new = reference.apply(variables, x), subpixel.apply(variables, x)
  chex.assert_shape(y_new, (2, size * stride, (size + 1) * stride, c_out))
  chex.assert_trees_all_close(y_new, y_ref, atol=1e-5, rtol=1e-5)
  weights = jax.random.normal(jax.random.key(3), y_ref.shape)

  def grads(module):
    return jax.grad(lambda v, x: jnp.sum(weights * module.apply(v, x)), argnums=(0, 1))(variables, x)

  chex.assert_trees_all_close(grads(subpixel), grads(reference), atol=1e-4, rtol=1e-5)


def test_generator_is_the_same_function_in_both_conv_transpose_forms():
  z = jax.random.normal(jax.random.key(0), (4, 100))
  fast, slow = DCGANGenerator(features=(32, 16, 8)), DCGANGenerator(features=(32, 16, 8), conv_transpose="xla")
  variables = fast.init(jax.random.key(1), z, train=False)
  chex.assert_trees_all_close(fast.apply(variables, z, train=True, mutable=["batch_stats"]),
                              slow.apply(variables, z, train=True, mutable=["batch_stats"]), atol=1e-5)


def test_mlp_generator_and_discriminator_shapes():
  from gan_jax.models.mlp import MLPDiscriminator, MLPGenerator
  z = jax.random.normal(jax.random.key(0), (5, 100))
  generator, discriminator = MLPGenerator(), MLPDiscriminator()
  g_vars = jax.jit(generator.init)(jax.random.key(1), z)
  x = jax.jit(generator.apply)(g_vars, z)
  chex.assert_shape(x, (5, 28, 28, 1))
  assert float(jnp.max(jnp.abs(x[0] - x[1]))) > 1e-3  # another z, another image (G does not ignore z)
  assert [g_vars["params"][f"hidden_{i}"]["kernel"].shape[1] for i in range(3)] == [256, 512, 1024]
  d_vars = jax.jit(functools.partial(discriminator.init, train=False))(jax.random.key(2), x)
  assert [d_vars["params"][f"hidden_{i}"]["kernel"].shape[1] for i in range(3)] == [1024, 512, 256]
  chex.assert_shape(discriminator.apply(d_vars, x, train=True, rngs={"dropout": jax.random.key(3)}), (5,))
  no_dropout = MLPDiscriminator(dropout_rate=0.0)
  chex.assert_trees_all_equal(no_dropout.apply(d_vars, x, train=True, rngs={"dropout": jax.random.key(3)}),
                              no_dropout.apply(d_vars, x, train=False))


def _shapes(module, *args, method="init"):
  """The shapes (jax.eval_shape: no compilation) of module.init(key, *args) or module.apply(*args), train=False."""
  if method == "init":
    return jax.eval_shape(functools.partial(module.init, train=False), jax.random.key(1), *args)
  return jax.eval_shape(functools.partial(module.apply, train=False), *args)


def test_fast_recipe_layers_and_kernel_size():
  z = jax.ShapeDtypeStruct((2, 100), jnp.float32)
  generator = DCGANGenerator(features=(128, 64), kernel_size=4)
  g_vars = _shapes(generator, z)
  x = _shapes(generator, g_vars, z, method="apply")
  chex.assert_shape(x, (2, 28, 28, 1))
  # 7x7x128 -> 14x14x64 -> 28x28x1: no stride-1 layer.
  assert set(g_vars["params"]) == {"project", "bn_project", "deconv_14x14", "bn_14x14", "deconv_28x28"}
  assert g_vars["params"]["deconv_14x14"]["kernel"].shape == (4, 4, 128, 64)
  deeper = _shapes(DCGANGenerator(features=(32, 16, 16, 8)), z)["params"]
  assert deeper["deconv_7x7"]["kernel"].shape == (5, 5, 32, 16)
  assert deeper["deconv_7x7_2"]["kernel"].shape == (5, 5, 16, 16)
  with pytest.raises(ValueError, match="at least 2"):
    _shapes(DCGANGenerator(features=(64,)), z)
  d_vars = _shapes(DCGANDiscriminator(kernel_size=4), x)
  assert d_vars["params"]["conv_1"]["kernel"].shape == (4, 4, 64, 128)


def test_discriminator_batch_norm_uses_batch_statistics_in_training():
  discriminator = DCGANDiscriminator(features=(8, 16), dropout_rate=0.0, batch_norm=True)
  x = jax.random.normal(jax.random.key(0), (6, 28, 28, 1))
  variables = discriminator.init(jax.random.key(1), x, train=False)
  assert set(variables["batch_stats"]) == {"bn_1"}  # none after the first convolution (Radford et al. 2016)
  logits, updates = discriminator.apply(variables, x, train=True, mutable=["batch_stats"])
  chex.assert_shape(logits, (6,))
  # Batch statistics couple the examples: one example's logit depends on the others.
  other, _ = discriminator.apply(variables, x.at[1:].set(0.0), train=True, mutable=["batch_stats"])
  assert abs(float(logits[0] - other[0])) > 1e-4
  assert not jnp.allclose(updates["batch_stats"]["bn_1"]["mean"], variables["batch_stats"]["bn_1"]["mean"])


@pytest.mark.parametrize("c_in,c_out,kernel,stride,size", [
    (1, 8, 5, 2, 28),   # D's first conv
    (6, 7, 5, 2, 14),   # D's second
    (5, 6, 5, 1, 7),    # stride 1
    (3, 4, 4, 2, 14),   # kernel 4
    (2, 3, 3, 3, 8),    # stride 3, a size the stride does not divide
    (2, 3, 5, 2, 9),
])
def test_fast_conv2d_equals_xla_in_value_and_gradients(c_in, c_out, kernel, stride, size):
  from gan_jax.models import conv as fast_conv
  x = jax.random.normal(jax.random.key(0), (3, size, size, c_in))
  w = jax.random.normal(jax.random.key(1), (kernel, kernel, c_in, c_out))
  padding = [fast_conv.same_padding(size, kernel, stride)] * 2

  def reference(x, w):
    return jax.lax.conv_general_dilated(x, w, (stride, stride), padding, dimension_numbers=("NHWC", "HWIO", "NHWC"))

  y_ref, vjp_ref = jax.vjp(reference, x, w)
  y_new, vjp_new = jax.vjp(lambda x, w: fast_conv.conv2d(x, w, stride, padding), x, w)
  chex.assert_trees_all_equal(y_new, y_ref)  # the forward pass is XLA's own
  dy = jax.random.normal(jax.random.key(2), y_ref.shape)
  for new, ref in zip(vjp_new(dy), vjp_ref(dy)):
    scale = float(jnp.max(jnp.abs(ref)))
    chex.assert_trees_all_close(new / scale, ref / scale, atol=1e-5)


@pytest.mark.parametrize("kernel_size", [4, 5])
def test_dcgan_discriminator_is_the_same_function_with_fast_and_autodiff_conv_gradients(kernel_size):
  """Both gradient forms build the same parameters and give the same logits and gradients (to 1e-5)."""
  x = jax.random.uniform(jax.random.key(0), (6, 28, 28, 1), minval=-1, maxval=1)
  models = {g: DCGANDiscriminator(conv_gradients=g, kernel_size=kernel_size) for g in ("autodiff", "fast")}
  variables = models["autodiff"].init(jax.random.key(1), x, train=False)
  chex.assert_trees_all_equal(models["fast"].init(jax.random.key(1), x, train=False), variables)
  weights = jnp.arange(6.0) - 2.5

  def loss(gradients, params, x):
    return jnp.sum(weights * jnp.tanh(models[gradients].apply({"params": params}, x, train=False)))

  values = {g: jax.value_and_grad(loss, argnums=(1, 2))(g, variables["params"], x) for g in models}
  chex.assert_trees_all_close(values["fast"][0], values["autodiff"][0], rtol=1e-5)
  ref_scale = jax.tree.map(lambda a: jnp.max(jnp.abs(a)) + 1e-30, values["autodiff"][1])
  chex.assert_trees_all_close(jax.tree.map(lambda a, s: a / s, values["fast"][1], ref_scale),
                              jax.tree.map(lambda a, s: a / s, values["autodiff"][1], ref_scale), atol=1e-5)


def test_per_example_dropout_masks_depend_on_the_example_key_only():
  """With example_keys, example i's dropout masks come from keys[i]: the same whatever batch it is in."""
  from gan_jax.train import example_keys
  discriminator = DCGANDiscriminator(conv_gradients="fast")
  x = jax.random.normal(jax.random.key(0), (6, 28, 28, 1))
  variables = discriminator.init(jax.random.key(1), x, train=False)
  keys = example_keys(jax.random.key(2), 6)
  whole = discriminator.apply(variables, x, train=True, example_keys=keys)
  halves = [discriminator.apply(variables, x[i:i + 3], train=True, example_keys=keys[i:i + 3]) for i in (0, 3)]
  chex.assert_trees_all_close(jnp.concatenate(halves), whole, atol=1e-6)
  assert not jnp.allclose(whole, discriminator.apply(variables, x, train=True,
                                                     example_keys=example_keys(jax.random.key(3), 6)))
  chex.assert_trees_all_equal(discriminator.apply(variables, x, train=False, example_keys=keys),
                              discriminator.apply(variables, x, train=False))


@pytest.mark.slow
@pytest.mark.parametrize("gradients", ["autodiff", "fast"])
def test_bfloat16_dcgan_keeps_float32_parameters_and_is_near_the_float32_model(gradients):
  """Mixed precision: the same parameters (float32), float32 outputs and gradients, values within bfloat16 rounding."""
  import numpy as np
  z = jax.random.normal(jax.random.key(0), (6, 100))
  g = {p: DCGANGenerator(features=(32, 16, 8), compute_dtype=p) for p in (None, jnp.bfloat16)}
  d = {p: DCGANDiscriminator(features=(8, 16), conv_gradients=gradients, compute_dtype=p) for p in (None, jnp.bfloat16)}
  g_vars = g[None].init(jax.random.key(1), z, train=False)
  x = g[None].apply(g_vars, z, train=False)
  d_vars = d[None].init(jax.random.key(2), x, train=False)
  chex.assert_trees_all_equal(d[jnp.bfloat16].init(jax.random.key(2), x, train=False), d_vars)
  assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves((g_vars, d_vars)))

  def loss(precision, g_params, d_params):
    x_fake = g[precision].apply({**g_vars, "params": g_params}, z, train=False)
    return jnp.mean(jax.nn.softplus(-d[precision].apply({"params": d_params}, x_fake, train=False)))

  values = {p: jax.value_and_grad(loss, argnums=(1, 2))(p, g_vars["params"], d_vars["params"]) for p in g}
  (value16, grads16), (value32, grads32) = values[jnp.bfloat16], values[None]
  assert value16.dtype == jnp.float32 and all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(grads16))
  assert abs(float(value16) - float(value32)) < 1e-2 * abs(float(value32))
  flat16, flat32 = (np.concatenate([np.ravel(a) for a in jax.tree.leaves(t)]) for t in (grads16, grads32))
  assert not np.array_equal(flat16, flat32)  # bfloat16 did round something
  cosine = flat16 @ flat32 / (np.linalg.norm(flat16) * np.linalg.norm(flat32))
  assert cosine > 0.99, cosine


@pytest.mark.parametrize("layer, x_shape", [(nn.Dense(6), (3, 5)),
                                            (nn.Conv(4, (3, 3), strides=(2, 2)), (2, 8, 8, 3))])
def test_spectral_norm_step_equals_flax_spectral_norm(layer, x_shape):
  """One power-iteration step of gan_jax.models.spectral_norm, from the same u, gives flax's
  nn.SpectralNorm's normalized kernel (hence its output), new u and sigma."""
  x = jax.random.normal(jax.random.key(0), x_shape)
  wrapped = nn.SpectralNorm(layer)
  variables = wrapped.init(jax.random.key(1), x, update_stats=False)
  y_flax, updates = wrapped.apply(variables, x, update_stats=True, mutable=["batch_stats"])
  params, stats = variables["params"]["layer_instance"], updates["batch_stats"]
  normalized, vectors, sigmas = spectral_norm.normalize(
      params, {"kernel": variables["batch_stats"]["layer_instance/kernel/u"]})
  chex.assert_trees_all_close(layer.apply({"params": normalized}, x), y_flax, rtol=1e-5, atol=1e-6)
  chex.assert_trees_all_close(vectors["kernel"], stats["layer_instance/kernel/u"], rtol=1e-5, atol=1e-6)
  assert float(sigmas["kernel"]) == pytest.approx(float(stats["layer_instance/kernel/sigma"]), rel=1e-5)


def test_spectral_norm_power_iteration_finds_the_largest_singular_value():
  """Repeated steps: sigma -> the largest singular value of the kernel seen as a [kh*kw*in, out]
  matrix, and the normalized matrix's largest singular value -> 1; biases are left alone."""
  params = DCGANDiscriminator(features=(8, 16)).init(jax.random.key(0), jnp.zeros((1, 28, 28, 1)), train=False)["params"]
  params = jax.tree.map(lambda p: 3.0 * p + 0.1, params)  # spectral norms well away from 1, non-zero biases
  vectors = spectral_norm.init_vectors(params, jax.random.key(1))
  assert sorted(vectors) == ["conv_0/kernel", "conv_1/kernel", "logit/kernel"]
  step = jax.jit(spectral_norm.normalize)
  for _ in range(100):
    normalized, vectors, sigmas = step(params, vectors)
  for name, layer in (("conv_1/kernel", "conv_1"), ("logit/kernel", "logit")):
    matrix = np.asarray(params[layer]["kernel"]).reshape(-1, params[layer]["kernel"].shape[-1])
    top = np.linalg.svd(matrix, compute_uv=False)[0]
    assert float(sigmas[name]) == pytest.approx(top, rel=1e-3)
    scaled = np.asarray(normalized[layer]["kernel"]).reshape(matrix.shape)
    assert np.linalg.svd(scaled, compute_uv=False)[0] == pytest.approx(1.0, rel=1e-3)
    assert top > 2.0  # the normalization changed something
  chex.assert_trees_all_equal(normalized["conv_0"]["bias"], params["conv_0"]["bias"])


def test_infogan_codes_are_uniform_and_the_generator_reads_them_from_z():
  """The continuous codes erf(z / sqrt 2) of z ~ N(0, I) are Uniform(-1, 1) (mean 0, variance 1/3, each
  tenth of the interval holding a tenth of them); G(z, c) with its codes passed explicitly is G(z, c) with
  them read from z; the codes and the categorical code change the image; Q's head has the paper's shape."""
  from gan_jax.models.conditional import InfoGANGenerator, continuous_codes
  from gan_jax.models.mlp import MLPDiscriminator, MLPGenerator
  z = jax.random.normal(jax.random.key(0), (200_000, 5))
  codes = np.asarray(continuous_codes(z, 2))
  assert codes.shape == (200_000, 2) and np.all(np.abs(codes) < 1)
  np.testing.assert_allclose(codes.mean(0), 0.0, atol=5e-3)
  np.testing.assert_allclose(codes.var(0), 1 / 3, atol=5e-3)
  np.testing.assert_allclose(np.histogram(codes[:, 0], bins=10, range=(-1, 1))[0] / len(codes), 0.1, atol=3e-3)
  g = InfoGANGenerator(MLPGenerator(features=(16,)), 10, 2)
  z, labels = z[:4], jnp.array([0, 1, 2, 3])
  params = g.init(jax.random.key(1), z, labels)
  x = g.apply(params, z, labels)
  assert x.shape == (4, 28, 28, 1)
  np.testing.assert_allclose(g.apply(params, z, labels, continuous=continuous_codes(z, 2)), x, atol=1e-6)
  assert float(jnp.max(jnp.abs(g.apply(params, z, labels, continuous=jnp.full((4, 2), 2.0)) - x))) > 1e-3
  assert float(jnp.max(jnp.abs(g.apply(params, z, (labels + 1) % 10) - x))) > 1e-3
  d = MLPDiscriminator(features=(32, 16), q_outputs=12)
  d_params = d.init(jax.random.key(2), x, train=False)
  logits, q = d.apply(d_params, x, train=False)
  assert logits.shape == (4,) and q.shape == (4, 12)
  assert d_params["params"]["q"]["hidden"]["kernel"].shape == (16, 128)
