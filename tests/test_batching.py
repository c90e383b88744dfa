"""gan_jax.batching: fixed-shape batches, per-example outputs in order, one compilation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax.batching import batched
from gan_jax.errors import ConfigError


def test_batched_equals_one_call_and_sees_only_full_batches():
  x = np.arange(23 * 3, dtype=np.float32).reshape(23, 3)
  y = np.arange(23, dtype=np.int32)
  shapes, starts = set(), []
  traces = []

  @jax.jit
  def f(x, y):
    traces.append(1)
    return {"sum": jnp.sum(x, axis=1) + y, "x2": x * 2}

  def fn(start, xb, yb):
    shapes.add((xb.shape, yb.shape))
    starts.append(start)
    return f(xb, yb)

  out = batched(fn, x, y, batch_size=10)
  np.testing.assert_array_equal(out["sum"], x.sum(axis=1) + y)
  np.testing.assert_array_equal(out["x2"], x * 2)
  assert shapes == {((10, 3), (10,))} and starts == [0, 10, 20]
  assert len(traces) == 1  # one compilation for the three batches, the last one padded


def test_batched_with_no_rows_keeps_the_output_shapes():
  out = batched(lambda start, x: (x[:, :2], x.sum(axis=1)), np.zeros((0, 5), np.float32), batch_size=4)
  assert out[0].shape == (0, 2) and out[1].shape == (0,)


def test_batched_refuses_bad_arguments():
  with pytest.raises(ConfigError, match="batch_size must be >= 1"):
    batched(lambda s, x: x, np.zeros(3), batch_size=0)
  with pytest.raises(ValueError, match="one leading size"):
    batched(lambda s, x, y: x, np.zeros(3), np.zeros(4))
