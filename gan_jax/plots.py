"""Figures: image grids and training curves (matplotlib, no display needed).

Every figure is written to a temporary file and renamed into place, so a crash
never leaves a half-written PNG.
"""

from typing import Optional, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import ticker  # noqa: E402
import numpy as np  # noqa: E402

from gan_jax import files  # noqa: E402


def save_figure(fig, path: str, dpi: int = 100) -> None:
  """Writes `fig` to `path` as PNG, atomically (gan_jax.files), and closes it."""
  try:
    files.write_figure(fig, path, dpi)
  finally:
    plt.close(fig)


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


def _label_row(ax, label: str, **text) -> None:
  """An image axis with no ticks or frame, and `label` at its left (matplotlib text keywords in `text`)."""
  ax.set_axis_on()
  ax.set_xticks([])
  ax.set_yticks([])
  for side in ax.spines.values():
    side.set_visible(False)
  ax.set_ylabel(label, **text)


def save_sample_progress(samples_by_epoch: Optional[dict], path: str, num_images: int = 16, num_columns: int = 4,
                         value_range: tuple[float, float] = (-1.0, 1.0), runs: Optional[dict] = None,
                         title: Optional[str] = None) -> None:
  """Samples from one fixed z at several epochs, side by side (one panel per epoch).

  Args:
    samples_by_epoch: {epoch: [N, 28, 28(, 1)] images in `value_range`}, the same z at every epoch;
      None when `runs` is given.
    path: output PNG.
    num_images: images shown per epoch (the first ones).
    runs: optional {row label: samples_by_epoch}, one row per run (e.g. with and without dropout),
      each run's epochs in its own row.
    title: optional figure title.
  """
  rows = runs or {None: samples_by_epoch}
  width = max(len(by_epoch) for by_epoch in rows.values())
  fig, axes = plt.subplots(len(rows), width, figsize=(2.6 * width + (0.8 if runs else 0), 2.9 * len(rows)),
                           squeeze=False)
  lo, hi = value_range
  for row, (label, by_epoch) in zip(axes, rows.items()):
    for ax in row:
      ax.set_axis_off()
    for ax, epoch in zip(row, sorted(by_epoch)):
      unit = np.clip((np.asarray(by_epoch[epoch][:num_images], np.float32) - lo) / (hi - lo), 0, 1)
      ax.imshow(tile_images(unit, num_columns), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
      ax.set_title(f"epoch {epoch}")
    if label is not None:
      _label_row(row[0], label, fontsize=10)
  if title:
    fig.suptitle(title)
  save_figure(fig, path)


def save_histograms(values: dict, path: str, xlabel: str, title: str, reference: Optional[float] = None,
                    bins: int = 50) -> None:
  """Overlaid histograms, e.g. D's outputs on real and on generated images.

  Args:
    values: {label: 1-D array}.
    reference: an x value to mark with a dashed line (e.g. 1/2, D at equilibrium).
  """
  fig, ax = plt.subplots(figsize=(6, 4))
  arrays = [np.asarray(v, np.float64) for v in values.values()]
  lo = min(a.min() for a in arrays)
  hi = max(a.max() for a in arrays)
  edges = np.linspace(lo, hi if hi > lo else lo + 1, bins + 1)
  for label, a in zip(values, arrays):
    ax.hist(a, bins=edges, alpha=0.5, label=f"{label} (mean {a.mean():.3f})")
  if reference is not None:
    ax.axvline(reference, color="gray", linestyle="--", label=f"{reference:g}")
  ax.set_xlabel(xlabel)
  ax.set_ylabel("count")
  ax.set_title(title)
  ax.legend()
  save_figure(fig, path)


def save_image_rows(rows: Sequence[np.ndarray], row_labels: Sequence[str], path: str, title: Optional[str] = None,
                    value_range: tuple[float, float] = (-1.0, 1.0)) -> None:
  """Rows of images with a label at the left of each row (interpolations, neighbours, reconstructions).

  Args:
    rows: each [n_i, 28, 28(, 1)] in `value_range`; rows may differ in length.
    row_labels: one label per row.
  """
  width = max(len(r) for r in rows)
  lo, hi = value_range
  fig, axes = plt.subplots(len(rows), 1, figsize=(0.62 * width + 1.6, 0.68 * len(rows) + (0.4 if title else 0)),
                           squeeze=False)
  for ax, row, label in zip(axes[:, 0], rows, row_labels):
    unit = np.clip((np.asarray(row, np.float32) - lo) / (hi - lo), 0, 1)
    ax.imshow(tile_images(unit, width, pad=1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    _label_row(ax, label, fontsize=8, rotation=0, ha="right", va="center")
  if title:
    fig.suptitle(title)
  save_figure(fig, path)


def plot_vae_curves(records: Sequence[dict], path: str, loss_label: str = "-ELBO (nats / image)",
                    terms: Sequence[str] = ("recon_loss", "kl")) -> None:
  """Training and test loss against step (left) and the loss's terms (right), from metrics.jsonl.

  Train values are logged per step ("loss", terms); test values once an epoch ("test_loss", "test_<term>").
  """
  fig, axes = plt.subplots(1, 1 + bool(terms), figsize=(11 if terms else 6, 4), squeeze=False)
  panels = [(axes[0, 0], ("loss",), loss_label)]
  if terms:
    panels.append((axes[0, 1], tuple(terms), "nats / image"))
  for ax, names, ylabel in panels:
    for name in names:
      for prefix, style in (("", "-"), ("test_", "o-")):
        pts = [(r["step"], r[prefix + name]) for r in records if prefix + name in r]
        if pts:
          s, v = map(np.array, zip(*pts))
          ax.plot(s, v, style, markersize=3, label=f"{'test' if prefix else 'train'} {name}")
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
  save_figure(fig, path)


def save_side_by_side(grids: Sequence[np.ndarray], titles: Sequence[str], path: str, num_columns: int = 5,
                      title: Optional[str] = None, value_range: tuple[float, float] = (0.0, 1.0)) -> None:
  """Image grids next to each other (e.g. test images beside their reconstructions)."""
  fig, axes = plt.subplots(1, len(grids), figsize=(3.2 * len(grids), 3.6), squeeze=False)
  lo, hi = value_range
  for ax, images, name in zip(axes[0], grids, titles):
    unit = np.clip((np.asarray(images, np.float32) - lo) / (hi - lo), 0, 1)
    ax.imshow(tile_images(unit, num_columns), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(name)
    ax.set_axis_off()
  if title:
    fig.suptitle(title)
  save_figure(fig, path)


def save_latent_scatter(codes: np.ndarray, labels: np.ndarray, path: str, title: Optional[str] = None) -> None:
  """Codes [N, d] coloured by class label; for d > 2, their first two principal components."""
  codes = np.asarray(codes, np.float64)
  axis_names = ("z[0]", "z[1]")
  if codes.shape[1] > 2:
    centred = codes - codes.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    codes, axis_names = centred @ vt[:2].T, ("PC 1", "PC 2")
  fig, ax = plt.subplots(figsize=(6.5, 5.5))
  points = ax.scatter(codes[:, 0], codes[:, 1], c=labels, cmap="tab10", s=2, alpha=0.6, vmin=-0.5, vmax=9.5)
  fig.colorbar(points, ax=ax, ticks=range(10), label="label")
  ax.set_xlabel(axis_names[0])
  ax.set_ylabel(axis_names[1])
  if title:
    ax.set_title(title)
  save_figure(fig, path)


def plot_optimal_discriminators(curves: dict, path: str) -> None:
  """Trained D against the theoretical D*, one panel per objective: {label: (x, d, d_star)}."""
  fig, axes = plt.subplots(1, len(curves), figsize=(4.5 * len(curves), 3.6), squeeze=False)
  for ax, (label, (x, d, d_star)) in zip(axes[0], curves.items()):
    ax.plot(x, d_star, "k-", lw=2, label="D* (theory)")
    ax.plot(x, d, "b--", label="trained D")
    ax.set_title(label)
    ax.set_xlabel("x")
    ax.grid(alpha=0.3)
    ax.legend()
  save_figure(fig, path)


def plot_toy_1d_training(snapshots: Sequence[dict], path: str, data_mean: float, data_std: float) -> None:
  """Goodfellow et al. 2014, Figure 1: p_data (black dots), p_g (green histogram), D(x) (blue dashes)."""
  fig, axes = plt.subplots(1, len(snapshots), figsize=(4 * len(snapshots), 3.4), squeeze=False, sharey=True)
  for ax, snap in zip(axes[0], snapshots):
    grid = snap["grid"]
    p_data = np.exp(-0.5 * ((grid - data_mean) / data_std) ** 2) / (data_std * np.sqrt(2 * np.pi))
    ax.plot(grid, p_data, "k:", lw=2, label="p_data")
    ax.hist(snap["x_fake"], bins=80, range=(grid[0], grid[-1]), density=True, color="green", alpha=0.5, label="p_g")
    ax.plot(grid, snap["d"], "b--", label="D(x)")
    ax.axhline(0.5, color="gray", lw=0.5)
    ax.set_title(f"step {snap['step']}")
    ax.set_xlabel("x")
  axes[0, 0].legend(loc="upper left")
  save_figure(fig, path)


def plot_ring_samples(samples: dict, centres: np.ndarray, path: str) -> None:
  """Generated 2-D samples over training: one row per loss, one column per step; red crosses mark the modes."""
  losses_ = list(samples)
  steps = sorted(samples[losses_[0]])
  fig, axes = plt.subplots(len(losses_), len(steps), figsize=(2.8 * len(steps), 2.8 * len(losses_)), squeeze=False)
  for i, loss in enumerate(losses_):
    for j, step in enumerate(steps):
      ax = axes[i, j]
      pts = samples[loss][step]
      ax.scatter(pts[:, 0], pts[:, 1], s=1, alpha=0.3)
      ax.scatter(centres[:, 0], centres[:, 1], marker="x", color="red", s=30)
      ax.set_xlim(-3, 3)
      ax.set_ylim(-3, 3)
      ax.set_xticks([])
      ax.set_yticks([])
      if i == 0:
        ax.set_title(f"step {step}")
      if j == 0:
        ax.set_ylabel(loss)
  save_figure(fig, path)


def _log_y_axis(ax) -> None:
  """A log y axis labelled with plain numbers (50, 100, 200, ...) rather than powers of ten; call after plotting."""
  ax.set_yscale("log")
  low, high = ax.get_ylim()
  decades = np.log10(high / low)
  subs = (1.0, 1.5, 2.0, 3.0, 5.0, 7.0) if decades < 1 else (1.0, 2.0, 5.0) if decades < 2.5 else (1.0,)
  ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=subs))
  ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
  ax.yaxis.set_minor_formatter(ticker.NullFormatter())


def plot_score_by_epoch(records: Sequence[dict], key: str, path: str, baseline: Optional[float] = None,
                        title: Optional[str] = None, runs: Optional[dict] = None) -> None:
  """A score (e.g. FID) against epoch, with the real-vs-real baseline as a dashed line.

  Args:
    records: [{"epoch", key, ...}] of one run, or None when `runs` is given.
    key: the score drawn, on a log axis (e.g. "fid", squared feature units).
    path: the PNG written (atomically, see save_figure).
    baseline: the real-vs-real value of the same score, or None.
    title: optional axis title.
    runs: optional {label: records} to draw several runs on one axis.
  Raises:
    KeyError: a record lacks "epoch" or `key`.
  """
  fig, ax = plt.subplots(figsize=(6, 3.5))
  for label, recs in (runs or {None: records}).items():
    ax.plot([r["epoch"] for r in recs], [r[key] for r in recs], marker="o", markersize=3, label=label)
  if baseline is not None:
    ax.axhline(baseline, color="k", linestyle="--", linewidth=1, label="training images vs test split")
  ax.set_xlabel("epoch")
  ax.set_ylabel(key)
  _log_y_axis(ax)
  ax.grid(alpha=0.3)
  ax.legend(fontsize=8)
  if title:
    ax.set_title(title, fontsize=9)
  save_figure(fig, path)


def plot_fid_during_training(records: Sequence[dict], path: str, title: Optional[str] = None) -> None:
  """FID against epoch (left) and against training minutes (right), from metrics.jsonl records.

  Uses the records with "test_fid" (written by in-training evaluation). Minutes
  are the run's "train_seconds" (training only: evaluation and figures are not
  counted) where the records have it, else wall-clock minutes since the first
  record with a "time" field (runs made before train_seconds existed). With no
  "test_fid" record the axes are drawn empty.

  Args:
    records: metrics.jsonl records ({"step", "epoch", "time", "train_seconds", "test_fid", ...}).
    path: the PNG written (atomically, see save_figure).
    title: optional figure title.
  """
  evals = [r for r in records if "test_fid" in r]
  fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
  axes[0].plot([r["epoch"] for r in evals], [r["test_fid"] for r in evals], "o-", markersize=3)
  axes[0].set_xlabel("epoch")
  minutes, xlabel = training_minutes(records)
  timed = [(minutes[i], r["test_fid"]) for i, r in enumerate(records) if "test_fid" in r and minutes[i] is not None]
  if timed:
    axes[1].plot(*zip(*timed), "o-", markersize=3)
  axes[1].set_xlabel(xlabel)
  axes[0].set_ylabel("FID (domain LeNet features)")
  for ax in axes:
    _log_y_axis(ax)
    ax.grid(alpha=0.3)
  if title:
    fig.suptitle(title, fontsize=9)
  fig.tight_layout()
  save_figure(fig, path)


def training_minutes(records: Sequence[dict]) -> tuple[list, str]:
  """Each record's time into the run, in minutes, and the axis label that says which time it is.

  Returns:
    ([minutes or None per record], label): the records' "train_seconds" / 60 when
    every record that has a time has it, else minutes of wall clock since the
    first record with a "time" (Unix seconds).
  """
  if all("train_seconds" in r for r in records if "time" in r or "train_seconds" in r):
    return ([r["train_seconds"] / 60 if "train_seconds" in r else None for r in records],
            "training minutes (evaluation not counted)")
  start = next((r["time"] for r in records if "time" in r), None)
  return ([(r["time"] - start) / 60 if "time" in r else None for r in records],
          "wall-clock minutes since the first log record")


def plot_fid_against_minutes(panels: dict, path: str, baselines: Optional[dict] = None) -> None:
  """FID against training minutes of several runs, one panel per dataset, log FID axis.

  Args:
    panels: {panel title: {run label: metrics.jsonl records}}; each run's points
      are its "test_fid" records at `training_minutes` (training time only where
      the records have "train_seconds").
    path: the PNG written (atomically, see save_figure).
    baselines: optional {panel title: real-vs-real FID}, drawn as a dashed line.
  """
  fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
  for ax, (title, runs) in zip(axes[0], panels.items()):
    xlabel = ""
    for label, records in runs.items():
      minutes, xlabel = training_minutes(records)
      points = [(minutes[i], r["test_fid"]) for i, r in enumerate(records)
                if "test_fid" in r and minutes[i] is not None]
      if points:
        ax.plot(*zip(*points), "o-", markersize=3, label=label)
    if baselines and title in baselines:
      ax.axhline(baselines[title], color="k", linestyle="--", linewidth=1, label="real vs real (same sample size)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("FID (domain LeNet features)")
    ax.set_title(title, fontsize=9)
    _log_y_axis(ax)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
  fig.tight_layout()
  save_figure(fig, path)


def critic_estimate_at_evaluations(records: Sequence[dict], window: int = 5) -> list[tuple[float, float, float]]:
  """(minutes, mean w1_estimate over the `window` logged steps up to it, FID) at each in-training
  evaluation of a Wasserstein GAN's metrics.jsonl records ("w1_estimate" every logged step,
  "test_fid" at evaluations); evaluations before any logged estimate are skipped."""
  minutes, _ = training_minutes(records)
  estimates, points = [], []
  for i, r in enumerate(records):
    if "w1_estimate" in r:
      estimates.append(r["w1_estimate"])
    if "test_fid" in r and estimates and minutes[i] is not None:
      points.append((minutes[i], float(np.mean(estimates[-window:])), r["test_fid"]))
  return points


def plot_critic_estimate_against_fid(runs: dict, path: str) -> dict:
  """Does the critic's Wasserstein estimate track sample quality (Arjovsky et al. 2017, Section 4.2)?

  Left: each run's w1_estimate (averaged over the 5 logged steps before each in-training
  evaluation) and its FID, against training minutes (FID dashed, right log axis). Right:
  the estimate against FID, one point per evaluation, with each run's Spearman rank
  correlation in the legend.

  Args:
    runs: {label: metrics.jsonl records of a run with --loss=wasserstein and in-training evaluation}.
    path: the PNG written (atomically, see save_figure).
  Returns:
    {label: Spearman rank correlation of estimate and FID (nan with fewer than 3 evaluations)}.
  """
  fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
  fid_axis = left.twinx()
  correlations = {}
  for i, (label, records) in enumerate(runs.items()):
    points = np.array(critic_estimate_at_evaluations(records)).reshape(-1, 3)
    color = f"C{i}"
    if len(points) >= 3:
      ranks = [np.argsort(np.argsort(points[:, k])) for k in (1, 2)]
      correlations[label] = float(np.corrcoef(*ranks)[0, 1])
    else:
      correlations[label] = float("nan")
    left.plot(points[:, 0], points[:, 1], "o-", color=color, markersize=3, label=f"{label}: W1 estimate")
    fid_axis.plot(points[:, 0], points[:, 2], "s--", color=color, markersize=3, alpha=0.6)
    right.plot(points[:, 1], points[:, 2], "o", color=color, markersize=4,
               label=f"{label} (Spearman {correlations[label]:+.2f})")
  left.set_xlabel("training minutes")
  left.set_ylabel("critic's W1 estimate (solid)")
  fid_axis.set_ylabel("FID (dashed)")
  if any(len(r) for r in runs.values()):
    _log_y_axis(fid_axis)
  left.legend(fontsize=8, loc="upper right")
  right.set_xlabel("critic's W1 estimate")
  right.set_ylabel("FID")
  _log_y_axis(right)
  right.grid(alpha=0.3)
  right.legend(fontsize=8)
  fig.tight_layout()
  save_figure(fig, path)
  return correlations
