#!/usr/bin/env bash
# The VAE, autoencoder and toy runs of results/README.md, one after the other.
set -uo pipefail
cd "$(dirname "$0")/.."
source results/lib.sh
run vae_z2          experiments.vae --workdir=runs/vae_z2 --num_epochs=30
run vae_z20         experiments.vae --workdir=runs/vae_z20 --num_epochs=30 --latent_dim=20
run autoencoder_l2  experiments.autoencoder --workdir=runs/autoencoder_l2 --num_epochs=20
run dae_mask_bce_tied experiments.autoencoder --workdir=runs/dae_mask_bce_tied --num_epochs=20 --corruption=mask --corruption_level=0.3 --recon_loss=bce --tied_weights
echo "== toy"; /usr/bin/time -f "toy wall %e s" python -m experiments.toy --workdir=runs/toy && bash results/collect.sh runs/toy toy
