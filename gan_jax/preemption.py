"""SIGTERM and SIGINT as a request to stop a run cleanly.

A preemptible or shared machine stops a job with SIGTERM (Slurm, Kubernetes, a
TPU VM's maintenance event); a person stops it with Ctrl-C (SIGINT). While a
`StopRequest` is installed, the first such signal only sets a flag: the
training loop finishes its current step, the run saves a checkpoint and
exits 0, and the same command resumes. In a multi-process run every process
stops after the same step once any of them has the signal. A second signal of the same kind acts
as it normally would (SIGINT raises KeyboardInterrupt, SIGTERM ends the process).
"""

import contextlib
import signal
import sys
import threading
from typing import Optional

import jax
from jax.experimental import multihost_utils
import numpy as np

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def in_any_process(flag: bool) -> bool:
  """True when `flag` is True in this or any other process of a multi-process run (there a
  collective, which every process must call); `flag` itself in a one-process run."""
  if jax.process_count() == 1:
    return flag
  return bool(np.any(multihost_utils.process_allgather(np.int32(flag))))


class StopRequest:
  """Whether a stop signal has arrived since `installed()` began."""

  def __init__(self):
    self.signal_name: Optional[str] = None

  def requested(self) -> bool:
    """True once SIGTERM or SIGINT has arrived inside `installed()` (signal_name says which)."""
    return self.signal_name is not None

  def requested_anywhere(self) -> bool:
    """requested() in this or any other process of a multi-process run, so that every process
    stops after the same step; there it is a collective, which every process must call."""
    anywhere = in_any_process(self.requested())
    if anywhere and self.signal_name is None:
      self.signal_name = "another process's signal"
    return anywhere

  def _handle(self, signum, frame) -> None:
    del frame
    self.signal_name = signal.Signals(signum).name
    signal.signal(signum, signal.SIG_DFL if signum != signal.SIGINT else signal.default_int_handler)
    print(f"gan_jax: {self.signal_name}: finishing this step and saving a checkpoint "
          f"(send {self.signal_name} again to stop at once)", file=sys.stderr, flush=True)

  @contextlib.contextmanager
  def installed(self):
    """Handles SIGTERM and SIGINT inside the block (a no-op outside the main thread, where
    Python cannot set signal handlers), and restores the previous handlers after it."""
    if threading.current_thread() is not threading.main_thread():
      yield self
      return
    previous = {s: signal.signal(s, self._handle) for s in STOP_SIGNALS}
    try:
      yield self
    finally:
      for s, handler in previous.items():
        signal.signal(s, handler)
