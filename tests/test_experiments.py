"""End to end: the command-line tools on real MNIST with a tiny DCGAN."""

import json
import os

import matplotlib.image
import numpy as np
import pytest

from gan_jax import configs
from tests.conftest import DATA_DIR
from tests.helpers import run_module

pytestmark = pytest.mark.slow  # every test here runs a command-line tool

TINY = ["--batch_size=16", "--config.generator_features=(16,8,8)", "--config.discriminator_features=(8,16)",
        "--config.log_every_steps=1", "--config.checkpoint_every_steps=2", "--config.eval_every_epochs=0"]


def _train(workdir, *args):
  data_args = [f"--data_dir={DATA_DIR}"] if DATA_DIR else []
  return run_module("experiments.dcgan", f"--workdir={workdir}", *data_args, *TINY, *args)


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("dcgan")
  result = _train(workdir, "--max_steps=3")
  assert result.returncode == 0, result.stderr
  return workdir


@pytest.mark.xdist_group("cli_dcgan_run")
def test_train_writes_every_output(run_dir):
  names = set(os.listdir(run_dir))
  assert {"config.json", "metrics.jsonl", "samples_epoch_001.png", "curves.png", "checkpoints"} <= names
  assert sorted(os.listdir(run_dir / "checkpoints")) == ["2", "3"]
  with open(run_dir / "config.json") as f:
    config = json.load(f)
  assert (config["dataset"], config["batch_size"], config["max_steps"], config["model_kind"]) == ("mnist", 16, 3, "gan")
  with open(run_dir / "metrics.jsonl") as f:
    records = [json.loads(line) for line in f]
  assert [r["step"] for r in records] == [1, 2, 3]
  assert all({"d_loss", "g_loss", "d_real", "d_fake", "images_per_sec"} <= set(r) for r in records)
  grid = matplotlib.image.imread(run_dir / "samples_epoch_001.png")
  assert grid.ndim == 3 and grid.shape[0] > 8 * 28 and grid.shape[1] > 8 * 28
  assert grid[..., :3].std() > 0.01  # not a blank image
  curves = matplotlib.image.imread(run_dir / "curves.png")
  assert curves.shape[1] > 600
  assert not [n for n in names if "tmp" in n]


@pytest.mark.xdist_group("cli_dcgan_run")
def test_sample_export(run_dir):
  out = run_dir / "samples.npz"
  result = run_module("experiments.sample", f"--workdir={run_dir}", "--num_samples=10", f"--out={out}", "--seed=3")
  assert result.returncode == 0, result.stderr
  images = np.load(out)["images"]
  assert images.shape == (10, 28, 28) and images.dtype == np.uint8
  assert images.std() > 0
  again = run_dir / "again.npz"
  assert run_module("experiments.sample", f"--workdir={run_dir}", "--num_samples=10", f"--out={again}",
                    "--seed=3").returncode == 0
  np.testing.assert_array_equal(np.load(again)["images"], images)
  # The images evaluate scores for --seed=3 (gan_jax.runs.generate_samples): the same, and
  # the first 10 of any larger draw (z comes in fixed blocks of sampling.LATENT_BLOCK rows).
  from gan_jax import runs
  run = runs.load_run(str(run_dir))
  assert run.kind == "gan"
  np.testing.assert_array_equal(runs.generate_samples(run, 10, seed=3), images)
  np.testing.assert_array_equal(runs.generate_samples(run, 1500, seed=3)[:10], images)
  assert not np.array_equal(runs.generate_samples(run, 10, seed=4), images)


@pytest.mark.xdist_group("cli_dcgan_run")
def test_rerun_resumes_then_damaged_checkpoint_is_refused(run_dir, tmp_path):
  import shutil
  workdir = tmp_path / "copy"
  shutil.copytree(run_dir, workdir)
  result = _train(workdir, "--max_steps=5")
  assert result.returncode == 0, result.stderr
  assert "resuming" in result.stdout and "from step 3" in result.stdout
  assert sorted(os.listdir(workdir / "checkpoints")) == ["3", "4", "5"]
  # Damage the newest checkpoint: every file in it truncated.
  for root, _, files in os.walk(workdir / "checkpoints" / "5"):
    for name in files:
      with open(os.path.join(root, name), "r+b") as f:
        f.truncate(3)
  before = {p: os.path.getsize(p) for p in map(str, workdir.rglob("*")) if os.path.isfile(p)}
  result = _train(workdir, "--max_steps=7")
  assert result.returncode == 2
  error = result.stderr.strip().splitlines()[-1]
  assert error.startswith("error: checkpoint ") and "cannot be restored" in error and "delete" in error, error
  assert "Traceback" not in result.stderr
  after = {p: os.path.getsize(p) for p in map(str, workdir.rglob("*")) if os.path.isfile(p)}
  assert after == before  # nothing written, nothing overwritten


def test_unknown_dataset_is_one_line(tmp_path):
  result = _train(tmp_path / "run", "--dataset=cifar10")
  assert result.returncode == 2
  assert result.stderr.strip().splitlines()[-1].startswith("error: ")
  assert "mnist" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.xdist_group("cli_dcgan_run")
def test_recipes_and_overrides_on_top_of_them(run_dir, tmp_path):
  with open(run_dir / "config.json") as f:
    fast = json.load(f)
  # The default recipe; --config.* apply on top of it.
  recipe = configs.dcgan("fast")
  assert (fast["recipe"], fast["kernel_size"], fast["optimizer"], fast["g_ema_decay"]) == (
      "fast", recipe.kernel_size, recipe.optimizer, recipe.g_ema_decay)
  assert fast["generator_features"] == [16, 8, 8] != list(recipe.generator_features)
  result = _train(tmp_path / "tutorial", "--recipe=tf_tutorial", "--max_steps=1")
  assert result.returncode == 0, result.stderr
  with open(tmp_path / "tutorial" / "config.json") as f:
    tutorial = json.load(f)
  assert (tutorial["recipe"], tutorial["kernel_size"], tutorial["optimizer"], tutorial["num_epochs"]) == (
      "tf_tutorial", 0, "tutorial", 50)
  assert (tutorial["batch_size"], tutorial["generator_features"]) == (16, [16, 8, 8])
  bad = _train(tmp_path / "bad", "--recipe=fastest")
  assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1].startswith("error: unknown --recipe=")
  assert not (tmp_path / "bad").exists()


def test_data_source_tfds_without_tensorflow_datasets_exits_2_with_one_line(tmp_path):
  """--data_source=tfds reaches the data module's TFDS path; without the package: one line, nothing written."""
  import importlib.util
  if importlib.util.find_spec("tensorflow_datasets") is not None:
    pytest.skip("tensorflow-datasets is installed here")
  result = run_module("experiments.vae", f"--workdir={tmp_path / 'run'}", "--data_source=tfds", "--max_steps=1")
  assert result.returncode == 2, result.stderr[-2000:]
  assert [l for l in result.stderr.splitlines() if l.startswith("error:")] == [
      "error: source='tfds' needs tensorflow-datasets: pip install -e '.[tfds]'"], result.stderr[-2000:]
  assert "Traceback" not in result.stderr
  assert not (tmp_path / "run").exists()
