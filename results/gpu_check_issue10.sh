#!/usr/bin/env bash
# Issue 10's GPU check, run on a lent GPU machine through the workplace's device tool, from the repository root:
# the DCGAN for a few hundred steps with --accelerator=gpu under --parallelism=sharding and pmap (images/s of the
# logged windows after the first), then benchmarks.run on the same GPU (gan_jax against PyTorch, alternating).
# Needs the MNIST files in $DATA (default .gpudata) and, where ml-collections is missing, its wheel in .whl/.
set -uo pipefail
DATA=${DATA:-.gpudata}
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:.
else
  export PYTHONPATH=.
fi
export XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
nvidia-smi -L
python3 -c "import jax, torch; print('jax', jax.__version__, jax.devices(), 'torch', torch.__version__)"
rate() {  # median images/s over the logged windows after the first (compilation)
  python3 - "$1" <<'PY'
import json, statistics, sys
r = [json.loads(l)["images_per_sec"] for l in open(sys.argv[1] + "/metrics.jsonl") if "images_per_sec" in l][1:]
print(f"{sys.argv[1]}: median {statistics.median(r):.0f} images/s over {len(r)} windows (min {min(r):.0f}, max {max(r):.0f})")
PY
}
for par in sharding pmap; do
  python3 -m experiments.dcgan --workdir=/tmp/gpu_tutorial_$par --recipe=tf_tutorial --accelerator=gpu \
    --parallelism=$par --max_steps=200 --data_dir=$DATA --config.log_every_steps=20 --config.show_progress=false \
    --config.sample_every_epochs=100 > /tmp/gpu_tutorial_$par.log 2>&1 && rate /tmp/gpu_tutorial_$par \
    || tail -20 /tmp/gpu_tutorial_$par.log
  python3 -m experiments.dcgan --workdir=/tmp/gpu_fast_$par --accelerator=gpu --parallelism=$par --max_steps=600 \
    --data_dir=$DATA --config.log_every_steps=100 --config.show_progress=false --config.eval_every_epochs=0 \
    --config.sample_every_epochs=100 > /tmp/gpu_fast_$par.log 2>&1 && rate /tmp/gpu_fast_$par \
    || tail -20 /tmp/gpu_fast_$par.log
done
python3 -m benchmarks.run --device=gpu --cases=dcgan_tutorial_autodiff,dcgan_tutorial,dcgan_fast_b16,matmul \
  --rounds=3 --window_seconds=2 --data_dir=$DATA --out=$OUT/benchmarks_gpu.md 2>&1 | grep -v "^W0\|Warning"
