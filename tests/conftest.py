"""Shared pytest configuration: 8 simulated CPU devices and the real datasets.

The device count must be set before JAX creates its backends, hence here, at
import time. Tests use ../shared/data (the real MNIST / Fashion-MNIST files
beside the repository) when it is there; otherwise gan_jax.data obtains the
files itself (cache, package registries).
"""

import pathlib

import jax

jax.config.update("jax_num_cpu_devices", 8)

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
DATA_DIR = str(SHARED_DATA) if SHARED_DATA.is_dir() else ""


def pytest_configure(config):
  config.addinivalue_line(
      "markers", "registry: reaches a package registry (PyPI, Debian) for real; deselect with -m 'not registry'")
  config.addinivalue_line("markers", "slow: over about 8 s on 2 cores; the fast tier is -m 'not slow'")
