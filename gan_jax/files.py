"""Atomic file writes: every file gan_jax writes appears whole or not at all.

Each writer puts its bytes in a temp file in the destination's folder, flushes
them to disk and renames it over the destination (`os.replace`, atomic on POSIX),
so an interrupted run never leaves a half-written checkpoint index, figure,
sample file or JSON behind, and never truncates the previous good copy.
"""

import io
import json
import os
import pathlib
import tempfile
from typing import Any

import numpy as np

from gan_jax.errors import ConfigError


def write_atomic(path, blob: bytes) -> None:
  """Writes `blob` to `path` (str or Path; mode 0644), creating its folder.

  Raises:
    OSError: the folder cannot be created or written (nothing is left behind).
  """
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
  try:
    os.fchmod(fd, 0o644)  # mkstemp's 0600 would make installed or shared files unreadable to other users
    with os.fdopen(fd, "wb") as f:
      f.write(blob)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    pathlib.Path(tmp).unlink(missing_ok=True)
    raise


def write_json(path, obj: Any) -> None:
  """Writes `obj` as indented, key-sorted JSON, atomically."""
  write_atomic(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def write_text(path, text: str) -> None:
  """Writes `text` (UTF-8), atomically."""
  write_atomic(path, text.encode())


def write_npz(path, **arrays: np.ndarray) -> None:
  """Writes `arrays` as a compressed .npz (np.savez_compressed), atomically.

  Raises:
    ValueError: `path` does not end in .npz (numpy would append the suffix).
  """
  if not str(path).endswith(".npz"):
    raise ValueError(f"an .npz path must end in .npz, got {path!r}")
  buffer = io.BytesIO()
  np.savez_compressed(buffer, **arrays)
  write_atomic(path, buffer.getvalue())


def write_figure(fig, path, dpi: int = 100) -> None:
  """Writes a matplotlib figure as PNG, atomically (the caller closes it)."""
  buffer = io.BytesIO()
  fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
  write_atomic(path, buffer.getvalue())


def make_writable_dir(path) -> None:
  """Creates the directory `path` (and its missing parents) and checks that a file can be written in it.

  Raises:
    ConfigError: it cannot be created or written; the directories this call
      created are removed again.
  """
  path = pathlib.Path(path).absolute()
  missing = [p for p in [path, *path.parents] if not p.exists()]
  try:
    path.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=path):
      pass
  except OSError as e:
    for created in missing:  # the deepest first
      if created.is_dir():
        created.rmdir()
    raise ConfigError(f"cannot write in {path} ({e.strerror or type(e).__name__}): choose a writable --workdir") from e
