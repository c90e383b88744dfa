"""MNIST and Fashion-MNIST as arrays: loading, pixel ranges and batching.

`load` reads a split into uint8 numpy arrays, from the verified IDX files that
`gan_jax.obtain` finds (data_dir, cache, package registries, mirrors) or from
tensorflow-datasets' prepared copy; the pixel-range helpers and the batching
helpers turn them into the float32 batches the training loop consumes.
"""

import functools
import importlib
import pathlib
import struct

import jax
import numpy as np

from gan_jax.errors import DataError
from gan_jax.obtain import (DATASETS, IMAGES_MAGIC, LABELS_MAGIC, SPLIT_FILES, check_choice, obtain, one_line,
                            read_verified)

SPLITS = ("train", "test")
SOURCES = ("idx", "tfds")
IMAGE_SHAPE = (28, 28, 1)  # one model input: height, width, channels


def _parse_idx(content: bytes, magic: int, dims: tuple, path: pathlib.Path) -> np.ndarray:
  """Parses IDX bytes into a read-only uint8 array of shape `dims`."""
  header = 4 * (1 + len(dims))
  if len(content) < header or struct.unpack(">I", content[:4])[0] != magic:
    raise DataError(f"{path} is not an IDX file with magic number {magic}: delete it and obtain it again")
  if struct.unpack(f">{len(dims)}I", content[4:header]) != dims or len(content) != header + int(np.prod(dims)):
    raise DataError(f"{path} does not have shape {dims}: delete it and obtain it again")
  return np.frombuffer(content, np.uint8, offset=header).reshape(dims)


@functools.lru_cache(maxsize=None)
def _load_idx(name: str, split: str, directory: pathlib.Path) -> tuple:
  images_file, labels_file, n = SPLIT_FILES[split]
  images_path, labels_path = directory / images_file, directory / labels_file
  images = _parse_idx(read_verified(name, images_path), IMAGES_MAGIC, (n, 28, 28), images_path)
  labels = _parse_idx(read_verified(name, labels_path), LABELS_MAGIC, (n,), labels_path)
  return images, labels


@functools.lru_cache(maxsize=None)
def _load_tfds(name: str, split: str, data_dir) -> tuple:
  try:  # an optional extra, and a slow import: loaded only when asked for
    tfds = importlib.import_module("tensorflow_datasets")
  except ImportError as e:
    raise DataError("source='tfds' needs tensorflow-datasets: pip install -e '.[tfds]'") from e
  try:
    examples = list(tfds.data_source(name, split=split, data_dir=data_dir))
  except Exception as e:  # pylint: disable=broad-except
    raise DataError(f"tfds cannot read {name}/{split} ({one_line(e, 160)}): prepare it first or use source='idx'") from e
  images = np.stack([np.asarray(ex["image"], np.uint8).reshape(28, 28) for ex in examples])
  labels = np.asarray([ex["label"] for ex in examples], np.uint8)
  images.setflags(write=False)
  labels.setflags(write=False)
  return images, labels


def load(name: str, split: str, data_dir=None, source: str = "idx") -> tuple:
  """Loads one split of MNIST or Fashion-MNIST.

  The arrays are cached in-process and shared between calls: they are
  read-only (copy them to modify). With `source="idx"` every call re-runs
  `obtain` (cheap: verified files are not re-hashed while unchanged).

  Args:
    name: a dataset in `DATASETS`.
    split: "train" (N=60000) or "test" (N=10000).
    data_dir: str or Path, see `obtain`; for source="tfds", the tfds data_dir.
    source: "idx" (the original IDX files, see `obtain`) or "tfds"
      (`tfds.data_source`; needs the dataset prepared by tensorflow-datasets;
      its example order may differ from the IDX order).
  Returns:
    (images, labels): images uint8 [N, 28, 28] in 0..255 (0 is background),
    labels uint8 [N] in 0..9.
  Raises:
    DataError: unknown name, split or source; data that cannot be obtained or
      fails its checksum; tensorflow-datasets not installed for source="tfds".
  """
  check_choice("dataset", name, DATASETS)
  check_choice("split", split, SPLITS)
  check_choice("source", source, SOURCES)
  if source == "tfds":
    return _load_tfds(name, split, None if data_dir is None else str(data_dir))
  return _load_idx(name, split, obtain(name, data_dir).resolve())


