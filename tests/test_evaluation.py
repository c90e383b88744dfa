"""Scoring trained models on real data: the scores' sanity on real images, training-time FID, the CLI, IWAE."""

import contextlib
import io
import json
import types

import numpy as np
import pytest

from gan_jax import configs, data, evaluation, experiment, feature_nets, runs, vae
from gan_jax.errors import ConfigError
from gan_jax.train import MetricsLog
from tests.conftest import DATA_DIR
from tests.helpers import one_line_exit_2, run_module, tiny_dcgan_config


@pytest.fixture(scope="session")
def reference():
  return evaluation.load_reference("mnist", DATA_DIR or None)


@pytest.mark.slow
def test_real_images_score_like_the_test_split_and_a_collapsed_set_does_not(reference):
  train = reference.train_images[:2000]
  real = evaluation.score_samples(train, reference, memorization=False)
  assert real["classes_covered"] == 10
  assert real["classifier_score"] > 9.0
  assert real["fid"] < 5.0  # 0.95 at 10,000 images; the estimate is biased upwards at 2,000
  assert 0.45 < real["one_nn_accuracy"] < 0.65  # 0.53 at 10,000: MNIST train and test writers differ
  assert real["precision"] > 0.7 and real["recall"] > 0.7

  digit = reference.train_images[np.flatnonzero(data.load("mnist", "train", DATA_DIR or None)[1][:5000] == 7)[:2000]]
  collapsed = evaluation.score_samples(digit, reference, memorization=False)
  assert collapsed["classes_covered"] == 1
  assert collapsed["classifier_score"] < 1.5
  assert collapsed["fid"] > 10 * real["fid"]
  assert collapsed["recall"] < real["recall"] / 2
  assert collapsed["one_nn_accuracy"] > real["one_nn_accuracy"] + 0.2


def test_score_samples_rejects_bad_samples(reference):
  from gan_jax.errors import ConfigError
  with pytest.raises(ConfigError):
    evaluation.score_samples(np.zeros((100, 28, 28), np.float32), reference)


@pytest.fixture(scope="session")
def scored_gan_run(tmp_path_factory):
  """A tiny class-conditional DCGAN (CGAN) scored every 2 steps while it trains 4: (workdir, its "test_fid"
  records, what it printed)."""
  workdir = tmp_path_factory.mktemp("scored") / "gan"
  config = tiny_dcgan_config(max_steps=4, eval_every_epochs=1, eval_every_steps=2, eval_samples=100, figures=True,
                             conditioning="cgan")
  printed = io.StringIO()
  with contextlib.redirect_stdout(printed):
    experiment.train(config, str(workdir))
  records = [r for r in MetricsLog(str(workdir / "metrics.jsonl")).read() if "test_fid" in r]
  return workdir, records, printed.getvalue()


