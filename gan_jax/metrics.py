"""Measures of generated images that need no trained network.

Feature-network scores (FID-style, classifier score, KID, precision/recall)
come with issue 4; here: nearest neighbours in pixel space, the memorization
check of the course ("are the samples copies of training images?").
"""

import jax
import jax.numpy as jnp
import numpy as np


@jax.jit
def _squared_distances(queries: jax.Array, references: jax.Array) -> jax.Array:
  q2 = jnp.sum(queries ** 2, axis=1)[:, None]
  r2 = jnp.sum(references ** 2, axis=1)[None, :]
  return jnp.maximum(q2 + r2 - 2.0 * queries @ references.T, 0.0)


def nearest_neighbors(queries: np.ndarray, references: np.ndarray, k: int = 1,
                      chunk_size: int = 10000) -> tuple[np.ndarray, np.ndarray]:
  """The k nearest references of each query in L2 pixel distance.

  Args:
    queries: [Q, ...] images (any float or uint8 values; flattened per image).
    references: [R, ...] images of the same shape and scale as the queries.
    k: neighbours per query, 1..R.
    chunk_size: references compared per device call (bounds memory to Q x chunk_size).
  Returns:
    (distances float32 [Q, k], Euclidean, in the images' units, ascending;
     indices int64 [Q, k] into references).
  Raises:
    ValueError: k out of range or shapes that differ per image.
  """
  q = np.asarray(queries, np.float32).reshape(len(queries), -1)
  r = np.asarray(references, np.float32).reshape(len(references), -1)
  if q.shape[1] != r.shape[1]:
    raise ValueError(f"queries have {q.shape[1]} values per image, references {r.shape[1]}")
  if not 1 <= k <= len(r):
    raise ValueError(f"k must be in 1..{len(r)}, got {k}")
  best_d = np.full((len(q), 0), np.inf, np.float32)
  best_i = np.zeros((len(q), 0), np.int64)
  for start in range(0, len(r), chunk_size):
    d = np.asarray(_squared_distances(q, r[start:start + chunk_size]))
    kk = min(k, d.shape[1])
    part = np.argpartition(d, kk - 1, axis=1)[:, :kk]
    best_d = np.concatenate([best_d, np.take_along_axis(d, part, axis=1)], axis=1)
    best_i = np.concatenate([best_i, part + start], axis=1)
    order = np.argsort(best_d, axis=1)[:, :k]
    best_d, best_i = np.take_along_axis(best_d, order, axis=1), np.take_along_axis(best_i, order, axis=1)
  return np.sqrt(best_d), best_i
