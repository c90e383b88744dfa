"""Errors that the command-line tools report as one line (exit status 2).

Every error a user can cause by their input (an unknown dataset, missing or
corrupt data, a batch size the device count does not divide, an accelerator
that is not there, a damaged checkpoint) is raised as a subclass of
`GanJaxError`. Its message is one line that says what to do. The experiment
scripts catch `GanJaxError`, print `error: <message>` to stderr and exit 2.
"""


class GanJaxError(Exception):
  """Base class of the errors the user can fix by changing their input."""


class DataError(GanJaxError):
  """A dataset is unknown, cannot be obtained, or fails its checksum."""


class AcceleratorError(GanJaxError):
  """The requested JAX backend (cpu, gpu, tpu) is not present."""


class ParallelismError(GanJaxError):
  """The batch or the parallelism mode does not fit the devices."""


class DistributedError(GanJaxError):
  """JAX's distributed runtime (several processes or hosts) cannot start."""


class CheckpointError(GanJaxError):
  """A checkpoint cannot be restored, or the workdir holds another run."""


class ConfigError(GanJaxError):
  """A configuration value is out of range or names something unknown."""


class DivergenceError(GanJaxError):
  """Training produced non-finite losses or parameters (under nan_policy="stop")."""
