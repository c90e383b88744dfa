#!/usr/bin/env bash
# Issue 13, item 5: the coursework's MLP GAN with and without D dropout 0.3, 100 epochs, 2 seeds.
# usage: bash results/run_issue13_mlp100.sh train|table   (from the repository root; RUNS=runs/mlp100)
# `train` resumes when rerun; each pair of runs took about 2 hours on the 2-core CPU (the two share it).
# `table` scores each finished run (experiments.evaluate, 10,000 samples) and writes results/issue13_mlp100/.
set -uo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-runs/mlp100}
D="--data_dir=../shared/data --config.show_progress=false"

case ${1:-} in
train)
  mkdir -p "$RUNS"
  for seed in 0 1; do
    for d in 0.3 0; do
      python -m experiments.gan_mlp --workdir="$RUNS/dropout${d}_seed$seed" --num_epochs=100 --d_dropout=$d \
        --seed=$seed --config.eval_every_epochs=10 --config.keep_checkpoints=2 $D >> "$RUNS/dropout${d}_seed$seed.log" 2>&1 &
    done
    wait
  done
  ;;
table)
  for run in "$RUNS"/dropout*_seed?; do
    [ -f "$run/eval.json" ] || python -m experiments.evaluate --workdir="$run" --data_dir=../shared/data
  done
  python results/issue13_mlp100.py --runs="$RUNS" --data_dir=../shared/data
  ;;
*) echo "usage: bash results/run_issue13_mlp100.sh train|table" >&2; exit 2 ;;
esac
