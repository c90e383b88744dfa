"""End to end: the command-line tools on real MNIST with a tiny DCGAN."""

import json
import os

import matplotlib.image
import numpy as np
import pytest

from gan_jax import configs
from tests.conftest import DATA_DIR
from tests.helpers import made_once, run_module

pytestmark = pytest.mark.slow  # every test here runs a command-line tool

TINY = ["--batch_size=16", "--config.generator_features=(16,8,8)", "--config.discriminator_features=(8,16)",
        "--config.log_every_steps=1", "--config.checkpoint_every_steps=2", "--config.eval_every_epochs=0"]


def _train(workdir, *args):
  data_args = [f"--data_dir={DATA_DIR}"] if DATA_DIR else []
  return run_module("experiments.dcgan", f"--workdir={workdir}", *data_args, *TINY, *args)


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
  """A tiny DCGAN trained 3 steps from the command line, once per session (tests only read it)."""
  def make(workdir):
    result = _train(workdir, "--max_steps=3")
    assert result.returncode == 0, result.stderr
  return made_once(tmp_path_factory, "dcgan_cli_run", make)


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


def test_sample_export(run_dir, tmp_path):
  out = tmp_path / "samples.npz"
  result = run_module("experiments.sample", f"--workdir={run_dir}", "--num_samples=10", f"--out={out}", "--seed=3")
  assert result.returncode == 0, result.stderr
  images = np.load(out)["images"]
  assert images.shape == (10, 28, 28) and images.dtype == np.uint8
  assert images.std() > 0
  # The images evaluate scores for --seed=3 (gan_jax.runs.generate_samples): the same, drawn again here
  # (so the command gives the same file when rerun), and the first 10 of any larger draw (z comes in
  # fixed blocks of sampling.LATENT_BLOCK rows).
  from gan_jax import runs
  run = runs.load_run(str(run_dir))
  assert run.kind == "gan"
  np.testing.assert_array_equal(runs.generate_samples(run, 10, seed=3), images)
  np.testing.assert_array_equal(runs.generate_samples(run, 1500, seed=3)[:10], images)
  assert not np.array_equal(runs.generate_samples(run, 10, seed=4), images)


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
  args = [*data_args, *TINY, "--max_steps=150", "--config.checkpoint_every_steps=1000", "--config.figures=false"]
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


def test_bad_input_from_the_command_line_is_one_line_exit_2_and_no_workdir(tmp_path):
  """The flags' way to the one-line errors (the cases themselves: tests/test_experiment.py), a process of
  a multi-process run that is not told its coordinator, and a --config value of the wrong type (absl's own
  message and status)."""
  result = _train(tmp_path / "run", "--max_steps=2", "--num_epochs=0")
  assert result.returncode == 2, result.stderr[-2000:]
  assert [l for l in result.stderr.splitlines() if l.startswith("error:")] == [
      "error: --num_epochs must be >= 1, got 0"], result.stderr[-2000:]
  assert "Traceback" not in result.stderr and not (tmp_path / "run").exists()
  alone = _train(tmp_path / "alone", "--num_processes=2")  # one of two processes, with no coordinator named
  assert alone.returncode == 2 and "Traceback" not in alone.stderr, alone.stderr[-2000:]
  assert alone.stderr.strip().splitlines()[-1].startswith(
      "error: cannot start the distributed runtime (coordinator_address should be defined.); give --coordinator")
  assert not (tmp_path / "alone").exists()
  typed = _train(tmp_path / "typed", "--config.batch_size=sixteen")
  assert typed.returncode != 0 and "Traceback" not in typed.stderr and "batch_size" in typed.stderr
  assert not (tmp_path / "typed").exists()
