#!/usr/bin/env bash
# Issue 9: the DCGAN recipe search on MNIST, the chosen recipe's runs (seeds 0 and 1) and FID against training time.
# usage: bash results/run_issue9.sh search|final|time   (from the repository root; runs go to runs/, as results/lib.sh)
set -uo pipefail
cd "$(dirname "$0")/.."
source results/lib.sh

# The search's starting point, spelled out (it was the first `fast` recipe): G 7x7x128 -> 14x14x64 -> 28x28x1,
# D 64 -> 128, 4x4 kernels, LeakyReLU 0.2, batch 64, Adam 2e-4 (beta1 0.5), D dropout 0.3, FID every epoch.
BASE="--config.generator_features=(128,64) --config.discriminator_features=(64,128) --config.kernel_size=4
  --config.leaky_relu_slope=0.2 --batch_size=64 --optimizer=dcgan_paper --d_dropout=0.3 --eval_every_epochs=1
  --config.g_ema_decay=0 --config.num_epochs=1 --config.log_every_steps=10 --config.checkpoint_every_steps=1000"
# One search run: 1 epoch (2 where --num_epochs=2 resumes it), FID of 2,000 samples every half epoch.
# Kept in results/search/NAME: config.json, metrics.jsonl and the last sample grid (python results/search_table.py).
search() {
  name=$1; shift
  python -m experiments.dcgan --workdir=runs/search/$name $D $BASE "$@"
  mkdir -p results/search/$name
  cp runs/search/$name/config.json runs/search/$name/metrics.jsonl "$(ls runs/search/$name/samples_epoch_*.png | tail -1)" results/search/$name/
}
# The later rows start from the best point found so far: batch 16, Adam 8e-4, moving-average G.
E="--batch_size=16 --d_dropout=0 --optimizer=adam --config.learning_rate=8e-4 --config.b1=0.5 --config.g_ema_decay=0.999 --config.eval_every_steps=1875"

