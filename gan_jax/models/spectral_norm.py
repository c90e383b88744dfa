"""Spectral normalization of a network's weights (Miyato et al. 2018), as pure functions of its parameters.

Every weight W with two or more dimensions (dense kernels [in, out], convolution
kernels [kh, kw, in, out], seen as matrices [kh * kw * in, out]) is divided by
sigma(W), its largest singular value, estimated by one step of power iteration
per training update from a vector u carried across updates (Miyato et al. 2018,
Algorithm 1): v = normalize(u W^T), u = normalize(v W), sigma = v W u^T, with u
and v held constant in the gradient. Biases are left as they are. D's Lipschitz
constant is then at most the product of its activations' (1 for ReLU and
LeakyReLU), which is what SAGAN and BigGAN rely on.

The steps are flax's `nn.SpectralNorm`'s, with the same u vectors ([1, out]) and
the same epsilon (tests/test_models.py checks that the two agree). They are
written here as functions of the parameter tree because this project applies D
example by example under `jax.vmap` (so dropout masks do not depend on the
device count; `gan_jax.gan.discriminate`): a layer that updates its u inside D's
forward pass would run a power iteration per example. Here the normalized
weights are computed once per D update and D is applied with them.
"""

from typing import Any

import flax
import jax
import jax.numpy as jnp

EPSILON = 1e-12  # added to norms before dividing (flax's default)


def _l2_normalize(x: jax.Array) -> jax.Array:
  return x * jax.lax.rsqrt(jnp.sum(x * x) + EPSILON)


def _as_matrix(w: jax.Array) -> jax.Array:
  return w.reshape(-1, w.shape[-1])


def init_vectors(params: Any, key: jax.Array) -> dict[str, jax.Array]:
  """The power iteration's starting vectors: {"path/to/kernel": u [1, out] float32 ~ N(0, I)}
  for every parameter with two or more dimensions, each from fold_in(key, its index in path order)."""
  flat = flax.traverse_util.flatten_dict(params, sep="/")
  names = sorted(name for name, w in flat.items() if w.ndim >= 2)
  return {name: jax.random.normal(jax.random.fold_in(key, i), (1, flat[name].shape[-1]), jnp.float32)
          for i, name in enumerate(names)}


def normalize(params: Any, vectors: dict[str, jax.Array]) -> tuple[Any, dict[str, jax.Array], dict[str, jax.Array]]:
  """W / sigma(W) for every weight that has a vector in `vectors`, after one power-iteration step.

  Args:
    params: a parameter tree (e.g. D's); leaves named in `vectors` are normalized.
    vectors: from `init_vectors` or a previous call: {"path/to/kernel": u [1, out]}.
  Returns:
    (normalized params, same tree structure; the updated vectors; {"path/to/kernel": sigma}
    float32 scalars, the estimates the weights were divided by). Gradients flow
    through W and sigma(W), not through u and v.
  Raises:
    KeyError: a vector names no parameter of `params`.
  """
  flat = dict(flax.traverse_util.flatten_dict(params, sep="/"))
  new_vectors, sigmas = {}, {}
  for name, u in vectors.items():
    w = flat[name]
    matrix = _as_matrix(w)
    v = _l2_normalize(u @ matrix.T)
    u = _l2_normalize(v @ matrix)
    u, v = jax.lax.stop_gradient(u), jax.lax.stop_gradient(v)
    sigma = (v @ matrix @ u.T)[0, 0]
    flat[name] = (matrix / jnp.where(sigma != 0, sigma, 1.0)).reshape(w.shape)
    new_vectors[name], sigmas[name] = u, sigma
  return flax.traverse_util.unflatten_dict(flat, sep="/"), new_vectors, sigmas
