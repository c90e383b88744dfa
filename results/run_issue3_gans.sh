#!/usr/bin/env bash
# The GAN runs of results/README.md, one after the other (each resumable: rerun to continue).
# MLP GANs keep a checkpoint per epoch (600 steps) so FID against epoch can be scored afterwards.
set -uo pipefail
cd "$(dirname "$0")/.."
source results/lib.sh
E="--config.checkpoint_every_steps=600 --config.keep_checkpoints=100"
run gan_mlp_dropout       experiments.gan_mlp --workdir=runs/gan_mlp_dropout --num_epochs=20 $E
run gan_mlp_no_dropout    experiments.gan_mlp --workdir=runs/gan_mlp_no_dropout --num_epochs=20 --d_dropout=0 $E
run gan_mlp_minimax       experiments.gan_mlp --workdir=runs/gan_mlp_minimax --num_epochs=10 --loss=minimax $E
run lsgan_mlp_pearson     experiments.lsgan --workdir=runs/lsgan_mlp_pearson --num_epochs=10 --arch=mlp --optimizer=adam --batch_size=100 --ls_coding=pearson $E
run lsgan_mlp_zero_one    experiments.lsgan --workdir=runs/lsgan_mlp_zero_one --num_epochs=10 --arch=mlp --optimizer=adam --batch_size=100 --ls_coding=zero_one $E
