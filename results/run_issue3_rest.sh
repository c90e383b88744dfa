#!/usr/bin/env bash
# The rest of issue 3's rows: the full-covariance VAE, Fashion-MNIST, LSGAN on the DCGAN architecture
# (one epoch each: ~2.5 s a step on this CPU), and the binarized VAE of issue 4.
set -uo pipefail
cd "$(dirname "$0")/.."
source results/lib.sh
run vae_full_z20          experiments.vae --workdir=runs/vae_full_z20 --num_epochs=30 --latent_dim=20 --posterior=full
run vae_fashion_z20       experiments.vae --workdir=runs/vae_fashion_z20 --num_epochs=30 --latent_dim=20 --dataset=fashion_mnist
run lsgan_dcgan_pearson   experiments.lsgan --workdir=runs/lsgan_dcgan_pearson --num_epochs=1 --ls_coding=pearson
run lsgan_dcgan_zero_one  experiments.lsgan --workdir=runs/lsgan_dcgan_zero_one --num_epochs=1 --ls_coding=zero_one
run gan_mlp_fashion       experiments.gan_mlp --workdir=runs/gan_mlp_fashion --num_epochs=5 --dataset=fashion_mnist --eval_every_epochs=1 --config.checkpoint_every_steps=600 --config.keep_checkpoints=100
run dcgan_fashion         experiments.dcgan --workdir=runs/dcgan_fashion --num_epochs=2 --dataset=fashion_mnist --config.checkpoint_every_steps=117 --config.keep_checkpoints=100
run dae_fashion           experiments.autoencoder --workdir=runs/dae_fashion --num_epochs=5 --dataset=fashion_mnist --corruption=mask --corruption_level=0.3 --recon_loss=bce
run vae_binarized_z20     experiments.vae --workdir=runs/vae_binarized_z20 --num_epochs=30 --latent_dim=20 --binarize
