"""Tests of gan_jax.data on the real files in shared/data (beside the repo)."""

import importlib.util
import pathlib

import jax
import numpy as np
import pytest

from gan_jax import data
from gan_jax.errors import DataError
from tests.conftest import SHARED_DATA
from tests.helpers import isolate_data_env, needs_shared, no_network


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
  isolate_data_env(monkeypatch, tmp_path)


@needs_shared
@pytest.mark.parametrize("name,split,n,first_labels", [
    ("mnist", "train", 60000, [5, 0, 4]),
    ("mnist", "test", 10000, [7, 2, 1]),
    ("fashion_mnist", "train", 60000, [9, 0, 0]),
    ("fashion_mnist", "test", 10000, [9, 2, 1]),
])
def test_load(monkeypatch, name, split, n, first_labels):
  no_network(monkeypatch)
  images, labels = data.load(name, split, data_dir=SHARED_DATA)
  assert images.shape == (n, 28, 28) and images.dtype == np.uint8
  assert labels.shape == (n,) and labels.dtype == np.uint8
  assert labels[:3].tolist() == first_labels
  assert set(np.unique(labels).tolist()) == set(range(10))
  assert images.min() == 0 and images.max() == 255
  assert not images.flags.writeable and not labels.flags.writeable
  again = data.load(name, split, data_dir=SHARED_DATA)
  assert again[0] is images and again[1] is labels


@pytest.mark.parametrize("args,valid", [
    (("cifar10", "train"), "mnist, fashion_mnist"),
    (("mnist", "valid"), "train, test"),
    (("mnist", "train", None, "csv"), "idx, tfds"),
])
def test_unknown_choices(args, valid):
  with pytest.raises(DataError, match=valid):
    data.load(*args)


def test_tfds_not_installed():
  if importlib.util.find_spec("tensorflow_datasets") is not None:
    pytest.skip("tensorflow_datasets is installed")
  with pytest.raises(DataError, match=r"pip install -e '\.\[tfds\]'"):
    data.load("mnist", "train", source="tfds")


def test_bad_idx_magic_is_refused():
  with pytest.raises(DataError, match="magic number 2049"):
    data._parse_idx(b"\x00\x00\x08\x03" + bytes(4), 2049, (1,), pathlib.Path("x.gz"))


def test_range_conversions():
  images = np.array([[[0, 128], [255, 1]]], np.uint8)
  gan, unit = data.to_gan_range(images), data.to_unit_range(images)
  assert gan.shape == unit.shape == (1, 2, 2, 1)
  assert gan.dtype == unit.dtype == np.float32
  assert gan[0, 0, 0, 0] == -1 and gan[0, 1, 0, 0] == 1
  assert unit[0, 0, 0, 0] == 0 and unit[0, 1, 0, 0] == 1
  full = data.to_gan_range(np.arange(256, dtype=np.uint8).reshape(1, 16, 16))
  assert full.min() == -1 and full.max() == 1 and np.all(np.diff(full.ravel()) > 0)
  with pytest.raises(DataError):
    data.to_gan_range(images.astype(np.float32))


def test_steps_per_epoch():
  assert data.steps_per_epoch(60000, 64) == 937
  assert data.steps_per_epoch(10, 10) == 1
  for batch_size in (11, 0):
    with pytest.raises(DataError):
      data.steps_per_epoch(10, batch_size)


def test_epoch_batch_indices():
  key = jax.random.key(0)
  batches = data.epoch_batch_indices(key, 0, 1000, 64)
  assert batches.shape == (15, 64) and batches.dtype == np.int32
  assert len(np.unique(batches)) == 15 * 64 and batches.min() >= 0 and batches.max() < 1000
  np.testing.assert_array_equal(batches, data.epoch_batch_indices(jax.random.key(0), 0, 1000, 64))
  assert not np.array_equal(batches, data.epoch_batch_indices(key, 1, 1000, 64))
  assert not np.array_equal(batches, data.epoch_batch_indices(jax.random.key(1), 0, 1000, 64))
  expected = np.asarray(jax.random.permutation(jax.random.fold_in(key, 0), 1000))[:960].reshape(15, 64)
  np.testing.assert_array_equal(batches, expected)
