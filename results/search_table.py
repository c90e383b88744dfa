"""Prints the DCGAN recipe-search table of results/README.md from results/search/*/ (issue 9).

  python results/search_table.py

One row per run of `bash results/run_issue9.sh search`: what it changes from the
search's starting point (read from its config.json), then, at each in-training
evaluation (2,000 samples, against the test split), the FID, the classes covered
and the recall, and the training minutes (train_seconds: evaluation not counted)
with the median images/s of the run's logging windows.
"""

import glob
import json
import os
import statistics

HERE = os.path.dirname(os.path.abspath(__file__))
# The search's starting point: the first `fast` recipe (results/run_issue9.sh, BASE).
BASE = dict(generator_features=[128, 64], discriminator_features=[64, 128], kernel_size=4, leaky_relu_slope=0.2,
            batch_size=64, optimizer="dcgan_paper", learning_rate=2e-4, b1=0.5, d_dropout=0.3, d_batch_norm=False,
            label_smoothing=0.0, k_d_steps=1, d_learning_rate=0.0, g_ema_decay=0.0, lr_decay_epochs=0)
SHORT = dict(generator_features="G", discriminator_features="D", kernel_size="kernel", leaky_relu_slope="slope",
             batch_size="batch", d_dropout="D dropout", d_batch_norm="D BatchNorm", label_smoothing="label smoothing",
             k_d_steps="k", d_learning_rate="D lr", g_ema_decay="G EMA", lr_decay_epochs="lr decay epochs")


DEFAULT_FEATURES = dict(generator_features=[256, 128, 64], discriminator_features=[64, 128])  # () means these


def changes(config: dict) -> str:
  config = {**config, **{k: v for k, v in DEFAULT_FEATURES.items() if not config.get(k)}}
  if config["optimizer"] != BASE["optimizer"]:
    opt = config["optimizer"]
    text = ["Adam 1e-4 (tutorial)" if opt == "tutorial" else f"Adam {config['learning_rate']:g}"]
  else:
    text = []
  for name, short in SHORT.items():
    if config.get(name, BASE[name]) != BASE[name]:
      value = config[name]
      text.append(f"{short} {tuple(value) if isinstance(value, list) else value}")
  return ", ".join(text) or "(starting point)"


def main() -> None:
  print("| run | change from the starting point | FID at epoch 0.5 / 1 / 1.5 / 2 (2,000 samples) | classes | recall "
        "| training minutes | images/s |")
  print("|---|---|---|---|---|---|---|")
  rows = []
  for path in sorted(glob.glob(os.path.join(HERE, "search", "*", "metrics.jsonl"))):
    directory = os.path.dirname(path)
    records = [json.loads(line) for line in open(path)]
    config = json.load(open(os.path.join(directory, "config.json")))
    scored = [r for r in records if "test_fid" in r]
    if not scored:
      continue
    by_epoch = {round(float(r["epoch"]), 1): r for r in scored}
    fids = " / ".join(f"{by_epoch[e]['test_fid']:.1f}" if e in by_epoch else "-" for e in (0.5, 1.0, 1.5, 2.0))
    last = scored[-1]
    rate = statistics.median(r["images_per_sec"] for r in records if "images_per_sec" in r)
    if "train_seconds" in last:
      minutes = f"{last['train_seconds'] / 60:.1f}"
    else:  # made before train_seconds existed: wall clock, evaluation included
      minutes = f"{(last['time'] - records[0]['time']) / 60:.1f} (wall)"
    rows.append((last["test_fid"], f"| `{os.path.basename(directory)}` | {changes(config)} | {fids} | "
                 f"{last['test_classes_covered']} | {last['test_recall']:.2f} | {minutes} | "
                 f"{rate:.0f} |"))
  for _, row in sorted(rows, key=lambda r: -r[0]):
    print(row)


if __name__ == "__main__":
  main()
