"""gan_jax.rng: the named streams of a seed are the fold_in keys the results were made with, and distinct."""

import jax
import numpy as np

from gan_jax import rng


def test_streams_are_fold_ins_of_the_seed_and_differ():
  draws = {}
  for stream in rng.Stream:
    key = rng.key(5, stream)
    np.testing.assert_array_equal(jax.random.key_data(key),
                                  jax.random.key_data(jax.random.fold_in(jax.random.key(5), int(stream))))
    draws[stream] = float(jax.random.uniform(key))
  assert len(set(draws.values())) == len(rng.Stream)  # no two streams give the same numbers
  assert [int(s) for s in rng.Stream] == [0, 1, 2, 3, 4, 5, 7]  # the numbers recorded runs were made with
  assert float(jax.random.uniform(rng.key(6, rng.Stream.INIT))) != draws[rng.Stream.INIT]
