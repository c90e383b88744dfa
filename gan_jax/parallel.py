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

Across processes (hosts), `start_distributed` joins JAX's distributed runtime
(`jax.distributed.initialize`); the mesh then spans every process's devices, each
process feeds only its own rows of the global batch (`local_rows`, built into
one global array by `jax.make_array_from_process_local_data`), and the step is
the same program as on one host (tests/test_multiprocess.py: 2 processes x 2
devices equal 1 process x 4 devices). pmap runs within one process.
"""

from typing import Any, Callable, NamedTuple, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from gan_jax.errors import AcceleratorError, DistributedError, ParallelismError

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


def start_distributed(coordinator_address: str = "", num_processes: int = 0, process_id: int = -1) -> None:
  """Joins JAX's distributed runtime: `jax.distributed.initialize`, before any backend starts.

  Arguments left at their defaults ("", 0, -1) are JAX's to find: the
  coordinator from $JAX_COORDINATOR_ADDRESS, and all three on a Cloud TPU pod or
  under SLURM, Open MPI or Kubernetes. Collectives between CPU processes use gloo.

  Args:
    coordinator_address: "host:port" of process 0's coordinator service.
    num_processes: the number of processes in the run.
    process_id: this process's index, 0 .. num_processes - 1.
  Raises:
    DistributedError: the runtime cannot start (a setting is missing or out of
      range, or the coordinator cannot be reached within 5 minutes).
  """
  if num_processes and not 0 <= process_id < num_processes and process_id != -1:
    raise DistributedError(f"--process_id={process_id} is not in 0..{num_processes - 1} (--num_processes={num_processes})")
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  try:
    jax.distributed.initialize(coordinator_address or None, num_processes or None,
                               None if process_id < 0 else process_id)
  except (ValueError, RuntimeError) as e:
    first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    raise DistributedError(f"cannot start the distributed runtime ({first_line}); give --coordinator_address, "
                           f"--num_processes and --process_id to every process") from e


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
    The devices of that backend in every process of the run (in a one-process run,
    its local devices), ordered by process.
  Raises:
    AcceleratorError: the name is unknown or that backend is not present; the
      message names the backends that are.
  """
  if accelerator not in ACCELERATORS:
    raise AcceleratorError(f"unknown --accelerator={accelerator!r}; choose one of {', '.join(ACCELERATORS)}")
  if accelerator == "auto":
    return jax.devices()
  present = available_backends()
  if accelerator not in present:
    raise AcceleratorError(f"--accelerator={accelerator} is not present on this machine; "
                           f"available: {', '.join(present)} (or use --accelerator=auto)")
  jax.config.update("jax_default_device", jax.local_devices(backend=accelerator)[0])
  return jax.devices(accelerator)


class DataParallel:
  """Runs a per-shard train step data-parallel over `devices`.

  Attributes:
    mode: "sharding" or "pmap".
    devices: the devices the batch is split over, in every process of the run.
    collective: what the per-shard step uses to reduce across shards.
    batch_norm_axis_name: the axis name BatchNorm must average over (pmap), else None.
  """

  def __init__(self, mode: str = "sharding", devices: Optional[Sequence[jax.Device]] = None):
    if mode not in PARALLELISMS:
      raise ParallelismError(f"unknown --parallelism={mode!r}; choose one of {', '.join(PARALLELISMS)}")
    self.mode = mode
    self.devices = list(devices) if devices is not None else jax.devices()
    # Where this process's devices sit in self.devices: its rows of every global batch.
    self._local_positions = [i for i, d in enumerate(self.devices) if d.process_index == jax.process_index()]
    if mode == "pmap" and jax.process_count() > 1:
      raise ParallelismError(f"--parallelism=pmap runs in one process, and this run has {jax.process_count()}; "
                             f"use --parallelism=sharding")
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

  def local_rows(self, batch_size: int) -> slice:
    """The rows of a global batch of `batch_size` that this process feeds (all of them in one process).

    Raises:
      ParallelismError: batch_size is not divisible by the number of devices.
    """
    self.check_batch_size(batch_size)
    per_device = batch_size // self.num_devices
    return slice(self._local_positions[0] * per_device, (self._local_positions[-1] + 1) * per_device)

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
    """Host (or single-device) state, the same in every process -> state replicated on every device."""
    if self.mode == "pmap":
      n = self.num_devices
      stacked = jax.tree.map(lambda x: jnp.broadcast_to(x, (n,) + x.shape), state)
      # An identity pmap lays the copies out exactly as the pmapped step expects.
      return jax.pmap(lambda s: s, devices=self.devices)(stacked)
    return jax.tree.map(self._replicate, state)

  def _replicate(self, x: Any) -> jax.Array:
    """One leaf, the same in every process -> a global array replicated on all the mesh's devices."""
    if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):  # typed keys travel as their key data
      return jax.random.wrap_key_data(self._replicate(jax.random.key_data(x)), impl=jax.random.key_impl(x))
    host = np.asarray(x)
    return jax.make_array_from_process_local_data(self._replicated, host, host.shape)

  def get_state(self, state: Any) -> Any:
    """Replicated device state -> this process's first device's copy, as it would be on a single device."""
    if self.mode == "pmap":
      return jax.tree.map(lambda x: x[0], state)
    if self.num_devices > 1:  # checkpoints and figures then see one device's arrays
      return jax.tree.map(lambda x: x.addressable_data(0), state)
    return state

  def put_batch(self, batch: Any) -> Any:
    """This process's rows of the global batch (`local_rows`; in one process, the whole batch):
    a pytree of [rows, ...] host arrays -> device arrays of the global batch split along it.

    Raises:
      ParallelismError: the global batch is not divisible by the number of devices.
    """
    rows = jax.tree.leaves(batch)[0].shape[0]
    global_rows = rows * self.num_devices // len(self._local_positions)
    self.check_batch_size(global_rows)
    if self.mode == "pmap":
      n = self.num_devices
      return jax.tree.map(lambda x: np.asarray(x).reshape((n, x.shape[0] // n) + x.shape[1:]), batch)
    return jax.tree.map(lambda x: jax.make_array_from_process_local_data(
        self._batch_sharding, np.asarray(x), (global_rows,) + x.shape[1:]), batch)

  def get_metrics(self, metrics: Any) -> dict:
    """Device metrics -> dict of Python floats (pmap metrics are already pmean-ed)."""
    if self.mode == "pmap":
      metrics = jax.tree.map(lambda x: x[0], metrics)
    else:
      metrics = jax.tree.map(lambda x: x.addressable_data(0), metrics)
    return {k: float(v) for k, v in jax.device_get(metrics).items()}
