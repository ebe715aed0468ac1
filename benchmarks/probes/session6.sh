#!/usr/bin/env bash
# One device call (sixth session): the cost of index checks now that affine indices are checked
# once before their loops (backends/triton/bounds.py), side by side with the checks off, plus
# the GPU tests. From the repo root on the GPU machine:
#   bash benchmarks/probes/session6.sh 2>&1 | tee $OUT/session6.log
set -u
cd "$(dirname "$0")/../.."
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 TRITON_INTERPRET=0
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)"
git log -1 --format='commit %H' 2>/dev/null || true
sha256sum kcompiler/backends/triton/bounds.py
probe() { timeout 240 python3 -m benchmarks.config_probe "$@"; }
cfg() { echo "{\"block_sizes\": [$1], \"num_warps\": $2, \"reduction_loops\": [$3]}"; }

for C in 1 0; do
    echo "== KCOMPILER_INDEX_CHECKS=$C"
    # --peer kcompiler: the bundled kernel (or wrapper) at its default config
    KCOMPILER_INDEX_CHECKS=$C probe jagged_mean --shape B=1024,L=2048,D=256 --peer kcompiler
    KCOMPILER_INDEX_CHECKS=$C timeout 240 python3 -m benchmarks.probes.jagged_configs \
        B=1024,L=2048,D=256 '{"block_sizes": [4, 32, 32], "num_warps": 4}' \
        '{"block_sizes": [2, 64, 32], "num_warps": 8}' '{"block_sizes": [1, 256, 16], "num_warps": 8}' \
        '{"block_sizes": [8, 32, 16], "num_warps": 8}'
    KCOMPILER_INDEX_CHECKS=$C probe embedding --shape B=8,T=2048,D=4096,V=131072 --peer kcompiler
    KCOMPILER_INDEX_CHECKS=$C probe cross_entropy --shape m=16384,n=32768 --peer kcompiler \
        --config "$(cfg 1 16 8192)"
    KCOMPILER_INDEX_CHECKS=$C probe cross_entropy --shape m=4096,n=128256 --dtype bf16 \
        --peer kcompiler
done

echo "== precompile cache diagnosis"
timeout 120 python3 -m benchmarks.probes.precompile_cache_diag 2>&1 | tail -20
echo "== GPU tests"
timeout 300 python3 -m pytest -q -p no:cacheprovider tests/gpu 2>&1 | tail -25