case ${1:-} in
search)
  search base           --config.eval_every_steps=0   # (made as runs/probe_a, before the flag existed)
  search nodrop          --d_dropout=0 --config.eval_every_steps=469
  search bnd             --d_dropout=0 --config.d_batch_norm=true --config.eval_every_steps=469
  search b32             --d_dropout=0 --batch_size=32 --config.eval_every_steps=938
  search b16             --d_dropout=0 --batch_size=16 --config.eval_every_steps=1875
  search b8              --d_dropout=0 --batch_size=8 --config.eval_every_steps=3750
  search b16_drop        --batch_size=16 --config.eval_every_steps=1875
  search b16_bnd         --batch_size=16 --d_dropout=0 --config.d_batch_norm=true --config.eval_every_steps=1875
  search b16_slope03     --batch_size=16 --d_dropout=0 --config.leaky_relu_slope=0.3 --config.eval_every_steps=1875
  search b16_k5          --batch_size=16 --d_dropout=0 --config.kernel_size=5 --config.eval_every_steps=1875
  search b16_ls          --batch_size=16 --d_dropout=0 --config.label_smoothing=0.1 --config.eval_every_steps=1875
  search b16_kd2         --batch_size=16 --d_dropout=0 --k_d_steps=2 --config.eval_every_steps=938
  search b16_wide        --batch_size=16 --d_dropout=0 --config.generator_features="(256,128)" --config.eval_every_steps=1875
  search b16_narrow      --batch_size=16 --d_dropout=0 --config.generator_features="(64,32)" --config.discriminator_features="(32,64)" --config.eval_every_steps=1875
  search b16_tutopt      --batch_size=16 --d_dropout=0 --optimizer=tutorial --config.eval_every_steps=1875
  search b16_ttur        --batch_size=16 --d_dropout=0 --optimizer=adam --config.learning_rate=1e-4 --config.d_learning_rate=4e-4 --config.b1=0.5 --config.eval_every_steps=1875
  search b16_lr4         --batch_size=16 --d_dropout=0 --optimizer=adam --config.learning_rate=4e-4 --config.b1=0.5 --config.eval_every_steps=1875
  search b16_lr8         --batch_size=16 --d_dropout=0 --optimizer=adam --config.learning_rate=8e-4 --config.b1=0.5 --config.eval_every_steps=1875
  search b8_lr4          --batch_size=8 --d_dropout=0 --optimizer=adam --config.learning_rate=4e-4 --config.b1=0.5 --config.eval_every_steps=3750
  search b8_lr4          --batch_size=8 --d_dropout=0 --optimizer=adam --config.learning_rate=4e-4 --config.b1=0.5 --config.eval_every_steps=3750 --num_epochs=2
  search b16_ema         --batch_size=16 --d_dropout=0 --config.g_ema_decay=0.999 --config.eval_every_steps=1875
  search b16_lr8_ema     $E
  search b16_lr8_ema     $E --num_epochs=2
  search b8_lr4_ema      --batch_size=8 --d_dropout=0 --optimizer=adam --config.learning_rate=4e-4 --config.b1=0.5 --config.g_ema_decay=0.999 --config.eval_every_steps=3750
  search e_gwide         $E --config.generator_features="(256,128)"
  search e_dwide         $E --config.discriminator_features="(128,256)"
  search e_lr16          $E --config.learning_rate=1.6e-3
  search e_kd2           $E --k_d_steps=2 --config.eval_every_steps=938
  search e_k5            $E --config.kernel_size=5
  search e_k5            $E --config.kernel_size=5 --num_epochs=2
  search e_k5_decay      $E --config.kernel_size=5 --config.lr_decay_epochs=2 --num_epochs=2
  search e_k5_ema9995    $E --config.kernel_size=5 --config.g_ema_decay=0.9995 --num_epochs=2
  search f_b8_k5         --batch_size=8 --d_dropout=0 --optimizer=adam --config.learning_rate=4e-4 --config.b1=0.5 --config.g_ema_decay=0.9995 --config.kernel_size=5 --config.eval_every_steps=3750 --num_epochs=2
  # Stopped early (see results/README.md): e_k5_gwide after half an epoch, e_k5_d3 at 79 images/s.
  search e_k5_gwide      $E --config.kernel_size=5 --config.generator_features="(256,128)" --num_epochs=2
  search e_k5_d3         $E --config.kernel_size=5 --config.discriminator_features="(64,128,256)" --num_epochs=2
  ;;
final)  # the README's main command with its defaults (the fast recipe), 2 epochs, seeds 0 and 1, then 10,000-sample scores
  for seed in 0 1; do
    run dcgan_fast_seed$seed experiments.dcgan --workdir=runs/dcgan_fast_seed$seed --num_epochs=2 --seed=$seed
    python -m experiments.evaluate --workdir=runs/dcgan_fast_seed$seed --data_dir=../shared/data
    cp runs/dcgan_fast_seed$seed/eval.json results/dcgan_fast_seed$seed/
  done
  ;;
time)  # FID against training minutes: the fast DCGAN against the MLP GAN, MNIST and Fashion-MNIST
  run dcgan_fast_fashion experiments.dcgan --workdir=runs/dcgan_fast_fashion --dataset=fashion_mnist --num_epochs=2
  run gan_mlp_mnist_ttq experiments.gan_mlp --workdir=runs/gan_mlp_mnist_ttq --num_epochs=20 --eval_every_epochs=1
  run gan_mlp_fashion_ttq experiments.gan_mlp --workdir=runs/gan_mlp_fashion_ttq --dataset=fashion_mnist --num_epochs=20 --eval_every_epochs=1
  python -m experiments.time_to_quality --out=results/time_to_quality.png --data_dir=../shared/data \
    --run="mnist:DCGAN (fast recipe):runs/dcgan_fast_seed0" --run="mnist:MLP GAN:runs/gan_mlp_mnist_ttq" \
    --run="fashion_mnist:DCGAN (fast recipe):runs/dcgan_fast_fashion" --run="fashion_mnist:MLP GAN:runs/gan_mlp_fashion_ttq"
  ;;
*) echo "usage: bash results/run_issue9.sh search|final|time" >&2; exit 2 ;;
esac
