"""Figures: image grids and training curves (matplotlib, no display needed).

Every figure is written to a temporary file and renamed into place, so a crash
never leaves a half-written PNG.
"""

import os
from typing import Optional, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def save_figure(fig, path: str, dpi: int = 100) -> None:
  """Writes `fig` to `path` atomically and closes it."""
  tmp = f"{path}.tmp.png"
  fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
  plt.close(fig)
  os.replace(tmp, path)


def tile_images(images: np.ndarray, num_columns: int = 8, pad: int = 2, pad_value: float = 1.0) -> np.ndarray:
  """[N, H, W] or [N, H, W, 1] images in [0, 1] -> one [rows*(H+pad)+pad, cols*(W+pad)+pad] array."""
  images = np.asarray(images, dtype=np.float32).reshape(images.shape[0], images.shape[1], images.shape[2])
  n, h, w = images.shape
  rows = -(-n // num_columns)
  canvas = np.full((rows * (h + pad) + pad, num_columns * (w + pad) + pad), pad_value, np.float32)
  for i, image in enumerate(images):
    r, c = divmod(i, num_columns)
    canvas[pad + r * (h + pad):pad + r * (h + pad) + h, pad + c * (w + pad):pad + c * (w + pad) + w] = image
  return canvas


def save_image_grid(images: np.ndarray, path: str, title: Optional[str] = None, num_columns: int = 8,
                    value_range: tuple[float, float] = (-1.0, 1.0)) -> None:
  """Saves images as a grid PNG.

  Args:
    images: [N, 28, 28, 1] or [N, 28, 28] float, values in `value_range` (default the
      generator's [-1, 1]); shown as grey levels, white = high.
    path: output PNG.
    title: optional title above the grid.
  """
  lo, hi = value_range
  unit = np.clip((np.asarray(images, np.float32) - lo) / (hi - lo), 0.0, 1.0)
  canvas = tile_images(unit, num_columns)
  fig, ax = plt.subplots(figsize=(canvas.shape[1] / 60, canvas.shape[0] / 60 + (0.3 if title else 0)))
  ax.imshow(canvas, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
  ax.set_axis_off()
  if title:
    ax.set_title(title)
  save_figure(fig, path)


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
  if window <= 1 or len(values) < window:
    return values
  return np.convolve(values, np.ones(window) / window, mode="valid")


def plot_gan_curves(records: Sequence[dict], path: str, smoothing: int = 1) -> None:
  """Loss curves and D's outputs over training, from metrics.jsonl records.

  Left: d_loss and g_loss (nats) against step. Right: mean D(x) and D(G(z))
  against step, with the 1/2 line of the game's equilibrium (Goodfellow et al.
  2014, Proposition 1 with p_g = p_data).

  Args:
    records: dicts with "step" and some of d_loss, g_loss, d_real, d_fake.
    path: output PNG.
    smoothing: moving-average window, in logged points.
  """
  steps = np.array([r["step"] for r in records])
  fig, (ax_loss, ax_d) = plt.subplots(1, 2, figsize=(11, 4))
  for ax, names in ((ax_loss, ("d_loss", "g_loss")), (ax_d, ("d_real", "d_fake"))):
    for name in names:
      pts = [(r["step"], r[name]) for r in records if name in r]
      if not pts:
        continue
      s, v = map(np.array, zip(*pts))
      sm = _smooth(v, smoothing)
      ax.plot(s[len(s) - len(sm):], sm, label={"d_real": "D(x)", "d_fake": "D(G(z))"}.get(name, name))
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
  ax_loss.set_ylabel("loss (nats)")
  ax_loss.set_title("losses")
  ax_d.axhline(0.5, color="gray", linestyle="--", label="1/2 (equilibrium)")
  ax_d.set_ylim(0, 1)
  ax_d.set_ylabel("mean D output")
  ax_d.set_title("D(x) and D(G(z))")
  for ax in (ax_loss, ax_d):
    ax.legend()
  if len(steps):
    fig.suptitle(f"steps {steps.min()}-{steps.max()}")
  save_figure(fig, path)
