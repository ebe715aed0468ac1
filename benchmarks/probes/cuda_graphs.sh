#!/usr/bin/env bash
# Issue 23, criterion 5, in one device call: the CUDA-graph tests, the host-overhead rows
# (`--small`: kernel[grid], CompiledKernel.run, the empty-kernel floor, CUDA-graph replays),
# then the earlier GPU tests the change touches (custom-op graph capture, bounds flags).
# From the repo root on the GPU machine (carry .whl):
#   bash benchmarks/probes/cuda_graphs.sh 2>&1 | tee $OUT/graphs.log | tail -80
# Writes $OUT/small/small.{json,md} and $OUT/tests.log, $OUT/regress.log. Stages: tests, small,
# regress (default: all three, within 10 minutes).
set -u
cd "$(dirname "$0")/../.."
source benchmarks/probes/device_setup.sh

stages=("$@")
[ $# -eq 0 ] && stages=(tests small regress)
for stage in "${stages[@]}"; do
    echo "== stage $stage $(date +%T)"
    case $stage in
    tests)
        timeout 200 python3 -m pytest -q -p no:cacheprovider -rs \
            tests/gpu/test_gpu_13_cuda_graphs.py 2>&1 | tee "$OUT/tests.log" | tail -30
        ;;
    small)
        timeout 200 python3 -m benchmarks.run --small --out "$OUT/small" 2>&1 | \
            grep -v "^  warnings.warn\|UserWarning" | tail -30
        tail -20 "$OUT/small/small.md"
        ;;
    regress)
        timeout 150 python3 -m pytest -q -p no:cacheprovider -rs \
            tests/gpu/test_gpu_2_custom_op.py::test_cuda_graph_capture \
            tests/gpu/test_gpu_2_custom_op.py::test_cuda_graph_capture_and_replay \
            tests/gpu/test_gpu_6_index_bounds.py 2>&1 | tee "$OUT/regress.log" | tail -20
        ;;
    esac
done
echo "== done $(date +%T)"
