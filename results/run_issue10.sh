#!/usr/bin/env bash
# Issue 10: the quality check of mixed precision: the README's main command (the fast recipe, 2 epochs) with
# --precision=bfloat16, then 10,000-sample scores, beside the float32 runs of results/dcgan_fast_seed{0,1}.
# usage: bash results/run_issue10.sh bf16   (from the repository root; runs go to runs/, as results/lib.sh)
set -uo pipefail
cd "$(dirname "$0")/.."
source results/lib.sh

case ${1:-} in
bf16)
  for seed in 0; do
    run dcgan_fast_bf16_seed$seed experiments.dcgan --workdir=runs/dcgan_fast_bf16_seed$seed --num_epochs=2 \
      --seed=$seed --precision=bfloat16
    python -m experiments.evaluate --workdir=runs/dcgan_fast_bf16_seed$seed --data_dir=../shared/data
    cp runs/dcgan_fast_bf16_seed$seed/eval.json results/dcgan_fast_bf16_seed$seed/
  done
  ;;
*) echo "usage: bash results/run_issue10.sh bf16" >&2; exit 2 ;;
esac