def _check_training_scores(scored_gan_run):
  workdir, records, printed = scored_gan_run
  # Every 2 steps, and the final state once (step 4 is both).
  assert [r["step"] for r in records] == [2, 4] and all(r["test_fid"] > 0 for r in records)
  assert all(0 <= r["test_conditional_accuracy"] <= 1 and "test_per_class_fid" not in r for r in records)
  assert records[0]["epoch"] == round(2 / (60000 // 16), 4)
  # Training time is counted without the evaluations: it grows by about one step's
  # time across an evaluation, and every record has it, in step order.
  seconds = [r["train_seconds"] for r in MetricsLog(str(workdir / "metrics.jsonl")).read()]
  assert seconds == sorted(seconds) and seconds[0] > 0
  best = json.loads((workdir / "best.json").read_text())
  winner = min(records, key=lambda r: r["test_fid"])
  assert best["step"] == winner["step"] and best["fid"] == winner["test_fid"]
  assert (workdir / "best" / "checkpoints" / str(winner["step"])).is_dir()
  assert (workdir / "fid_curve.png").stat().st_size > 0
  assert f"FID {records[-1]['test_fid']:.1f} at epoch" in printed and f"figures in {workdir}/" in printed


def _check_time_to_quality(scored_gan_run):
  """The time-to-quality figure of the run, with the real-vs-real line of as many samples."""
  workdir, records, _ = scored_gan_run
  figure = workdir / "ttq.png"
  result = run_module("experiments.time_to_quality", f"--out={figure}", f"--run=mnist:tiny DCGAN:{workdir}",
                      *([f"--data_dir={DATA_DIR}"] if DATA_DIR else []))
  assert result.returncode == 0, result.stderr
  points = json.loads((workdir / "ttq.json").read_text())
  assert [p["fid"] for p in points["runs"]["mnist"]["tiny DCGAN"]] == [r["test_fid"] for r in records]
  assert 0 < points["baselines"]["mnist"] < records[-1]["test_fid"] and figure.stat().st_size > 0
  bad = run_module("experiments.time_to_quality", f"--out={figure}", "--run=mnist")
  assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1].startswith("error: --run='mnist'")


def _evaluate_flags(**given):
  """experiments.evaluate's flags at their defaults, with `given` values (an object evaluate.evaluate reads)."""
  from absl import flags
  defaults = {flag.name: flag.default for flag in flags.FLAGS.get_flags_for_module("experiments.evaluate")}
  assert {"workdir", "samples", "dataset", "num_samples"} <= set(defaults) and set(given) <= set(defaults)
  return types.SimpleNamespace(**{**defaults, **given})


def _check_evaluate_cli(scored_gan_run, tmp_path, capsys):
  from experiments import evaluate
  workdir, _, _ = scored_gan_run
  result = run_module("experiments.evaluate", f"--workdir={workdir}", "--num_samples=200", "--nomemorization",
                      "--all_checkpoints", *([f"--data_dir={DATA_DIR}"] if DATA_DIR else []))
  assert result.returncode == 0, result.stderr
  by_step = json.loads((workdir / "eval_by_step.json").read_text())
  assert [r["step"] for r in by_step["records"]] == [2, 4]
  assert by_step["baseline"]["fid"] < by_step["records"][0]["fid"]
  assert (workdir / "fid_by_epoch.png").stat().st_size > 0
  # The errors in this process (their way through the command line: time_to_quality's above).
  line = one_line_exit_2(capsys, lambda: evaluate.evaluate(_evaluate_flags(workdir=str(workdir),
                                                                           samples=str(tmp_path / "none.npz"))))
  assert line == "error: pass exactly one of --workdir=DIR and --samples=FILE.npz"
  missing = _evaluate_flags(samples=str(tmp_path / "none.npz"), dataset="mnist")
  assert "not found" in one_line_exit_2(capsys, lambda: evaluate.evaluate(missing))
  assert not list(tmp_path.glob("*.json"))


@pytest.mark.slow
def test_training_scores_gans_keeps_the_best_checkpoint_and_the_tools_read_the_run(scored_gan_run, tmp_path, capsys):
  """One test over the shared run (xdist would otherwise train it once per worker): the in-training
  scores and best checkpoint, the time-to-quality figure, and experiments.evaluate on every checkpoint."""
  _check_training_scores(scored_gan_run)
  _check_time_to_quality(scored_gan_run)
  _check_evaluate_cli(scored_gan_run, tmp_path, capsys)


@pytest.mark.slow
def test_samples_file_cli(tmp_path, reference):
  path = tmp_path / "real.npz"
  np.savez_compressed(path, images=reference.train_images[:500])
  result = run_module("experiments.evaluate", f"--samples={path}", "--dataset=mnist", "--nomemorization",
                      *([f"--data_dir={DATA_DIR}"] if DATA_DIR else []))  # memorization: test_metrics.py
  assert result.returncode == 0, result.stderr
  out = json.loads((tmp_path / "real.eval.json").read_text())
  assert out["scores"]["num_samples"] == 500 and out["scores"]["classes_covered"] == 10
  assert "memorization_ratio" not in out["scores"]
  assert len(out["scores"]["swd_levels"]) == 3 and out["scores"]["swd"] == pytest.approx(
      np.mean(out["scores"]["swd_levels"])) and "swd" in out["baseline"]
  assert out["baseline"]["num_samples"] == 500 and out["baseline"]["classes_covered"] == 10
  assert "fid" in result.stdout and "real vs real" in result.stdout


@pytest.mark.slow
def test_iwae_bound_is_above_the_elbo_and_binarized_training_runs(tmp_path):
  config = configs.vae()
  config.update(dict(data_dir=DATA_DIR, batch_size=64, max_steps=30, show_progress=False, latent_dim=4, figures=False,
                     encoder_features=(64, 32), decoder_features=(32, 64), binarize=True))
  experiment.train(config, str(tmp_path / "vae"))
  run = runs.load_run(str(tmp_path / "vae"))
  assert run.kind == "vae" and run.step == 30
  test_images, _ = data.load("mnist", "test", DATA_DIR or None)
  for binarized in (True, False):
    result = vae.iwae_log_likelihood(*run.modules, run.state.params, test_images[:60], num_importance=64,
                                     binarized=binarized)
    assert result["test_log_likelihood"] > result["test_elbo"]
    assert result["test_log_likelihood"] < 0
  samples = runs.generate_samples(run, 30, seed=1)
  assert samples.dtype == np.uint8 and samples.shape == (30, 28, 28)
  np.testing.assert_array_equal(samples, runs.generate_samples(run, 30, seed=1))


def test_conditional_scores_agree_with_true_labels_and_not_with_shuffled_ones(reference):
  """Real test images with their own labels score as a perfect conditional model would (the LeNet's
  accuracy, per-class FIDs near 0); with the labels shuffled, about chance and large per-class FIDs."""
  images, labels = reference.test_images[:2000], reference.test_labels[:2000]
  features, probs = feature_nets.embed(reference.net, images)
  right = evaluation.conditional_scores(features, probs, labels, reference)
  shuffled = np.random.default_rng(0).permutation(labels)
  wrong = evaluation.conditional_scores(features, probs, shuffled, reference)
  assert right["conditional_accuracy"] > 0.97 and wrong["conditional_accuracy"] < 0.2
  assert len(right["per_class_fid"]) == 10
  # About 200 images a class: FID's small-sample bias keeps even the right ones above 0 (5-14 measured).
  assert max(right["per_class_fid"]) < 20 and 2 * max(right["per_class_fid"]) < min(wrong["per_class_fid"])
  with pytest.raises(ConfigError, match="labels must be"):
    evaluation.conditional_scores(features, probs, labels[:10], reference)
