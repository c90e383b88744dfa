"""benchmarks/: the command runs and writes its table; the PyTorch baseline has gan_jax's layers."""

import jax
import numpy as np
import pytest

from benchmarks import workers
from gan_jax import vae
from gan_jax.models import build_discriminator, build_generator
from tests.helpers import DATA_DIR, gan_state, run_module


@pytest.mark.slow
def test_benchmark_command_writes_a_table_with_jax_alone(tmp_path):
  out = tmp_path / "bench.md"
  args = ["--notorch", "--cases=dcgan_fast_b16,matmul", "--rounds=1", "--window_seconds=0.2", f"--out={out}"]
  if DATA_DIR:
    args.append(f"--data_dir={DATA_DIR}")
  result = run_module("benchmarks.run", *args)
  assert result.returncode == 0, result.stderr[-2000:]
  text = out.read_text()
  assert "python -m benchmarks.run --notorch" in text and "machine:" in text
  row = next(line for line in text.splitlines() if "`dcgan_fast_b16`" in line)
  images_per_s = float(row.split("|")[3].split()[0])
  assert images_per_s > 0
  assert "GFLOP/s" in next(line for line in text.splitlines() if "matrix product" in line)


def test_unknown_case_exits_2_with_one_line(tmp_path):
  result = run_module("benchmarks.run", "--notorch", "--cases=resnet", f"--out={tmp_path / 'x.md'}")
  assert result.returncode == 2
  assert [l for l in result.stderr.splitlines() if l.startswith("error:")] == [
      f"error: unknown case 'resnet'; choose from {', '.join(workers.CASES)}"]
  assert not (tmp_path / "x.md").exists()


def _jax_parameter_count(name):
  config = workers.case_config(name, 4)
  if name == "vae":
    state = vae.init_state(config, *vae.build_modules(config), vae.optimizers_for(config))
  else:
    state = gan_state(config, build_generator(config), build_discriminator(config))
  params = {k: v for k, v in state.params.items() if k != "generator_ema"}
  return sum(int(np.prod(p.shape)) for p in jax.tree.leaves(params))


@pytest.mark.parametrize("name", ["dcgan_tutorial", "dcgan_tutorial_reuse", "dcgan_tutorial_bf16", "dcgan_fast",
                                  "gan_mlp", "vae"])
def test_pytorch_baseline_has_the_same_parameters_as_gan_jax(name):
  """The same layer widths in both frameworks: the same number of trainable parameters."""
  torch = pytest.importorskip("torch")
  from benchmarks import torch_models
  config = workers.case_config(name, 4)
  if name == "vae":
    step = torch_models.VAEStep(config)
    modules = [step.encoder, step.decoder]
    x = torch.rand(4, 1, 28, 28)
  else:
    step = torch_models.GanStep(config)
    modules = [step.generator, step.discriminator]
    x = torch.rand(4, 1, 28, 28) * 2 - 1
  count = sum(p.numel() for m in modules for p in m.parameters())
  assert count == _jax_parameter_count(name)
  losses = step(x)
  assert all(np.isfinite(float(l.detach())) for l in (losses if isinstance(losses, tuple) else (losses,)))
