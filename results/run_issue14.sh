#!/usr/bin/env bash
# Issue 14, second part: InfoGAN and BiGAN on MNIST and Fashion-MNIST, the runs of the unsupervised
# features table, and the table itself (results/features_<dataset>.json, results/README.md).
# usage: bash results/run_issue14.sh train|table   (from the repository root; runs go to runs/, as results/lib.sh)
# Every `run` resumes when rerun. `train` took about 100 minutes on the 2-core CPU, two runs at a time.
set -uo pipefail
cd "$(dirname "$0")/.."
source results/lib.sh
BIGAN="--bigan --config.learning_rate=2e-4 --config.b1=0.5"  # the fast recipe's Adam 8e-4, beta1 0 diverged at step 2,000

case ${1:-} in
train)
  run dcgan_infogan experiments.dcgan --workdir=runs/dcgan_infogan --conditioning=infogan
  for seed in 1 2; do
    run dcgan_infogan_seed$seed experiments.dcgan --workdir=runs/dcgan_infogan_seed$seed --conditioning=infogan --seed=$seed
  done
  run dcgan_bigan experiments.dcgan --workdir=runs/dcgan_bigan $BIGAN
  for ds in mnist fashion_mnist; do
    run features_ae_$ds experiments.autoencoder --workdir=runs/features_ae_$ds --num_epochs=20 --dataset=$ds
    run features_dae_$ds experiments.autoencoder --workdir=runs/features_dae_$ds --num_epochs=20 --corruption=mask \
      --corruption_level=0.3 --recon_loss=bce --tied_weights --dataset=$ds
    run features_vae_$ds experiments.vae --workdir=runs/features_vae_$ds --num_epochs=30 --latent_dim=20 --dataset=$ds
    run features_dcgan_$ds experiments.dcgan --workdir=runs/features_dcgan_$ds --dataset=$ds
  done
  run dcgan_infogan_fashion experiments.dcgan --workdir=runs/dcgan_infogan_fashion --conditioning=infogan \
    --dataset=fashion_mnist
  run dcgan_bigan_fashion experiments.dcgan --workdir=runs/dcgan_bigan_fashion $BIGAN --dataset=fashion_mnist
  run features_dcgan_1step_mnist experiments.dcgan --workdir=runs/features_dcgan_1step_mnist --max_steps=1 \
    --config.eval_every_epochs=0  # the control: D's features after one step
  ;;
table)
  python -m experiments.features --dataset=mnist --data_dir=../shared/data --out=results/features_mnist.json \
    --runs=AE=runs/features_ae_mnist,DAE=runs/features_dae_mnist,VAE=runs/features_vae_mnist,BiGAN=runs/dcgan_bigan,DCGAN=runs/features_dcgan_mnist,InfoGAN=runs/dcgan_infogan
  python -m experiments.features --dataset=fashion_mnist --data_dir=../shared/data --out=results/features_fashion_mnist.json \
    --runs=AE=runs/features_ae_fashion_mnist,DAE=runs/features_dae_fashion_mnist,VAE=runs/features_vae_fashion_mnist,BiGAN=runs/dcgan_bigan_fashion,DCGAN=runs/features_dcgan_fashion_mnist,InfoGAN=runs/dcgan_infogan_fashion
  python -m experiments.features --dataset=mnist --data_dir=../shared/data --out=results/features_mnist_control.json \
    --runs=DCGAN_1_step=runs/features_dcgan_1step_mnist
  ;;
*) echo "usage: bash results/run_issue14.sh train|table" >&2; exit 2 ;;
esac
