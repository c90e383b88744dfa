"""Everything that knows about devices: backends, meshes, pmap and sharding.

A train step is written once, for one shard of the batch, against a
`Collective`: `collective.mean(x)` averages across the data-parallel devices
(identity on one device) and `collective.shard_index()` says which slice of the
global batch this shard holds. `DataParallel.wrap` turns that step into

  * `parallelism="sharding"` (the default): `jax.jit` with a `NamedSharding`
    over a 1-D device mesh. The step sees the global batch; XLA partitions it,
    so BatchNorm statistics and gradients are global by construction.
  * `parallelism="pmap"`: `jax.pmap` over the local devices with
    axis_name="data"; gradients and metrics are averaged with `lax.pmean`, and
    BatchNorm averages its statistics over the same axis
    (`batch_norm_axis_name`).

Both give the single-device result on the same global batch (tests/test_parallel.py).
"""

from typing import Any, Callable, NamedTuple, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from gan_jax.errors import AcceleratorError, ParallelismError

AXIS_NAME = "data"
ACCELERATORS = ("auto", "cpu", "gpu", "tpu")
PARALLELISMS = ("sharding", "pmap")


class Collective(NamedTuple):
  """How a per-shard step talks to the other shards.

  Attributes:
    mean: pytree -> pytree, the mean over data-parallel shards (identity on one shard).
    shard_index: () -> int32 scalar, the index of this shard's slice of the global batch.
  """
  mean: Callable[[Any], Any]
  shard_index: Callable[[], jax.Array]


SINGLE_DEVICE = Collective(mean=lambda tree: tree, shard_index=lambda: jnp.int32(0))
PMAP = Collective(mean=lambda tree: jax.lax.pmean(tree, AXIS_NAME),
                  shard_index=lambda: jax.lax.axis_index(AXIS_NAME))


def available_backends() -> list[str]:
  """The JAX platforms present on this machine, among cpu, gpu and tpu."""
  present = []
  for platform in ("cpu", "gpu", "tpu"):
    try:
      if jax.devices(platform):
        present.append(platform)
    except RuntimeError:
      pass
  return present


def resolve_accelerator(accelerator: str) -> list[jax.Device]:
  """Devices of the requested backend; makes it the default for computations.

  Args:
    accelerator: one of "auto" (JAX's default backend), "cpu", "gpu", "tpu".
  Returns:
    The local devices of that backend.
  Raises:
    AcceleratorError: the name is unknown or that backend is not present; the
      message names the backends that are.
  """
  if accelerator not in ACCELERATORS:
    raise AcceleratorError(f"unknown --accelerator={accelerator!r}; choose one of {', '.join(ACCELERATORS)}")
  if accelerator == "auto":
    return jax.local_devices()
  present = available_backends()
  if accelerator not in present:
    raise AcceleratorError(f"--accelerator={accelerator} is not present on this machine; "
                           f"available: {', '.join(present)} (or use --accelerator=auto)")
  devices = jax.local_devices(backend=accelerator)
  jax.config.update("jax_default_device", devices[0])
  return devices


class DataParallel:
  """Runs a per-shard train step data-parallel over `devices`.

  Attributes:
    mode: "sharding" or "pmap".
    devices: the devices the batch is split over.
    collective: what the per-shard step uses to reduce across shards.
    batch_norm_axis_name: the axis name BatchNorm must average over (pmap), else None.
  """

  def __init__(self, mode: str = "sharding", devices: Optional[Sequence[jax.Device]] = None):
    if mode not in PARALLELISMS:
      raise ParallelismError(f"unknown --parallelism={mode!r}; choose one of {', '.join(PARALLELISMS)}")
    self.mode = mode
    self.devices = list(devices) if devices is not None else jax.local_devices()
    if mode == "pmap":
      self.collective, self.batch_norm_axis_name = PMAP, AXIS_NAME
    else:
      self.collective, self.batch_norm_axis_name = SINGLE_DEVICE, None
      self._mesh = Mesh(np.array(self.devices), (AXIS_NAME,))
      self._replicated = NamedSharding(self._mesh, P())
      self._batch_sharding = NamedSharding(self._mesh, P(AXIS_NAME))

  @property
  def num_devices(self) -> int:
    return len(self.devices)

  def check_batch_size(self, batch_size: int) -> None:
    """Raises ParallelismError unless the global batch splits evenly over the devices."""
    n = self.num_devices
    if batch_size % n:
      raise ParallelismError(f"batch size {batch_size} is not divisible by the {n} devices; "
                             f"use a multiple of {n}, e.g. --batch_size={max(n, batch_size // n * n)}")

  def wrap(self, step: Callable) -> Callable:
    """Compiles `step(state, batch) -> (state, metrics)` for these devices.

    The returned function takes and returns device state (see `put_state`) and a
    device batch (see `put_batch`); the input state's buffers are donated.
    """
    if self.mode == "pmap":
      return jax.pmap(step, axis_name=AXIS_NAME, devices=self.devices, donate_argnums=(0,))
    return jax.jit(step, in_shardings=(self._replicated, self._batch_sharding),
                   out_shardings=(self._replicated, self._replicated), donate_argnums=(0,))

  def put_state(self, state: Any) -> Any:
    """Host (or single-device) state -> state replicated on every device."""
    if self.mode == "pmap":
      n = self.num_devices
      stacked = jax.tree.map(lambda x: jnp.broadcast_to(x, (n,) + x.shape), state)
      # An identity pmap lays the copies out exactly as the pmapped step expects.
      return jax.pmap(lambda s: s, devices=self.devices)(stacked)
    return jax.device_put(state, self._replicated)

  def get_state(self, state: Any) -> Any:
    """Replicated device state -> one copy, as it would be on a single device."""
    if self.mode == "pmap":
      return jax.tree.map(lambda x: x[0], state)
    if self.num_devices > 1:  # the first device's copy: checkpoints and figures then see one device's arrays
      return jax.device_put(state, self.devices[0])
    return state

  def put_batch(self, batch: Any) -> Any:
    """Global batch pytree of [B, ...] host arrays -> device arrays split along B.

    Raises:
      ParallelismError: B is not divisible by the number of devices.
    """
    self.check_batch_size(jax.tree.leaves(batch)[0].shape[0])
    if self.mode == "pmap":
      n = self.num_devices
      return jax.tree.map(lambda x: np.asarray(x).reshape((n, x.shape[0] // n) + x.shape[1:]), batch)
    return jax.device_put(batch, self._batch_sharding)

  def get_metrics(self, metrics: Any) -> dict:
    """Device metrics -> dict of Python floats (pmap metrics are already pmean-ed)."""
    if self.mode == "pmap":
      metrics = jax.tree.map(lambda x: x[0], metrics)
    return {k: float(v) for k, v in jax.device_get(metrics).items()}
