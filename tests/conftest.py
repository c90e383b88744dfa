"""Shared pytest configuration: 8 simulated CPU devices and the real datasets.

The device count must be set before JAX creates its backends, hence here, at
import time. Tests use ../shared/data (the real MNIST / Fashion-MNIST files
beside the repository) when it is there; otherwise gan_jax.data obtains the
files itself (cache, package registries).

Compiled XLA programs go to JAX's persistent compilation cache (JIT_CACHE_DIR,
also handed to the command-line runs of tests.helpers.run_module): many tests
train the same tiny models, and a cache hit skips only XLA's compilation, never
the tracing or the run, so every test still runs its code.

XLA compiles the tests' programs at backend optimization level 0
(TEST_XLA_FLAGS, also in the command-line runs): the tests' models are tiny, so
compiling dominates their time, and the level changes how fast the generated
code runs, not what it computes beyond floating-point rounding; the tests'
tolerances and same-machine bitwise comparisons hold at any level.
"""

import os
import pathlib
import tempfile

import jax

TEST_XLA_FLAGS = "--xla_backend_optimization_level=0"
os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {TEST_XLA_FLAGS}".strip()  # read when the backend starts
jax.config.update("jax_num_cpu_devices", 8)
JIT_CACHE_DIR = os.environ.get("JAX_COMPILATION_CACHE_DIR") or os.path.join(tempfile.gettempdir(),
                                                                           "gan_jax_tests_jit_cache")
jax.config.update("jax_compilation_cache_dir", JIT_CACHE_DIR)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
DATA_DIR = str(SHARED_DATA) if SHARED_DATA.is_dir() else ""


def pytest_configure(config):
  config.addinivalue_line(
      "markers", "registry: reaches a package registry (PyPI, Debian) for real; deselect with -m 'not registry'")
  config.addinivalue_line("markers", "slow: over about 8 s on 2 cores; the fast tier is -m 'not slow'")
