"""FID against training minutes for several GAN runs with in-training evaluation, one panel per dataset.

  python -m experiments.time_to_quality --out=results/time_to_quality.png \
      --run=mnist:DCGAN:runs/dcgan_fast --run=mnist:"MLP GAN":runs/gan_mlp_eval \
      --run=fashion_mnist:DCGAN:runs/dcgan_fast_fashion --run=fashion_mnist:"MLP GAN":runs/gan_mlp_fashion_eval

Each run's points are the "test_fid" records of its metrics.jsonl (written with
--eval_every_epochs or --config.eval_every_steps), placed at its training time
("train_seconds": evaluation and figures not counted). The dashed line is the
FID of as many real training images as the runs scored, against the test split.
Writes the PNG and OUT.json (the points and baselines).
"""

import collections
import os

from absl import app, flags

from experiments import cli
from gan_jax import evaluation, plots
from gan_jax.errors import ConfigError
from gan_jax.files import write_json
from gan_jax.train import MetricsLog

flags.DEFINE_multi_string("run", [], "DATASET:LABEL:WORKDIR, repeated")
flags.DEFINE_string("out", None, "output PNG path", required=True)
flags.DEFINE_string("data_dir", None, "directory holding <dataset>/*.gz (else $GAN_JAX_DATA_DIR, cache, registries)")


def main(argv):
  del argv

  def go():
    panels = collections.defaultdict(dict)
    samples = {}
    for spec in flags.FLAGS.run:
      parts = spec.split(":", 2)
      if len(parts) != 3:
        raise ConfigError(f"--run={spec!r} is not DATASET:LABEL:WORKDIR")
      dataset, label, workdir = parts
      records = MetricsLog(os.path.join(workdir, "metrics.jsonl")).read()
      scored = [r for r in records if "test_fid" in r]
      if not scored:
        raise ConfigError(f"{workdir} has no in-training FID records; train it with --eval_every_epochs=1")
      panels[dataset][label] = records
      samples[dataset] = scored[0]["test_num_samples"]
    if not panels:
      raise ConfigError("give at least one --run=DATASET:LABEL:WORKDIR")
    baselines = {}
    for dataset, n in samples.items():
      reference = evaluation.load_reference(dataset, flags.FLAGS.data_dir)
      baselines[dataset] = evaluation.real_baseline(reference, num_samples=n, memorization=False)["fid"]
    plots.plot_fid_against_minutes(dict(panels), flags.FLAGS.out, baselines)
    points = {d: {label: [{"train_minutes": plots.training_minutes(recs)[0][i], "epoch": r["epoch"],
                           "fid": r["test_fid"], "classes_covered": r.get("test_classes_covered")}
                          for i, r in enumerate(recs) if "test_fid" in r]
                  for label, recs in runs.items()} for d, runs in panels.items()}
    write_json(os.path.splitext(flags.FLAGS.out)[0] + ".json", {"baselines": baselines, "runs": points})
    print(f"wrote {flags.FLAGS.out}")

  cli.run_main(go)


if __name__ == "__main__":
  app.run(main)
