"""gan_jax.files: every file appears whole or not at all."""

import json
import os

import matplotlib.pyplot as plt
import numpy as np
import pytest

from gan_jax import files


def test_writers_round_trip_and_leave_no_temporary_file(tmp_path):
  files.write_json(tmp_path / "a" / "x.json", {"b": 1, "a": [1.5]})
  files.write_text(tmp_path / "t.txt", "line\n")
  files.write_npz(tmp_path / "s.npz", images=np.arange(6, dtype=np.uint8).reshape(2, 3))
  fig = plt.figure()
  files.write_figure(fig, tmp_path / "f.png")
  plt.close(fig)
  assert json.loads((tmp_path / "a" / "x.json").read_text()) == {"a": [1.5], "b": 1}
  assert (tmp_path / "t.txt").read_text() == "line\n"
  np.testing.assert_array_equal(np.load(tmp_path / "s.npz")["images"], np.arange(6).reshape(2, 3))
  assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  assert oct((tmp_path / "t.txt").stat().st_mode & 0o777) == "0o644"
  assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
  with pytest.raises(ValueError, match="must end in .npz"):
    files.write_npz(tmp_path / "s.np", x=np.zeros(1))


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
  path = tmp_path / "x.json"
  files.write_json(path, {"v": 1})

  def broken_replace(src, dst):
    raise OSError("disk full")
  monkeypatch.setattr(os, "replace", broken_replace)
  with pytest.raises(OSError, match="disk full"):
    files.write_json(path, {"v": 2})
  assert json.loads(path.read_text()) == {"v": 1} and sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]
