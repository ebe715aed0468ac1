#!/usr/bin/env bash
# One device call (fifth session): A/B of two codegen settings on kcompiler's own code, side by
# side in one run, plus the GPU test of index bounds. From the repo root on the GPU machine:
#   bash benchmarks/probes/session5.sh 2>&1 | tee $OUT/session5.log
#   KCOMPILER_PEEL_TAIL 1/0: ragged chunk loops peeled or masked (cross_entropy bf16 128256
#     and softmax fp32 12544 are the anchors whose widths no chunk divides);
#   KCOMPILER_INDEX_CHECKS 1/0: the bounds checks of computed indices (embedding, cross_entropy
#     targets, jagged offsets) on or off.
set -u
cd "$(dirname "$0")/../.."
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)"
probe() { timeout 240 python3 -m benchmarks.config_probe "$@"; }
cfg() { echo "{\"block_sizes\": [$1], \"num_warps\": $2, \"reduction_loops\": [$3]}"; }

for P in 1 0; do
    echo "== KCOMPILER_PEEL_TAIL=$P"
    peers=()
    [ "$P" = 1 ] && peers=(--peer compile --peer liger)
    KCOMPILER_PEEL_TAIL=$P probe cross_entropy --shape m=4096,n=128256 --dtype bf16 "${peers[@]}" \
        --config "$(cfg 1 16 4096)" --config "$(cfg 1 8 4096)" --config "$(cfg 1 16 8192)" \
        --config "$(cfg 1 32 16384)" --config "$(cfg 1 8 2048)"
    KCOMPILER_PEEL_TAIL=$P probe softmax --shape m=4096,n=12544 "${peers[@]}" \
        --config "$(cfg 1 16 4096)" --config "$(cfg 1 8 2048)" --config "$(cfg 1 16 8192)" \
        --config "$(cfg 1 16 null)"
done

for C in 1 0; do
    echo "== KCOMPILER_INDEX_CHECKS=$C"
    # --peer kcompiler: the bundled kernel (or wrapper) at its default config
    KCOMPILER_INDEX_CHECKS=$C probe embedding --shape B=8,T=2048,D=4096,V=131072 --peer kcompiler
    KCOMPILER_INDEX_CHECKS=$C probe cross_entropy --shape m=16384,n=32768 --peer kcompiler \
        --config "$(cfg 1 16 8192)"
    KCOMPILER_INDEX_CHECKS=$C probe cross_entropy --shape m=4096,n=128256 --dtype bf16 \
        --peer kcompiler
    KCOMPILER_INDEX_CHECKS=$C probe jagged_mean --shape B=1024,L=2048,D=256 --peer kcompiler
done

echo "== GPU tests: index bounds"
timeout 180 python3 -m pytest -q -p no:cacheprovider tests/gpu/test_gpu_6_index_bounds.py 2>&1 | tail -15
echo "== hand-written reduction variants"
timeout 200 python3 -m benchmarks.probes.reduction_variants ce sum
