"""gan_jax.experiment, the training run: same seed -> bitwise the same params; resume is exact (real MNIST, tiny DCGAN)."""

import json
import os

import chex
import jax
import numpy as np
import pytest

from gan_jax import checkpoint as ckpt
from gan_jax import experiment
from gan_jax.errors import ConfigError, DivergenceError
from gan_jax.models import build_discriminator, build_generator
from gan_jax.train import MetricsLog
from tests.helpers import gan_state, read_tensorboard, tiny_dcgan_config


def _final_params(workdir, config):
  template = gan_state(config, build_generator(config), build_discriminator(config))
  state = ckpt.Checkpointer(workdir).restore(template)
  return jax.device_get((state.params, state.batch_stats, state.opt_state, int(state.step)))


@pytest.fixture(scope="session")
def four_steps(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("uninterrupted"))
  config = tiny_dcgan_config(max_steps=4)
  experiment.train(config, workdir)
  return workdir, config


@pytest.mark.slow
def test_resumed_run_equals_uninterrupted_run(four_steps, tmp_path):
  workdir, config = four_steps
  experiment.train(tiny_dcgan_config(max_steps=2), str(tmp_path))
  assert ckpt.Checkpointer(str(tmp_path)).latest_step() == 2
  experiment.train(tiny_dcgan_config(max_steps=4), str(tmp_path))  # resumes from step 2
  resumed, uninterrupted = _final_params(str(tmp_path), config), _final_params(workdir, config)
  assert resumed[-1] == uninterrupted[-1] == 4
  chex.assert_trees_all_equal(resumed, uninterrupted)  # bitwise
  logged = [r["step"] for r in MetricsLog(str(tmp_path / "metrics.jsonl")).read()]
  assert logged == [1, 2, 3, 4]
  timing = ("images_per_sec", "time", "train_seconds")
  strip = lambda records: [{k: v for k, v in r.items() if k not in timing} for r in records]
  assert strip(MetricsLog(str(tmp_path / "metrics.jsonl")).read()) == strip(
      MetricsLog(f"{workdir}/metrics.jsonl").read())
  # The training clock carries on from the first sitting's last record.
  seconds = [r["train_seconds"] for r in MetricsLog(str(tmp_path / "metrics.jsonl")).read()]
  assert seconds == sorted(seconds) and seconds[2] > seconds[1] > 0


@pytest.mark.slow
def test_runs_write_tensorboard_events_with_the_logged_scalars_and_sample_grids(tmp_path):
  """Every logged metric reaches TensorBoard at its step; the epoch grids arrive as images; a resumed
  run purges the steps it redoes, so no step appears twice."""
  config = tiny_dcgan_config(max_steps=4, eval_every_epochs=0)
  experiment.train(tiny_dcgan_config(max_steps=2), str(tmp_path))
  experiment.train(config, str(tmp_path))  # resumes from step 2
  scalars, images = read_tensorboard(tmp_path / "tensorboard")
  logged = MetricsLog(str(tmp_path / "metrics.jsonl")).read()
  for name in ("d_loss", "g_loss", "d_real", "d_fake", "images_per_sec"):
    assert [step for step, _ in scalars[name]] == [1, 2, 3, 4], name
    np.testing.assert_allclose([v for _, v in scalars[name]], [r[name] for r in logged], rtol=1e-6)
  assert images == {"samples_fixed_z": [2, 4]}  # each sitting's last (partial) epoch grid


@pytest.mark.slow
def test_same_seed_same_params_other_seed_different(four_steps, tmp_path):
  workdir, config = four_steps
  experiment.train(tiny_dcgan_config(max_steps=4), str(tmp_path / "same"))
  chex.assert_trees_all_equal(_final_params(str(tmp_path / "same"), config), _final_params(workdir, config))
  experiment.train(tiny_dcgan_config(max_steps=4, seed=1), str(tmp_path / "other"))
  other = _final_params(str(tmp_path / "other"), tiny_dcgan_config(seed=1))
  diffs = jax.tree.map(lambda a, b: float(np.max(np.abs(a - b))), other[0], _final_params(workdir, config)[0])
  assert min(jax.tree.leaves(diffs)) > 0  # every parameter array differs


@pytest.mark.slow
def test_metrics_are_finite_and_in_range(four_steps):
  workdir, _ = four_steps
  records = MetricsLog(f"{workdir}/metrics.jsonl").read()
  for r in records:
    assert set(r) >= {"step", "epoch", "d_loss", "g_loss", "d_real", "d_fake", "images_per_sec"}
    assert 0 < r["d_real"] < 1 and 0 < r["d_fake"] < 1
    assert np.isfinite([r["d_loss"], r["g_loss"]]).all()
  with open(f"{workdir}/config.json") as f:
    assert json.load(f)["max_steps"] == 4


@pytest.mark.slow
def test_resume_with_another_model_config_is_refused(four_steps, tmp_path):
  workdir, _ = four_steps
  with pytest.raises(ConfigError, match="holds a run with latent_dim=100"):
    experiment.train(tiny_dcgan_config(max_steps=6, latent_dim=64), workdir)


@pytest.mark.slow
@pytest.mark.parametrize("overrides", [
    dict(arch="mlp", loss="minimax", d_dropout=0.0, optimizer="sgd_momentum", learning_rate=0.01, k_d_steps=2),
    dict(arch="mlp", loss="least_squares", ls_coding="pearson"),
])
def test_mlp_gan_variants_train_on_real_mnist(tmp_path, overrides):
  config = tiny_dcgan_config(max_steps=3, generator_features=(32, 32), discriminator_features=(32, 16), **overrides)
  experiment.train(config, str(tmp_path))
  records = MetricsLog(str(tmp_path / "metrics.jsonl")).read()
  assert [r["step"] for r in records] == [1, 2, 3]
  if config.loss == "least_squares":  # D's raw scores, pulled towards b = 1 on real data and a = -1 on fakes
    assert all(np.isfinite([r["d_real"], r["d_fake"]]).all() for r in records)
  for name in ("samples_epoch_001.png", "samples_progress.png", "d_histogram.png", "interpolation.png",
               "nearest_neighbors.png", "curves.png"):
    assert (tmp_path / name).exists(), name


@pytest.mark.slow
def test_divergence_stops_naming_the_step_and_keeps_the_finite_checkpoints(tmp_path):
  """SGD at learning rate 30 overflows at step 3: nan_policy=stop ends the run there (only finite checkpoints
  kept); skip_step drops the non-finite updates and finishes with finite parameters."""
  diverging = dict(optimizer="sgd_momentum", learning_rate=30.0, max_steps=6, checkpoint_every_steps=1)
  with pytest.raises(DivergenceError, match=f"non-finite g_loss at step 3: .* newest finite checkpoint is step 2 "
                                            f"in {tmp_path}/stop/checkpoints"):
    experiment.train(tiny_dcgan_config(**diverging), str(tmp_path / "stop"))
  assert sorted(os.listdir(tmp_path / "stop" / "checkpoints")) == ["1", "2"]
  config = tiny_dcgan_config(nan_policy="skip_step", **diverging)
  experiment.train(config, str(tmp_path / "skip"))
  skipped = [r["skipped_step"] for r in MetricsLog(str(tmp_path / "skip" / "metrics.jsonl")).read()]
  assert skipped[:2] == [0.0, 0.0] and skipped[2] == 1.0 and len(skipped) == 6
  params = _final_params(str(tmp_path / "skip"), config)
  assert params[-1] == 6 and all(np.isfinite(x).all() for x in jax.tree.leaves(params[:3]))
