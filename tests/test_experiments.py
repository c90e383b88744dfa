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


def test_rerun_resumes_past_a_damaged_checkpoint_and_refuses_when_none_is_good(run_dir, tmp_path):
  import shutil
  workdir = tmp_path / "copy"
  shutil.copytree(run_dir, workdir)
  result = _train(workdir, "--max_steps=5")
  assert result.returncode == 0, result.stderr
  assert "resuming" in result.stdout and "from step 3" in result.stdout
  assert sorted(os.listdir(workdir / "checkpoints")) == ["3", "4", "5"]

  def damage(step):  # every file of the checkpoint truncated
    for root, _, names in os.walk(workdir / "checkpoints" / str(step)):
      for name in names:
        with open(os.path.join(root, name), "r+b") as f:
          f.truncate(3)
  damage(5)
  result = _train(workdir, "--max_steps=7")
  assert result.returncode == 0, result.stderr
  assert f"checkpoint {workdir}/checkpoints/5 cannot be restored" in result.stdout
  assert f"moved it to {workdir}/damaged_checkpoints/5" in result.stdout and "from step 4" in result.stdout
  assert sorted(os.listdir(workdir / "checkpoints")) == ["4", "6", "7"]  # steps 5-7 redone, the newest 3 kept
  assert os.listdir(workdir / "damaged_checkpoints") == ["5"]  # kept whole, out of the way
  assert [json.loads(l)["step"] for l in (workdir / "metrics.jsonl").read_text().splitlines()] == list(range(1, 8))
  # With no good checkpoint left: one line, exit 2, nothing written or moved.
  for step in (4, 6, 7):
    damage(step)
  before = {p: os.path.getsize(p) for p in map(str, workdir.rglob("*")) if os.path.isfile(p)}
  result = _train(workdir, "--max_steps=9")
  assert result.returncode == 2
  error = result.stderr.strip().splitlines()[-1]
  assert error.startswith(f"error: no checkpoint in {workdir}/checkpoints can be restored") and "aside" in error, error
  assert "Traceback" not in result.stderr
  after = {p: os.path.getsize(p) for p in map(str, workdir.rglob("*")) if os.path.isfile(p)}
  assert after == before  # nothing written, nothing overwritten


def test_unknown_dataset_is_one_line(tmp_path):
  result = _train(tmp_path / "run", "--dataset=cifar10")
  assert result.returncode == 2
  assert result.stderr.strip().splitlines()[-1].startswith("error: ")
  assert "mnist" in result.stderr and "Traceback" not in result.stderr


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


def _params(workdir):
  """The newest checkpoint's parameters and step, read with orbax (no template needed)."""
  import orbax.checkpoint as ocp
  from gan_jax import runs
  step = runs.checkpoint_steps(str(workdir))[-1]
  with ocp.CheckpointManager(os.path.abspath(workdir / "checkpoints")) as manager:
    restored = manager.restore(step)
  return step, restored["params"], restored["opt_state"]


def _stop_after(process, metrics, records: int, signal_name: str):
  """Sends the signal once `metrics` holds `records` lines (the run is stepping), and waits for the process."""
  import signal
  import time
  deadline = time.time() + 300
  while time.time() < deadline and (not metrics.exists() or len(metrics.read_text().splitlines()) < records):
    time.sleep(0.05)
  process.send_signal(getattr(signal, signal_name))
  return process.communicate(timeout=300)


def test_sigterm_and_sigint_save_at_the_current_step_and_the_rerun_ends_bitwise_as_an_uninterrupted_run(tmp_path):
  import chex
  from tests.helpers import start_module
  data_args = [f"--data_dir={DATA_DIR}"] if DATA_DIR else []
  args = [*data_args, *TINY, "--max_steps=150", "--config.checkpoint_every_steps=1000", "--config.sample_every_epochs=1"]
  stopped, metrics = tmp_path / "stopped", tmp_path / "stopped" / "metrics.jsonl"
  reached = 0
  for signal_name in ("SIGTERM", "SIGINT"):
    process = start_module("experiments.dcgan", f"--workdir={stopped}", *args)
    out, err = _stop_after(process, metrics, reached + 5, signal_name)
    assert process.returncode == 0, err[-2000:]
    step = max(int(s) for s in os.listdir(stopped / "checkpoints"))
    assert reached + 5 <= step < 150, step  # saved where it stopped (no periodic checkpoint before 1000)
    assert f"stopped by {signal_name} at step {step} of 150" in out and "rerun the same command" in out
    assert f"{signal_name}: finishing this step" in err and "Traceback" not in err
    assert [json.loads(l)["step"] for l in metrics.read_text().splitlines()][-1] == step  # nothing lost
    reached = step
  resumed = run_module("experiments.dcgan", f"--workdir={stopped}", *args)
  assert resumed.returncode == 0 and f"from step {reached}" in resumed.stdout, resumed.stderr[-2000:]
  whole = run_module("experiments.dcgan", f"--workdir={tmp_path / 'whole'}", *args)
  assert whole.returncode == 0, whole.stderr[-2000:]
  a, b = _params(stopped), _params(tmp_path / "whole")
  assert a[0] == b[0] == 150
  chex.assert_trees_all_equal(a[1:], b[1:])  # bitwise


@pytest.mark.parametrize("args,message", [
    (["--num_epochs=0"], "error: --num_epochs must be >= 1, got 0"),
    (["--num_epochs=-2"], "error: --num_epochs must be >= 1, got -2"),
    (["--data_dir=/nonexistent"], "error: --data_dir=/nonexistent is not a directory"),
    (["--workdir=/proc/gan_jax_nope"], "error: cannot write in /proc/gan_jax_nope"),
])
def test_bad_input_is_one_line_exit_2_and_no_workdir(tmp_path, args, message):
  workdir = tmp_path / "run"
  data_args = [] if any(a.startswith("--data_dir") for a in args) else [f"--data_dir={DATA_DIR}"] if DATA_DIR else []
  workdir_args = [] if any(a.startswith("--workdir") for a in args) else [f"--workdir={workdir}"]
  result = run_module("experiments.dcgan", *workdir_args, *data_args, *TINY, "--max_steps=2", *args)
  assert result.returncode == 2, result.stderr[-2000:]
  assert [l for l in result.stderr.splitlines() if l.startswith("error:")][0].startswith(message), result.stderr
  assert "Traceback" not in result.stderr
  assert not workdir.exists() and not os.path.exists("/proc/gan_jax_nope")


def test_workdir_of_another_model_and_a_wrongly_typed_value_are_refused_untouched(tmp_path):
  workdir = tmp_path / "vae_run"
  workdir.mkdir()
  (workdir / "config.json").write_text(json.dumps({"model_kind": "vae", "latent_dim": 2}))
  before = sorted((p.name, p.stat().st_size) for p in workdir.iterdir())
  result = _train(workdir, "--max_steps=2")
  assert result.returncode == 2 and "Traceback" not in result.stderr
  assert result.stderr.strip().splitlines()[-1] == f"error: {workdir} holds a vae run, not a gan one; use a new --workdir"
  assert sorted((p.name, p.stat().st_size) for p in workdir.iterdir()) == before
  typed = _train(tmp_path / "typed", "--config.batch_size=sixteen")
  assert typed.returncode != 0 and "Traceback" not in typed.stderr and "batch_size" in typed.stderr
  assert not (tmp_path / "typed").exists()
