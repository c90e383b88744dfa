"""Several processes, one run: JAX's distributed runtime (gloo collectives on CPU) through
scripts/launch_local.sh, against one process with as many devices."""

import json
import os
import subprocess
import sys

import chex
import jax
import orbax.checkpoint as ocp
import pytest

from gan_jax import configs, experiment, parallel
from tests.conftest import DATA_DIR, REPO
from tests.helpers import module_env, one_line_exit_2


STEPS = 4
# SGD: Adam divides each gradient by its own size, so on its first steps the rounding
# differences of the two runs' cross-device sums (~1e-7), on gradients that are nearly
# zero, become whole learning-rate steps; SGD keeps them at the rounding level.
SGD = dict(optimizer="sgd_momentum", learning_rate=0.01, momentum=0.9)
MODELS = {
    "dcgan": (configs.dcgan, dict(batch_size=16, generator_features=(16, 8, 8), discriminator_features=(8, 16),
                                  eval_every_epochs=0, **SGD)),
    "vae": (configs.vae, dict(batch_size=16, latent_dim=2, encoder_features=(64, 32), decoder_features=(32, 64),
                              **SGD)),
}


def _flags(overrides: dict) -> list[str]:
  def value(v):
    return f"({','.join(map(str, v))})" if isinstance(v, tuple) else str(v)
  return [f"--config.{name}={value(v)}" for name, v in overrides.items()]


def _newest_params(workdir):
  with ocp.CheckpointManager(os.path.abspath(workdir / "checkpoints")) as manager:
    step = manager.latest_step()
    return step, manager.restore(step)["params"]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MODELS))
def test_two_processes_of_two_devices_train_like_one_process_of_four(name, tmp_path, monkeypatch):
  make_config, overrides = MODELS[name]
  common = {**overrides, "max_steps": STEPS, "log_every_steps": 1, "checkpoint_every_steps": 2,
            "show_progress": False, "data_dir": DATA_DIR, "figures": False}
  two = tmp_path / "two_processes"
  launched = subprocess.run(
      ["bash", "scripts/launch_local.sh", "2", f"experiments.{name}", f"--workdir={two}", *_flags(common)],
      cwd=REPO, env={**module_env(2), "DEVICES_PER_PROCESS": "2", "PYTHON": sys.executable},
      capture_output=True, text=True, timeout=600)
  assert launched.returncode == 0, launched.stderr[-3000:]
  assert launched.stdout.count("resuming") == 0 and "Traceback" not in launched.stderr

  # The same run in this process on 4 of its devices.
  monkeypatch.setattr(parallel, "resolve_accelerator", lambda accelerator: jax.devices()[:4])
  config = make_config()
  config.update(common)
  one = tmp_path / "one_process"
  experiment.train(config, str(one))

  (step_two, params_two), (step_one, params_one) = _newest_params(two), _newest_params(one)
  assert step_two == step_one == STEPS
  chex.assert_trees_all_close(params_two, params_one, atol=1e-5, rtol=0)
  records = [json.loads(line) for line in (two / "metrics.jsonl").read_text().splitlines()]
  assert [r["step"] for r in records if "images_per_sec" in r] == list(range(1, STEPS + 1))  # one writer


def test_a_process_index_out_of_range_is_one_line_exit_2(capsys):
  line = one_line_exit_2(capsys, lambda: parallel.start_distributed("localhost:1", 2, 5))
  assert line == "error: --process_id=5 is not in 0..1 (--num_processes=2)"