def _images_nhwc(images) -> np.ndarray:
  images = np.asarray(images)
  if images.dtype != np.uint8 or images.ndim != 3:
    raise DataError(f"expected uint8 images [N, H, W], got {images.dtype} {list(images.shape)}: pass load()'s images")
  return images[..., None].astype(np.float32)


def to_gan_range(images) -> np.ndarray:
  """uint8 images -> float32 [N, 28, 28, 1] in [-1, 1] (x / 127.5 - 1; 0 -> -1, 255 -> 1).

  Args:
    images: uint8 [N, 28, 28], 0..255.
  Returns:
    float32 [N, 28, 28, 1] in [-1, 1], matching a tanh generator output.
  Raises:
    DataError: images are not a uint8 [N, H, W] array.
  """
  return _images_nhwc(images) / np.float32(127.5) - np.float32(1)


def to_unit_range(images) -> np.ndarray:
  """uint8 images -> float32 [N, 28, 28, 1] in [0, 1] (x / 255).

  Args:
    images: uint8 [N, 28, 28], 0..255.
  Returns:
    float32 [N, 28, 28, 1] in [0, 1].
  Raises:
    DataError: images are not a uint8 [N, H, W] array.
  """
  return _images_nhwc(images) / np.float32(255)


def _uint8_images(x) -> np.ndarray:
  """Float images [N, ...] of 784 pixels each -> float32 [N, 28, 28]."""
  x = np.asarray(x, np.float32)
  return x.reshape(x.shape[0], *IMAGE_SHAPE[:2])


def gan_range_to_uint8(x) -> np.ndarray:
  """Images in [-1, 1] (a tanh generator's), float [N, 28, 28, 1] or [N, 784] -> uint8 [N, 28, 28],
  rounded to the nearest grey level (the inverse of to_gan_range on its values)."""
  return np.clip(np.round((_uint8_images(x) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def unit_range_to_uint8(x) -> np.ndarray:
  """Images in [0, 1] (Bernoulli means), float [N, 28, 28, 1] or [N, 784] -> uint8 [N, 28, 28],
  rounded to the nearest grey level (the inverse of to_unit_range on its values)."""
  return np.clip(np.round(_uint8_images(x) * 255.0), 0, 255).astype(np.uint8)


def binarize(images, seed: int = 0) -> np.ndarray:
  """Stochastic binarization: each pixel is 1 with probability value / 255 (uint8 input).

  One fixed draw per seed: the held-out set of "dynamically binarized MNIST"
  evaluations (training draws a new binarization every step instead).

  Returns:
    float32 [N, 28, 28, 1] in {0, 1}.
  """
  return np.asarray(jax.random.bernoulli(jax.random.key(seed), to_unit_range(images)), np.float32)


def steps_per_epoch(num_examples: int, batch_size: int) -> int:
  """Number of full batches in one epoch (the remainder is dropped).

  Args:
    num_examples: int >= 1.
    batch_size: int, 1..num_examples.
  Returns:
    num_examples // batch_size, >= 1.
  Raises:
    DataError: batch_size < 1 or batch_size > num_examples.
  """
  if not 1 <= batch_size <= num_examples:
    raise DataError(f"batch_size {batch_size} must be between 1 and the {num_examples} examples: lower --batch_size")
  return num_examples // batch_size


def epoch_batch_indices(key: jax.Array, epoch: int, num_examples: int, batch_size: int) -> np.ndarray:
  """The example indices of every batch of one epoch, in order.

  A permutation `jax.random.permutation(jax.random.fold_in(key, epoch),
  num_examples)`, its remainder dropped: the same key and epoch always give the
  same batches; each epoch gets its own order.

  Args:
    key: a typed PRNG key from `jax.random.key(seed)` (a raw uint32[2] key works too).
    epoch: int >= 0.
    num_examples: int >= batch_size.
    batch_size: int >= 1.
  Returns:
    int32 numpy [steps_per_epoch, batch_size], distinct indices in 0..num_examples-1.
  Raises:
    DataError: batch_size < 1 or batch_size > num_examples.
  """
  steps = steps_per_epoch(num_examples, batch_size)
  order = np.asarray(jax.random.permutation(jax.random.fold_in(key, epoch), num_examples))
  return order[:steps * batch_size].astype(np.int32).reshape(steps, batch_size)
