"""Domain feature networks: LeNet classifiers of MNIST and Fashion-MNIST, shipped trained.

FID-style scores (Heusel et al. 2017) compare real and generated images in the
feature space of a trained classifier. ImageNet's Inception network knows
nothing of 28x28 digits, so, as is usual for MNIST (e.g. Binkowski et al. 2018
use a LeNet for their MNIST KID), the feature space here is the penultimate
layer of a `gan_jax.models.classifier.LeNet` trained on the same dataset.

The trained weights ship inside the package (`ASSETS`, one flax-msgpack file of
the params tree per dataset, 1.8 MB), so evaluation needs neither a
download nor a training run. `load` checks each file's sha256 against
`SHA256`. `python -m experiments.train_classifier --dataset=mnist` reproduces a
file with `train` (same seed, same machine -> the same bytes) and prints its
sha256; XLA on another CPU may round differently, in which case the printed
sha256 is the one to put in `SHA256`.
"""

import functools
import hashlib
import pathlib
from typing import Any, NamedTuple

import flax
import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm.auto import tqdm

from gan_jax import data, files
from gan_jax.batching import batched
from gan_jax.errors import CheckpointError, ConfigError, DataError
from gan_jax.models.classifier import LeNet

DATASETS = ("mnist", "fashion_mnist")
ASSETS = pathlib.Path(__file__).resolve().parent / "assets"
FILENAMES = {"mnist": "lenet_mnist.msgpack", "fashion_mnist": "lenet_fashion_mnist.msgpack"}
# sha256 hexdigest of each shipped file, as printed by experiments/train_classifier.py.
SHA256 = {
    "mnist": "ff2343e381869ef33dd3f155fe9ac1ac572b2c359d2c4a51ddd36c31f213d2c1",
    "fashion_mnist": "5ccc58cd6b98d9c8f2c984f9a6f9f17ec62d4da7861164c188b6b14c45744393",
}
# The test accuracy each shipped net must reach (tests/test_feature_nets.py checks it).
MIN_TEST_ACCURACY = {"mnist": 0.99, "fashion_mnist": 0.90}
# Epochs of the shipped nets (Adam, learning rate 1e-3 cosine-decayed to 0, batch 128, seed 0).
DEFAULT_EPOCHS = {"mnist": 5, "fashion_mnist": 10}


class FeatureNet(NamedTuple):
  """A trained classifier: apply with `module.apply({"params": params}, x)`.

  Attributes:
    dataset: "mnist" or "fashion_mnist", the data it was trained on.
    module: the LeNet (its default widths for the shipped nets).
    params: its params tree.
  """
  dataset: str
  module: LeNet
  params: Any


def _check_dataset(dataset: str) -> None:
  if dataset not in DATASETS:
    raise ConfigError(f"no feature net for dataset {dataset!r}: choose one of {', '.join(DATASETS)}")


def asset_path(dataset: str) -> pathlib.Path:
  """The shipped weight file of `dataset`'s net, `ASSETS/lenet_<dataset>.msgpack`.

  Raises:
    ConfigError: unknown dataset.
  """
  _check_dataset(dataset)
  return ASSETS / FILENAMES[dataset]


def init_params(module: LeNet, key: jax.Array) -> Any:
  """Fresh params of `module` for 28x28x1 images, from a typed PRNG key."""
  return module.init(key, jnp.zeros((1, *data.IMAGE_SHAPE), jnp.float32))["params"]


def save(params: Any, path) -> str:
  """Writes `params` as flax msgpack (`flax.serialization.to_bytes`), atomically.

  Args:
    params: a LeNet params tree.
    path: str or Path of the file; its folder is created if needed. The bytes go
      to a temp file in the same folder, then `os.replace` puts them in place.
  Returns:
    the sha256 hexdigest of the bytes written.
  """
  path = pathlib.Path(path)
  blob = flax.serialization.to_bytes(jax.device_get(params))
  files.write_atomic(path, blob)
  return hashlib.sha256(blob).hexdigest()


