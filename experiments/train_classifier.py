"""Trains the LeNet feature net of a dataset and writes its weights (the shipped files come from here).

  python -m experiments.train_classifier --dataset=mnist [--num_epochs=3] [--seed=0] \
      [--data_dir=DIR] [--out=gan_jax/assets/lenet_mnist.msgpack]

Deterministic: the same flags on the same machine write the same bytes. Prints
the test accuracy and the file's sha256, the value `gan_jax.feature_nets.SHA256`
must hold for the shipped file.
"""

from absl import app, flags

from experiments import cli
from gan_jax import feature_nets

flags.DEFINE_string("dataset", None, "mnist or fashion_mnist", required=True)
flags.DEFINE_integer("num_epochs", None,
                     f"training epochs (default {feature_nets.DEFAULT_EPOCHS['mnist']} for mnist, "
                     f"{feature_nets.DEFAULT_EPOCHS['fashion_mnist']} for fashion_mnist)")
flags.DEFINE_integer("seed", 0, "PRNG seed of the initial params, dropout and data order")
flags.DEFINE_string("data_dir", None, "directory holding <dataset>/*.gz (else $GAN_JAX_DATA_DIR, cache, registries)")
flags.DEFINE_string("out", None, "output file (default: the shipped gan_jax/assets/lenet_<dataset>.msgpack)")


def train_and_save(dataset: str, num_epochs, seed: int, data_dir, out) -> tuple[float, str]:
  """Trains with `feature_nets.train`, writes the params to `out` (None: the shipped path).

  Returns:
    (test accuracy, sha256 hexdigest of the file).
  Raises:
    ConfigError: unknown dataset or num_epochs < 1; DataError: data not obtainable.
  """
  out = feature_nets.asset_path(dataset) if out is None else out
  params, test_accuracy = feature_nets.train(dataset, seed=seed, num_epochs=num_epochs, data_dir=data_dir)
  sha256 = feature_nets.save(params, out)
  print(f"wrote {out}")
  bar = feature_nets.MIN_TEST_ACCURACY[dataset]
  verdict = "meets" if test_accuracy >= bar else "is BELOW"
  print(f"{dataset} test accuracy {test_accuracy:.4f} ({verdict} the bar of {bar})")
  shipped = "the shipped one's" if sha256 == feature_nets.SHA256[dataset] else "differs from SHA256 in feature_nets.py"
  print(f"sha256 {sha256} ({shipped})")
  return test_accuracy, sha256


def main(argv):
  del argv
  f = flags.FLAGS
  cli.run_main(lambda: train_and_save(f.dataset, f.num_epochs, f.seed, f.data_dir, f.out))


if __name__ == "__main__":
  app.run(main)
