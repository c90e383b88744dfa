"""Fixed-shape batched inference: the one loop that runs a function over many examples.

Every batch handed to the function has exactly `batch_size` rows (the last one
is padded with zeros and its extra rows dropped), so a jitted function compiles
once per batch size however many examples there are.
"""

from typing import Any, Callable

import jax
import numpy as np
from tqdm.auto import tqdm

from gan_jax.errors import ConfigError


def batched(fn: Callable[..., Any], *arrays, batch_size: int = 1000, progress: str = "") -> Any:
  """fn over `arrays` in fixed-shape batches, its per-example outputs concatenated.

  Args:
    fn: (start, *batches) -> a pytree of arrays whose leading axis is the batch's
      rows; `start` (int) is the index of the batch's first example, e.g. for
      fold_in(key, start); each batch is the arrays' rows [start, start + batch_size),
      zero-padded to batch_size rows.
    arrays: numpy or jax arrays with the same leading size N (N may be 0).
    batch_size: rows per call of fn, >= 1.
    progress: a tqdm bar over the batches with this description ("" for none).
  Returns:
    fn's output pytree with numpy leaves of leading size N.
  Raises:
    ConfigError: batch_size < 1.
    ValueError: no arrays, or arrays of different leading sizes.
  """
  if batch_size < 1:
    raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
  if not arrays:
    raise ValueError("batched needs at least one array")
  n = len(arrays[0])
  if any(len(a) != n for a in arrays):
    raise ValueError(f"arrays must have one leading size, got {[len(a) for a in arrays]}")
  outputs = []
  for start in tqdm(range(0, max(n, 1), batch_size), desc=progress, unit="batch", disable=not progress):
    rows = min(batch_size, n - start)
    chunks = [np.asarray(a[start:start + rows]) for a in arrays]
    chunks = [np.concatenate([c, np.zeros((batch_size - rows,) + c.shape[1:], c.dtype)]) for c in chunks]
    outputs.append(jax.tree.map(lambda leaf, rows=rows: np.asarray(leaf)[:rows], fn(start, *chunks)))
  return jax.tree.map(lambda *leaves: np.concatenate(leaves), *outputs)
