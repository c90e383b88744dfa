#!/usr/bin/env bash
# Issue 4's table: scores every GAN and VAE run of results/ (10,000 samples, seed 0) with experiments.evaluate,
# the real-vs-real baselines, and FID against epoch for the runs with per-epoch checkpoints.
# usage: bash results/run_issue4_eval.sh [NAME...|baselines]   (default: the baselines and every run below in runs/)
set -uo pipefail
cd "$(dirname "$0")/.."
D="--data_dir=../shared/data"
ev() {  # ev NAME ARGS...: score runs/NAME, copy its eval files into results/NAME
  name=$1; shift
  [ -d "runs/$name/checkpoints" ] || { echo "== skip $name (no run)"; return; }
  echo "== eval $name $*"
  /usr/bin/time -f "eval $name %e s" python -m experiments.evaluate --workdir="runs/$name" --nobaseline $D "$@" \
    && mkdir -p "results/$name" && cp runs/"$name"/eval*.json "results/$name/" \
    && { [ ! -e "runs/$name/fid_by_epoch.png" ] || cp "runs/$name/fid_by_epoch.png" "results/$name/"; }
}
baseline() {  # baseline DATASET: 10,000 training images (seed 0) scored against the test split
  mkdir -p results/baselines runs/baselines
  python -c "
import numpy as np; from gan_jax import data
x, _ = data.load('$1', 'train', data_dir='../shared/data')
idx = np.random.default_rng(0).choice(len(x), 10000, replace=False)
np.savez_compressed('runs/baselines/$1_train.npz', images=x[idx])"
  python -m experiments.evaluate --samples="runs/baselines/$1_train.npz" --dataset="$1" --nobaseline $D \
    && cp "runs/baselines/$1_train.eval.json" "results/baselines/$1.eval.json"
}
names=("$@")
if [ "${names[0]:-}" == "baselines" ]; then baseline mnist; baseline fashion_mnist; exit; fi
if [ ${#names[@]} -eq 0 ]; then
  baseline mnist; baseline fashion_mnist
  names=(dcgan_mnist gan_mlp_dropout gan_mlp_no_dropout gan_mlp_minimax lsgan_mlp_pearson lsgan_mlp_zero_one
         lsgan_dcgan_pearson lsgan_dcgan_zero_one vae_z2 vae_z20 vae_full_z20 vae_binarized_z20
         gan_mlp_fashion dcgan_fashion vae_fashion_z20)
fi
for name in "${names[@]}"; do
  case $name in
    vae_binarized_*) ev "$name" --binarize ;;
    *) ev "$name" ;;  # VAEs add the IWAE with K = 1000 on all 10,000 test images: ~10 min on 2 cores
  esac
done
# FID against epoch (2,000 samples per checkpoint) for the runs that kept their checkpoints.
for name in gan_mlp_dropout dcgan_mnist dcgan_fashion; do
  [ -d "runs/$name/checkpoints" ] && [[ " ${names[*]} " == *" $name "* ]] || continue
  echo "== fid by epoch $name"
  python -m experiments.evaluate --workdir="runs/$name" --all_checkpoints --num_samples=2000 $D \
    && cp "runs/$name/eval_by_step.json" "runs/$name/fid_by_epoch.png" "results/$name/"
done
