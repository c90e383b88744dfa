#!/usr/bin/env bash
# Issue 13's GPU run, through the workplace's device tool, from the repository root (see results/gpu_issue13.py).
# Needs the MNIST and Fashion-MNIST files in .gpudata/ and, for packages the machine lacks, their wheels in .whl/.
set -uo pipefail
OUT=${OUT:-/tmp/issue13_out}
mkdir -p /tmp/site
for spec in tensorboardX:tensorboardX protobuf:google.protobuf ml_collections:ml_collections tqdm:tqdm \
            scikit_learn:sklearn joblib:joblib threadpoolctl:threadpoolctl; do
  wheel=${spec%%:*} module=${spec##*:}
  file=$(ls .whl | grep -i "^${wheel}-" | head -1)
  PYTHONPATH=/tmp/site python3 -c "import $module" 2>/dev/null || { echo "installing $file"; python3 -m pip install -q \
    --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site ".whl/$file" 2>&1 | grep -v WARNING ; }
done
export PYTHONPATH=/tmp/site:. XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
nvidia-smi -L
python3 -c "import jax, gan_jax.experiment, tensorboardX, sklearn; print('jax', jax.__version__, jax.devices())" || exit 1
python3 results/gpu_issue13.py --out=$OUT --data_dir=.gpudata --minutes=${MINUTES:-3.5} --mlp_minutes=${MLP_MINUTES:-5} \
  --deadline_s=${DEADLINE_S:-370} "$@"