def load(dataset: str, path=None, expected_sha256: str | None = None) -> FeatureNet:
  """The trained LeNet of `dataset`, from the shipped file or from `path`.

  Args:
    dataset: "mnist" or "fashion_mnist".
    path: str or Path of a file written by `save`; None: the shipped file,
      `asset_path(dataset)`.
    expected_sha256: hexdigest the file's bytes must have. None: `SHA256[dataset]`
      for the shipped file, no check for a file given by `path`.
  Returns:
    a FeatureNet with the default LeNet and the file's params.
  Raises:
    ConfigError: unknown dataset.
    CheckpointError: the file is missing, fails its checksum, or is not a
      LeNet params tree of the default widths.
  """
  _check_dataset(dataset)
  if path is None:
    path = asset_path(dataset)
    if expected_sha256 is None:
      expected_sha256 = SHA256[dataset]
  path = pathlib.Path(path)
  fix = (f"rebuild it with `python -m experiments.train_classifier --dataset={dataset} --out={path}` "
         f"or reinstall gan_jax")
  try:
    blob = path.read_bytes()
  except OSError as e:
    raise CheckpointError(f"cannot read the {dataset} feature net {path} ({e.strerror}): {fix}") from e
  if expected_sha256 is not None:
    digest = hashlib.sha256(blob).hexdigest()
    if digest != expected_sha256:
      raise CheckpointError(f"the {dataset} feature net {path} fails its checksum (sha256 {digest[:16]}..., "
                            f"expected {expected_sha256[:16]}...): {fix}")
  module = LeNet()
  template = init_params(module, jax.random.key(0))
  try:
    params = flax.serialization.from_bytes(template, blob)
    same = jax.tree.map(lambda a, b: np.shape(a) == np.shape(b) and np.asarray(b).dtype == np.float32,
                        template, params)
    if not all(jax.tree.leaves(same)):
      raise ValueError("its arrays have other shapes than LeNet()'s")
  except (ValueError, TypeError, KeyError, IndexError) as e:
    reason = " ".join(str(e).split())[:160]
    raise CheckpointError(f"the {dataset} feature net {path} is not a LeNet params file ({reason}): {fix}") from e
  return FeatureNet(dataset, module, jax.tree.map(jnp.asarray, params))


def _unit_images(images) -> np.ndarray:
  """uint8 [N, 28, 28(, 1)] in 0..255 or float [N, 28, 28(, 1)] in [0, 1] -> float32 [N, 28, 28, 1] in [0, 1]."""
  images = np.asarray(images)
  if images.ndim == 4 and images.shape[-1] == 1:
    images = images[..., 0]
  if images.ndim != 3 or images.shape[1:] != data.IMAGE_SHAPE[:2]:
    raise DataError(f"expected images [N, 28, 28] or [N, 28, 28, 1], got shape {list(images.shape)}")
  if images.dtype == np.uint8:
    return data.to_unit_range(images)
  if not np.issubdtype(images.dtype, np.floating):
    raise DataError(f"expected uint8 images in 0..255 or float images in [0, 1], got {images.dtype}")
  if images.size and not (images.min() >= 0 and images.max() <= 1):  # also catches NaN
    raise DataError(f"float images must lie in [0, 1], got values in [{images.min()}, {images.max()}]: "
                    f"map a generator's [-1, 1] output with (x + 1) / 2")
  return images[..., None].astype(np.float32)


@functools.partial(jax.jit, static_argnums=0)
def _features_and_probs(module: LeNet, params: Any, x: jax.Array) -> tuple[jax.Array, jax.Array]:
  logits, features = module.apply({"params": params}, x)
  return features, jax.nn.softmax(logits)


