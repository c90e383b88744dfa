"""Prints results/README.md's scores table (markdown) from results/*/eval.json and results/baselines/.

  python results/table.py

Rows: the baselines, then MNIST runs, then Fashion-MNIST runs; epochs are the
run's config.json num_epochs. Wall times come from results/wall_times.log, the
"NAME wall SECONDS s" lines the run batches (results/lib.sh) print; a run
trained in several sittings has several.
"""

import collections
import glob
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
COLUMNS = ("FID", "classifier score", "KID", "precision", "recall", "classes", "memorization", "1-NN acc.")


def wall_times() -> dict:
  total = collections.defaultdict(float)
  path = os.path.join(HERE, "wall_times.log")
  if os.path.exists(path):
    for line in open(path):
      parts = line.split()
      if len(parts) == 4 and parts[1] == "wall":
        total[parts[0]] += float(parts[2])
  return total


def cells(s: dict) -> list:
  return [f"{s['fid']:.2f}", f"{s['classifier_score']:.2f}", f"{s['kid']:.3g} ± {s['kid_stderr']:.2g}",
          f"{s['precision']:.3f}", f"{s['recall']:.3f}", str(s["classes_covered"]),
          f"{s['memorization_ratio']:.3f}" if "memorization_ratio" in s else "", f"{s['one_nn_accuracy']:.3f}"]


def main() -> None:
  walls = wall_times()
  print("| run | dataset | epochs | " + " | ".join(COLUMNS) + " | train wall time | ELBO / IWAE log p(x) (nats) |")
  print("|---" * (len(COLUMNS) + 5) + "|")
  for path in sorted(glob.glob(os.path.join(HERE, "baselines", "*.eval.json")), key=lambda p: "fashion" in p):
    result = json.load(open(path))
    print(f"| real vs real (10,000 training images) | {result['dataset']} | | " + " | ".join(cells(result["scores"]))
          + " | | |")
  runs = [(json.load(open(path)), os.path.dirname(path)) for path in glob.glob(os.path.join(HERE, "*", "eval.json"))]
  for result, run_dir in sorted(runs, key=lambda r: (r[0]["dataset"] != "mnist", os.path.basename(r[1]))):
    name = os.path.basename(run_dir)
    epochs = json.load(open(os.path.join(run_dir, "config.json")))["num_epochs"]
    s = result["scores"]
    wall = f"{walls[name] / 60:.1f} min" if name in walls else ""
    likelihood = ""
    if "test_log_likelihood" in s:
      likelihood = (f"{s['test_elbo']:.1f} / {s['test_log_likelihood']:.1f}"
                    + (" (binarized)" if s.get("binarized") else ""))
    print(f"| `{name}` | {result['dataset']} | {epochs} | " + " | ".join(cells(s)) + f" | {wall} | {likelihood} |")


if __name__ == "__main__":
  main()
