"""Representations of trained runs (gan_jax.runs.representation) and the features table (experiments.features)."""

import json

import numpy as np
import pytest

from gan_jax import configs, data, experiment, runs
from gan_jax.errors import ConfigError
from tests.conftest import DATA_DIR
from tests.helpers import made_once, run_module, tiny_dcgan_config

pytestmark = pytest.mark.slow  # trains four tiny runs


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
  """{name: workdir} of a tiny autoencoder, VAE, DCGAN, BiGAN and CGAN, a few steps each on real MNIST."""
  small = dict(data_dir=DATA_DIR, batch_size=32, max_steps=3, show_progress=False, figures=False)
  ae = configs.autoencoder()
  ae.update(dict(small, features=(32,), code_dim=6, kmeans_examples=100))
  vae = configs.vae()
  vae.update(dict(small, latent_dim=3, encoder_features=(32,), decoder_features=(32,)))
  made = {"ae": ae, "vae": vae, "dcgan": tiny_dcgan_config(max_steps=3, eval_every_epochs=0),
          "bigan": tiny_dcgan_config(max_steps=3, eval_every_epochs=0, bigan=True),
          "cgan": tiny_dcgan_config(max_steps=1, eval_every_epochs=0, conditioning="cgan")}

  def make(directory):
    for name, config in made.items():
      experiment.train(config, str(directory / name))
  root = made_once(tmp_path_factory, "feature_runs", make)
  return {name: str(root / name) for name in made}


def test_each_kind_of_run_represents_images_by_what_it_learned(trained):
  images = data.load("mnist", "test", DATA_DIR or None)[0][:50]
  expected = {"ae": ("codes", 6), "vae": ("means of q(z|x)", 3), "bigan": ("E(x)", 100),
              "dcgan": ("D's penultimate features", 7 * 7 * 16)}
  for name, (what, dims) in expected.items():
    got, features = runs.representation(runs.load_run(trained[name], samplers_only=False), images)
    assert got == what and features.shape == (50, dims) and features.dtype == np.float32, name
    assert np.all(np.isfinite(features)) and features.std() > 0, name
    # one image's representation does not depend on the others in its batch
    np.testing.assert_allclose(runs.representation(runs.load_run(trained[name], samplers_only=False), images[3:4])[1],
                               features[3:4], rtol=1e-5, atol=1e-5)
  with pytest.raises(ConfigError, match="labels or z"):
    runs.representation(runs.load_run(trained["cgan"]), images)


def test_features_table_scores_every_run_the_same_way(trained, tmp_path):
  out = tmp_path / "features.json"
  pairs = ",".join(f"{name}={trained[name]}" for name in ("ae", "bigan"))
  data_args = [f"--data_dir={DATA_DIR}"] if DATA_DIR else []
  result = run_module("experiments.features", f"--runs={pairs}", f"--out={out}", "--max_examples=500",
                      "--probe_iterations=50", *data_args)
  assert result.returncode == 0, result.stderr
  table = json.loads(out.read_text())
  assert [r["name"] for r in table["rows"]] == ["raw pixels", "ae", "bigan"]
  for r in table["rows"]:
    assert 0.1 <= r["kmeans_accuracy"] <= 1 and 0 <= r["linear_probe_accuracy"] <= 1
  pixels = table["rows"][0]
  assert pixels["dims"] == 784 and pixels["linear_probe_accuracy"] > 0.7 and pixels["kmeans_accuracy"] > 0.35
  assert "| raw pixels: pixels in [0, 1] | 784 |" in result.stdout
  for bad, message in [("--runs=ae", "NAME=WORKDIR"), (f"--runs=a={trained['ae']},a={trained['vae']}", "must differ"),
                       ("--dataset=fashion_mnist --runs=ae=" + trained["ae"], "trained on mnist")]:
    result = run_module("experiments.features", *bad.split(), f"--out={tmp_path / 'bad.json'}", *data_args)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2 and len(errors) == 1 and message in errors[0], result.stderr
  assert not (tmp_path / "bad.json").exists()