def embed(net: FeatureNet, images, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
  """Penultimate features and class probabilities of images under a feature net.

  Runs in inference mode (no dropout) in batches of `batch_size`; the last batch
  is padded to full size, so one compiled function serves every call with the
  same net and batch size.

  Args:
    net: from `load`.
    images: uint8 [N, 28, 28] in 0..255 (divided by 255, as `data.to_unit_range`),
      or float [N, 28, 28] / [N, 28, 28, 1] that must already be in [0, 1]
      (0 is background); numpy or jax.
    batch_size: images per call of the network, >= 1.
  Returns:
    (features, probs): features float32 [N, net.module.hidden], the ReLU
    activations before the last layer; probs float32 [N, 10], softmax of the
    logits (rows sum to 1).
  Raises:
    ConfigError: batch_size < 1.
    DataError: images of another shape or dtype, or float images outside [0, 1].
  """
  x = _unit_images(images)
  return batched(lambda start, batch: jax.device_get(_features_and_probs(net.module, net.params, batch)),
                 x, batch_size=batch_size)


def accuracy(net: FeatureNet, images, labels) -> float:
  """Fraction of images whose most probable class is their label.

  Args:
    net: from `load` (or a FeatureNet of freshly trained params).
    images: as for `embed`, N >= 1.
    labels: int [N] in 0..9.
  Returns:
    accuracy in [0, 1].
  Raises:
    DataError: bad images, or a number of labels other than N.
  """
  labels = np.asarray(labels)
  if labels.shape != (len(images),):
    raise DataError(f"expected {len(images)} labels, got shape {list(labels.shape)}")
  _, probs = embed(net, images)
  return float(np.mean(probs.argmax(axis=1) == labels))


def make_train_step(module: LeNet, tx: optax.GradientTransformation):
  """The pure train step of softmax cross-entropy, with dropout.

  Args:
    module: the LeNet.
    tx: the optax optimizer.
  Returns:
    train_step(params, opt_state, key, step, x, y) -> (params, opt_state, loss):
    x float32 [B, 28, 28, 1] in [0, 1], y int32 [B]; dropout uses
    fold_in(key, step); loss is the batch's mean cross-entropy in nats before the update.
  """

  def train_step(params, opt_state, key, step, x, y):
    def loss_fn(p):
      logits, _ = module.apply({"params": p}, x, train=True, rngs={"dropout": jax.random.fold_in(key, step)})
      return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  return train_step


def train(dataset: str, *, seed: int = 0, num_epochs: int | None = None, batch_size: int = 128,
          learning_rate: float = 1e-3, data_dir=None, show_progress: bool = True,
          max_steps: int | None = None) -> tuple[Any, float]:
  """Trains a LeNet on a dataset's train split; the shipped nets come from here.

  Adam (Kingma & Ba 2015) on the mean softmax cross-entropy, its learning rate
  decayed to 0 over the run on a half cosine (Loshchilov & Hutter 2017), dropout
  on the features. Deterministic: the seed fixes the
  initial params, the dropout masks and the data order
  (`data.epoch_batch_indices`), so the same seed on the same machine gives the
  same params bit for bit.

  Args:
    dataset: "mnist" or "fashion_mnist".
    seed: PRNG seed.
    num_epochs: passes over the 60000 training images (the remainder of each
      shuffled epoch is dropped); None: `DEFAULT_EPOCHS[dataset]`.
    batch_size: images per step.
    learning_rate: Adam's initial step size.
    data_dir: see `gan_jax.obtain.obtain`.
    show_progress: a tqdm bar over the steps.
    max_steps: optional cap on the number of steps, for smoke tests (the
      learning rate still decays over num_epochs, so the run is a prefix of the full one).
  Returns:
    (params, test_accuracy): the LeNet params tree; its accuracy on the 10000
    images of the test split.
  Raises:
    ConfigError: unknown dataset, num_epochs < 1.
    DataError: the data cannot be obtained, or a bad batch_size.
  """
  _check_dataset(dataset)
  num_epochs = DEFAULT_EPOCHS[dataset] if num_epochs is None else num_epochs
  if num_epochs < 1:
    raise ConfigError(f"num_epochs must be >= 1, got {num_epochs}")
  images, labels = data.load(dataset, "train", data_dir)
  x_train, y_train = data.to_unit_range(images), labels.astype(np.int32)
  init_key, dropout_key, data_key = jax.random.split(jax.random.key(seed), 3)
  steps = data.steps_per_epoch(len(x_train), batch_size)
  total = num_epochs * steps if max_steps is None else min(max_steps, num_epochs * steps)
  module = LeNet()
  tx = optax.adam(optax.cosine_decay_schedule(learning_rate, num_epochs * steps))
  params = init_params(module, init_key)
  opt_state = tx.init(params)
  train_step = jax.jit(make_train_step(module, tx))
  step = 0
  with tqdm(total=total, disable=not show_progress, unit="step", dynamic_ncols=True,
            desc=f"LeNet {dataset}") as bar:
    for epoch in range(num_epochs):
      for idx in data.epoch_batch_indices(data_key, epoch, len(x_train), batch_size):
        if step >= total:
          break
        params, opt_state, loss = train_step(params, opt_state, dropout_key, step, x_train[idx], y_train[idx])
        step += 1
        bar.update()
        if step % 50 == 0:
          bar.set_postfix(epoch=epoch + 1, loss=f"{float(loss):.4f}")
  test_images, test_labels = data.load(dataset, "test", data_dir)
  return params, accuracy(FeatureNet(dataset, module, params), test_images, test_labels)
