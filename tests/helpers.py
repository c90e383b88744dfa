"""Small configs and runners shared by the tests."""

import fcntl
import os
import pathlib
import shutil
import subprocess
import sys
from typing import Callable

import ml_collections
import pytest

from experiments import cli
from gan_jax import configs, data, gan, obtain
from gan_jax.train import Schedule
from tests.conftest import DATA_DIR, JIT_CACHE_DIR, REPO, SHARED_DATA, TEST_XLA_FLAGS


def tiny_dcgan_config(**overrides) -> ml_collections.ConfigDict:
  """The TF-tutorial DCGAN config with narrow layers, a small batch, the default (fast) convolution
  gradients and no figures (about 3 s of matplotlib and compilation per run; tests of the figures
  pass figures=True): seconds per test on CPU."""
  config = configs.dcgan("tf_tutorial")
  config.update(dict(generator_features=(16, 8, 8), discriminator_features=(8, 16), batch_size=16,
                     conv_gradients="fast",
                     data_dir=DATA_DIR, log_every_steps=1, show_progress=False, checkpoint_every_steps=2,
                     figures=False))
  config.update(overrides)
  return config


def gan_optimizers(config: ml_collections.ConfigDict) -> dict:
  """gan.optimizers_for(config) with the run's steps per epoch, as gan_run.build_model builds them."""
  return gan.optimizers_for(config, Schedule.from_config(config).steps_per_epoch)


def gan_state(config: ml_collections.ConfigDict, generator, discriminator):
  """A fresh GAN TrainState, as a run starts it."""
  return gan.init_state(config, generator, discriminator, gan_optimizers(config))


def made_once(tmp_path_factory, name: str, make: Callable[[pathlib.Path], None]) -> pathlib.Path:
  """A directory `make(directory)` fills once per test session, also under pytest-xdist, whose
  workers would each build a session fixture: the first worker to ask makes it (under a lock),
  the others wait and reuse it. Tests must only read it."""
  root = tmp_path_factory.getbasetemp()
  if os.environ.get("PYTEST_XDIST_WORKER"):
    root = root.parent  # this session's, shared by its workers
  directory, done = root / name, root / f"{name}.done"
  with open(root / f"{name}.lock", "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    if not done.exists():
      shutil.rmtree(directory, ignore_errors=True)
      directory.mkdir()
      make(directory)
      done.touch()
  return directory


def one_line_exit_2(capsys, main) -> str:
  """Runs main as the command-line tools do (experiments.cli.run_main); checks exit status 2 and a single
  "error:" line without a traceback, and returns that line."""
  capsys.readouterr()
  with pytest.raises(SystemExit) as exited:
    cli.run_main(main)
  assert exited.value.code == 2
  err = capsys.readouterr().err
  errors = [line for line in err.splitlines() if line.startswith("error:")]
  assert len(errors) == 1 and "Traceback" not in err, err
  return errors[0]


def module_env(num_cpu_devices: int = 1) -> dict:
  """The environment of a command-line run in the tests: CPU only, `num_cpu_devices` devices, the tests' JIT cache."""
  return {**os.environ, "JAX_PLATFORMS": "cpu", "JAX_COMPILATION_CACHE_DIR": JIT_CACHE_DIR,
         "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0.2",
         "XLA_FLAGS": f"--xla_force_host_platform_device_count={num_cpu_devices} {TEST_XLA_FLAGS}"}


def run_module(module: str, *args: str, num_cpu_devices: int = 1, timeout: int = 600) -> subprocess.CompletedProcess:
  """Runs `python -m module args` from the repository root on `num_cpu_devices` CPU devices."""
  return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, env=module_env(num_cpu_devices),
                        capture_output=True, text=True, timeout=timeout)


def start_module(module: str, *args: str, num_cpu_devices: int = 1) -> subprocess.Popen:
  """Starts `python -m module args` like run_module, without waiting: stdout and stderr are pipes."""
  return subprocess.Popen([sys.executable, "-m", module, *args], cwd=REPO, env=module_env(num_cpu_devices),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def read_tensorboard(logdir) -> tuple[dict, dict]:
  """Reads the event files in logdir back: ({scalar tag: [(step, value)]}, {image tag: [step]}).

  The files are TFRecords (uint64 length, uint32 crc, payload, uint32 crc) of Event protos.
  """
  import pathlib
  import struct
  from tensorboardX.proto import event_pb2
  scalars, images = {}, {}
  for path in sorted(pathlib.Path(logdir).glob("events.out.tfevents.*")):
    blob = path.read_bytes()
    offset = 0
    while offset < len(blob):
      (length,) = struct.unpack("<Q", blob[offset:offset + 8])
      event = event_pb2.Event.FromString(blob[offset + 12:offset + 12 + length])
      offset += 12 + length + 4
      for value in event.summary.value:
        if value.HasField("image"):
          images.setdefault(value.tag, []).append(event.step)
        else:
          scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
  return scalars, images


# For tests of the data files themselves: skipped where ../shared/data is absent.
needs_shared = pytest.mark.skipif(not all((SHARED_DATA / name).is_dir() for name in data.DATASETS),
                                  reason=f"{SHARED_DATA} is absent")


def isolate_data_env(monkeypatch, tmp_path) -> None:
  """No GAN_JAX_DATA_DIR, and a cache of the test's own instead of ~/.cache (call from an autouse fixture)."""
  monkeypatch.delenv("GAN_JAX_DATA_DIR", raising=False)
  monkeypatch.setenv("GAN_JAX_CACHE_DIR", str(tmp_path / "default_cache"))


def forbidden_route(name):
  """A stand-in for a gan_jax.obtain route that fails the test when it is tried."""
  raise AssertionError(f"route must not be used for {name}")


def make_unreadable(monkeypatch, file_name: str) -> None:
  """Makes reading any file called `file_name` (pathlib.Path.read_bytes) fail with "Permission denied"."""
  real_read = pathlib.Path.read_bytes

  def read_bytes(path):
    if path.name == file_name:
      raise PermissionError(13, "Permission denied")
    return real_read(path)
  monkeypatch.setattr(pathlib.Path, "read_bytes", read_bytes)


def no_network(monkeypatch) -> None:
  """Makes gan_jax.obtain's registry and mirror routes fail the test if they are tried."""
  monkeypatch.setattr(obtain, "_from_registry", forbidden_route)
  monkeypatch.setattr(obtain, "_from_mirrors", forbidden_route)

