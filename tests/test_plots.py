"""gan_jax.plots: a smoke test of every figure on small synthetic inputs (each PNG opens and is not blank)."""

import matplotlib.image
import numpy as np
import pytest

from gan_jax import plots

rng = np.random.default_rng(0)
IMAGES = rng.uniform(-1, 1, (16, 28, 28, 1)).astype(np.float32)
RECORDS = [{"step": s, "epoch": 1 + s // 10, "d_loss": 1.3 - 0.01 * s, "g_loss": 0.7 + 0.01 * s, "d_real": 0.6,
            "d_fake": 0.4, "loss": 200.0 - s, "recon_loss": 180.0 - s, "kl": 20.0, "time": 1000.0 + 6 * s,
            "train_seconds": 5.0 * s} for s in range(1, 31)]
EVALS = [{"step": s, "epoch": s / 10, "test_fid": 100.0 / s, "time": 1000.0 + 6 * s, "train_seconds": 5.0 * s}
         for s in (10, 20, 30)]
X = np.linspace(-2, 2, 50)

FIGURES = {
    "image_grid": lambda p: plots.save_image_grid(IMAGES, p, title="grid"),
    "image_rows": lambda p: plots.save_image_rows([IMAGES[:4], IMAGES[4:8]], ["a", "b"], p, title="rows"),
    "side_by_side": lambda p: plots.save_side_by_side([(IMAGES + 1) / 2, (IMAGES[::-1] + 1) / 2], ["x", "y"], p),
    "sample_progress": lambda p: plots.save_sample_progress({1: IMAGES, 10: IMAGES[::-1]}, p),
    "sample_progress_runs": lambda p: plots.save_sample_progress(
        None, p, runs={"dropout 0.3": {10: IMAGES, 100: IMAGES[::-1]}, "no dropout": {10: IMAGES}}, title="seed 0"),
    "histograms": lambda p: plots.save_histograms({"real": rng.uniform(size=200), "fake": rng.uniform(size=200)}, p,
                                                  xlabel="D", title="h", reference=0.5),
    "latent_scatter": lambda p: plots.save_latent_scatter(rng.normal(size=(100, 5)), rng.integers(0, 10, 100), p),
    "gan_curves": lambda p: plots.plot_gan_curves(RECORDS, p, smoothing=3),
    "vae_curves": lambda p: plots.plot_vae_curves(RECORDS, p),
    "fid_during_training": lambda p: plots.plot_fid_during_training(RECORDS + EVALS, p, title="fid"),
    "score_by_epoch": lambda p: plots.plot_score_by_epoch([{"epoch": e, "fid": 50.0 / e} for e in (1, 2, 3)], "fid", p,
                                                          baseline=2.0),
    "fid_against_minutes": lambda p: plots.plot_fid_against_minutes({"mnist": {"run": EVALS}}, p, {"mnist": 1.0}),
    "optimal_discriminators": lambda p: plots.plot_optimal_discriminators(
        {"minimax": (X, 1 / (1 + np.exp(-X)), 1 / (1 + np.exp(-2 * X)))}, p),
    "toy_1d_training": lambda p: plots.plot_toy_1d_training(
        [{"step": 0, "x_fake": rng.normal(size=500), "grid": X, "d": 1 / (1 + np.exp(-X))}], p, 0.0, 1.0),
    "ring_samples": lambda p: plots.plot_ring_samples({"minimax": {0: rng.normal(size=(100, 2)),
                                                                   10: rng.normal(size=(100, 2))}},
                                                      np.stack([np.cos(X[:8]), np.sin(X[:8])], 1), p),
}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_figure_is_written_whole_and_not_blank(tmp_path, name):
  path = tmp_path / f"{name}.png"
  FIGURES[name](str(path))
  pixels = matplotlib.image.imread(path)
  assert pixels.ndim == 3 and min(pixels.shape[:2]) >= 100
  assert pixels[..., :3].std() > 0.02  # something was drawn
  assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_tiles_keep_the_images_in_order():
  tiles = plots.tile_images(np.arange(4 * 2 * 2, dtype=np.float32).reshape(4, 2, 2), num_columns=2, pad=1)
  assert tiles.shape == (2 * 3 + 1, 2 * 3 + 1)
  np.testing.assert_array_equal(tiles[1:3, 4:6], [[4, 5], [6, 7]])  # image 1: row 0, column 1
