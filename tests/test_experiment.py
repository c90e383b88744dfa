"""gan_jax.experiment, the training run: same seed -> bitwise the same params; resume is exact (real MNIST, tiny DCGAN)."""

import json
import os
import shutil

import chex
import jax
import numpy as np
import pytest

from gan_jax import checkpoint as ckpt
from gan_jax import configs, experiment
from gan_jax.errors import ConfigError, DivergenceError
from gan_jax.models import build_discriminator, build_generator
from gan_jax.train import MetricsLog
from tests.conftest import SHARED_DATA
from tests.helpers import (gan_state, made_once, make_unreadable, needs_shared, one_line_exit_2, read_tensorboard,
                           tiny_dcgan_config)


def _final_params(workdir, config):
  template = gan_state(config, build_generator(config), build_discriminator(config))
  state = ckpt.Checkpointer(workdir).restore(template)
  return jax.device_get((state.params, state.batch_stats, state.opt_state, int(state.step)))


@pytest.fixture(scope="session")
def four_steps(tmp_path_factory):
  """A tiny DCGAN trained 4 steps (once per session): (workdir, config)."""
  config = tiny_dcgan_config(max_steps=4)
  workdir = made_once(tmp_path_factory, "uninterrupted", lambda directory: experiment.train(config, str(directory)))
  return str(workdir), config


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
  config = tiny_dcgan_config(max_steps=4, eval_every_epochs=0, figures=True)
  experiment.train(tiny_dcgan_config(max_steps=2, figures=True), str(tmp_path))
  experiment.train(config, str(tmp_path))  # resumes from step 2
  scalars, images = read_tensorboard(tmp_path / "tensorboard")
  logged = MetricsLog(str(tmp_path / "metrics.jsonl")).read()
  for name in ("d_loss", "g_loss", "d_real", "d_fake", "images_per_sec"):
    assert [step for step, _ in scalars[name]] == [1, 2, 3, 4], name
    np.testing.assert_allclose([v for _, v in scalars[name]], [r[name] for r in logged], rtol=1e-6)
  assert images == {"samples_fixed_z": [2, 4]}  # each sitting's last (partial) epoch grid


@pytest.mark.slow
def test_training_time_budget_ends_the_run_as_complete(four_steps, tmp_path, capsys):
  """--max_train_minutes: a budget spent at the first step ends the run there with its final
  checkpoint, scores, figures and metrics, as a complete run ends; a rerun has nothing left to do."""
  workdir, _ = four_steps
  # The four_steps program (compiled already); no log is due at step 1, yet the step it stops at is logged.
  config = tiny_dcgan_config(max_steps=4, max_train_minutes=1e-6, figures=True, log_every_steps=3)
  result = experiment.train(config, str(tmp_path))
  assert result["steps"] == 1 and "stopped_by" not in result
  assert "training-time budget of 1e-06 min was spent at step 1" in capsys.readouterr().out
  assert ckpt.Checkpointer(str(tmp_path)).latest_step() == 1
  assert os.path.exists(tmp_path / "samples_progress.png") and os.path.exists(tmp_path / "interpolation.png")
  # The first step is the uninterrupted run's first step.
  first = lambda d: {k: v for k, v in MetricsLog(os.path.join(d, "metrics.jsonl")).read()[0].items()
                     if k not in ("images_per_sec", "time", "train_seconds")}
  assert first(str(tmp_path)) == first(workdir)
  assert experiment.train(config, str(tmp_path))["steps"] == 1  # the budget is spent: no more steps
  assert ckpt.Checkpointer(str(tmp_path)).latest_step() == 1


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
def test_a_run_killed_while_it_scores_a_step_scores_it_again_on_resume(tmp_path, monkeypatch):
  """A step's checkpoint is saved after its scores: a run that dies in between resumes from the
  checkpoint before and scores that step again, so no evaluation is lost."""
  config = tiny_dcgan_config(max_steps=4, eval_every_epochs=0, eval_every_steps=2, eval_samples=100)
  build = experiment.BUILDERS["gan"]

  def dies_in_its_first_evaluation(context):
    model = build(context)

    def evaluate(epoch, state):
      raise RuntimeError("killed while scoring")
    return model._replace(evaluate=evaluate)

  monkeypatch.setitem(experiment.BUILDERS, "gan", dies_in_its_first_evaluation)
  with pytest.raises(RuntimeError, match="killed while scoring"):
    experiment.train(config, str(tmp_path))
  assert ckpt.Checkpointer(str(tmp_path)).latest_step() is None  # step 2 was not saved before its scores
  monkeypatch.setitem(experiment.BUILDERS, "gan", build)
  experiment.train(config, str(tmp_path))
  scored = [r["step"] for r in MetricsLog(str(tmp_path / "metrics.jsonl")).read() if "test_fid" in r]
  assert scored == [2, 4]


@pytest.mark.slow
def test_resume_with_another_model_config_is_refused(four_steps, tmp_path):
  workdir, _ = four_steps
  with pytest.raises(ConfigError, match="holds a run with latent_dim=100"):
    experiment.train(tiny_dcgan_config(max_steps=6, latent_dim=64), workdir)


@pytest.mark.parametrize("field", sorted(experiment.LEGACY_VALUES))
def test_a_run_saved_before_a_field_existed_resumes_at_its_legacy_value(tmp_path, field):
  config = configs.gan_mlp()
  saved = json.loads(config.to_json())
  del saved[field]
  (tmp_path / "config.json").write_text(json.dumps(saved))
  with config.unlocked():
    config[field] = experiment.LEGACY_VALUES[field]
  experiment.check_same_run(str(tmp_path), config)  # the value the run had: resumes
  if field in experiment.RESUMABLE_FIELDS:
    return  # may change on resume anyway
  other = {str: "other", float: 0.5}[type(experiment.LEGACY_VALUES[field])]
  with config.unlocked():
    config[field] = other
  with pytest.raises(ConfigError, match=f"holds a run with {field}="):
    experiment.check_same_run(str(tmp_path), config)


@pytest.mark.slow
@pytest.mark.parametrize("overrides", [
    dict(arch="mlp", loss="minimax", d_dropout=0.0, optimizer="sgd_momentum", learning_rate=0.01, k_d_steps=2),
    dict(arch="mlp", loss="least_squares", ls_coding="pearson"),
])
def test_mlp_gan_variants_train_on_real_mnist(tmp_path, overrides):
  config = tiny_dcgan_config(max_steps=3, generator_features=(32, 32), discriminator_features=(32, 16), figures=True,
                             **overrides)
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


@pytest.mark.parametrize("overrides,message", [
    (dict(num_epochs=0), "error: --num_epochs must be >= 1, got 0"),
    (dict(num_epochs=-2), "error: --num_epochs must be >= 1, got -2"),
    (dict(data_dir="/nonexistent"), "error: --data_dir=/nonexistent is not a directory"),
    (dict(dataset="cifar10"), "error: unknown dataset 'cifar10'"),
    (dict(workdir="/proc/gan_jax_nope"), "error: cannot write in /proc/gan_jax_nope"),
])
def test_bad_input_is_one_line_exit_2_and_no_workdir(tmp_path, capsys, overrides, message):
  workdir = overrides.pop("workdir", str(tmp_path / "run"))
  config = tiny_dcgan_config(max_steps=2, **overrides)
  assert one_line_exit_2(capsys, lambda: experiment.train(config, workdir)).startswith(message)
  assert not os.path.exists(workdir)


def test_data_source_tfds_without_tensorflow_datasets_is_one_line(tmp_path, capsys):
  """data_source="tfds" reaches the data module's TFDS path; without the package: one line, nothing written."""
  import importlib.util
  if importlib.util.find_spec("tensorflow_datasets") is not None:
    pytest.skip("tensorflow-datasets is installed here")
  config = configs.vae()
  config.update(dict(data_source="tfds", max_steps=1, show_progress=False))
  line = one_line_exit_2(capsys, lambda: experiment.train(config, str(tmp_path / "run")))
  assert line == "error: source='tfds' needs tensorflow-datasets: pip install -e '.[tfds]'"
  assert not (tmp_path / "run").exists()


def test_workdir_of_another_model_is_refused_untouched(tmp_path, capsys):
  workdir = tmp_path / "vae_run"
  workdir.mkdir()
  (workdir / "config.json").write_text(json.dumps({"model_kind": "vae", "latent_dim": 2}))
  before = sorted((p.name, p.stat().st_size) for p in workdir.iterdir())
  line = one_line_exit_2(capsys, lambda: experiment.train(tiny_dcgan_config(max_steps=2), str(workdir)))
  assert line == f"error: {workdir} holds a vae run, not a gan one; use a new --workdir"
  assert sorted((p.name, p.stat().st_size) for p in workdir.iterdir()) == before


@pytest.mark.slow
def test_rerun_resumes_past_a_damaged_checkpoint_and_refuses_when_none_is_good(tmp_path, capsys):
  workdir = tmp_path / "run"
  experiment.train(tiny_dcgan_config(max_steps=5), str(workdir))
  assert sorted(os.listdir(workdir / "checkpoints")) == ["2", "4", "5"]

  def damage(step):  # every file of the checkpoint truncated
    for root, _, names in os.walk(workdir / "checkpoints" / str(step)):
      for name in names:
        with open(os.path.join(root, name), "r+b") as f:
          f.truncate(3)
  damage(5)
  capsys.readouterr()
  experiment.train(tiny_dcgan_config(max_steps=7), str(workdir))
  out = capsys.readouterr().out
  assert f"checkpoint {workdir}/checkpoints/5 cannot be restored" in out
  assert f"moved it to {workdir}/damaged_checkpoints/5" in out and "from step 4" in out
  assert sorted(os.listdir(workdir / "checkpoints")) == ["4", "6", "7"]  # steps 5-7 redone, the newest 3 kept
  assert os.listdir(workdir / "damaged_checkpoints") == ["5"]  # kept whole, out of the way
  assert [r["step"] for r in MetricsLog(str(workdir / "metrics.jsonl")).read()] == list(range(1, 8))
  # With no good checkpoint left: one line, exit 2, nothing written or moved.
  for step in (4, 6, 7):
    damage(step)
  before = {p: os.path.getsize(p) for p in map(str, workdir.rglob("*")) if os.path.isfile(p)}
  line = one_line_exit_2(capsys, lambda: experiment.train(tiny_dcgan_config(max_steps=9), str(workdir)))
  assert line.startswith(f"error: no checkpoint in {workdir}/checkpoints can be restored") and "aside" in line, line
  after = {p: os.path.getsize(p) for p in map(str, workdir.rglob("*")) if os.path.isfile(p)}
  assert after == before  # nothing written, nothing overwritten


@needs_shared
def test_an_unreadable_data_file_is_one_line_exit_2_and_no_workdir(tmp_path, capsys, monkeypatch):
  shutil.copytree(SHARED_DATA / "mnist", tmp_path / "data" / "mnist")
  make_unreadable(monkeypatch, "train-images-idx3-ubyte.gz")
  config = tiny_dcgan_config(max_steps=2, data_dir=str(tmp_path / "data"))
  line = one_line_exit_2(capsys, lambda: experiment.train(config, str(tmp_path / "run")))
  assert line.startswith("error: ") and "train-images-idx3-ubyte.gz cannot be read (Permission denied)" in line
  assert not (tmp_path / "run").exists()
