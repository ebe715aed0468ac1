#!/usr/bin/env bash
# Device calls of the eighth session, by stage, each inside one 10-minute call. From the repo
# root on the GPU machine (carry .whl and build/helion):
#   bash benchmarks/probes/session8.sh checks tests 2>&1 | tee $OUT/session8-a.log
#   bash benchmarks/probes/session8.sh helion cold 2>&1 | tee $OUT/session8-b.log
# checks: jagged_mean with index checks on and off (the number issue 20 still lacks);
# tests: tests/gpu; helion: Helion's examples on cuda (table to $OUT/helion-examples.md);
# cold: first-call CPU time with config tables (issue 22); tune: jagged_mean quick-tuned with
# checks on and off; some: the examples fixed after the first table, and test_gpu_7.
set -u
cd "$(dirname "$0")/../.."
source benchmarks/probes/device_setup.sh
sha256sum kcompiler/backends/triton/bounds.py kcompiler/backends/triton/codegen.py

for stage in "$@"; do
    echo "== stage $stage $(date +%T)"
    case $stage in
    checks)
        for C in 1 0 1 0; do
            echo "-- KCOMPILER_INDEX_CHECKS=$C"
            KCOMPILER_INDEX_CHECKS=$C timeout 150 python3 -m benchmarks.config_probe jagged_mean \
                --shape B=1024,L=2048,D=256 --peer kcompiler
            KCOMPILER_INDEX_CHECKS=$C timeout 150 python3 -m benchmarks.probes.jagged_configs \
                B=1024,L=2048,D=256 '{"block_sizes": [4, 32, 32], "num_warps": 4}' \
                '{"block_sizes": [2, 64, 32], "num_warps": 8}' \
                '{"block_sizes": [1, 256, 16], "num_warps": 8}' \
                '{"block_sizes": [8, 32, 16], "num_warps": 8}'
        done
        ;;
    tests)
        timeout 330 python3 -m pytest -q -p no:cacheprovider --deselect \
            tests/gpu/test_gpu_4_autotune.py::test_gpu_worker_compile_is_loaded_from_tritons_cache \
            tests/gpu 2>&1 | tail -30
        timeout 60 python3 -m pytest -q -p no:cacheprovider \
            tests/gpu/test_gpu_4_autotune.py::test_gpu_worker_compile_is_loaded_from_tritons_cache \
            2>&1 | tail -30
        timeout 60 python3 -m benchmarks.probes.precompile_cache_diag 2>&1 | tail -20
        ;;
    helion)
        timeout 170 python3 -m benchmarks.helion_examples --device cuda --helion-repo build/helion \
            --jobs 12 --timeout 100 --out "$OUT/helion-examples.md"
        ;;
    tune)
        # The anchor row as the benchmarks measure it: quick-tuned, checks on and off.
        for C in on off; do
            timeout 110 python3 -m benchmarks.run --kernels jagged_mean --impls kcompiler --quick \
                --index-checks $C --no-plots --out "$OUT/tune-$C-$RANDOM" 2>&1 | grep -v "^\s*$" | tail -6
        done
        ;;
    some)
        timeout 200 python3 -m benchmarks.helion_examples --device cuda --helion-repo build/helion \
            --jobs 4 --timeout 150 --out "$OUT/helion-some.md" grouped_gemm fp8_attention fp8_gemm \
            fp8_matmul
        timeout 120 python3 -m benchmarks.probes.target_cache_diag 2>&1 | tail -80
        ;;
    gputests)
        timeout 150 python3 -m pytest -q -p no:cacheprovider tests/gpu/test_gpu_9_spill_check.py \
            tests/gpu/test_gpu_6_index_bounds.py tests/gpu/test_gpu_4_autotune.py 2>&1 | tail -25
        ;;
    ce)
        # cross_entropy's target check now records at once (before its chunked loop).
        for C in 1 0; do
            echo "-- KCOMPILER_INDEX_CHECKS=$C"
            KCOMPILER_INDEX_CHECKS=$C timeout 40 python3 -m benchmarks.config_probe cross_entropy \
                --shape m=16384,n=32768 --peer kcompiler \
                --config '{"block_sizes": [1], "num_warps": 16, "reduction_loops": [8192]}'
            KCOMPILER_INDEX_CHECKS=$C timeout 40 python3 -m benchmarks.config_probe cross_entropy \
                --shape m=4096,n=128256 --dtype bf16 --peer kcompiler
        done
        timeout 60 python3 -m pytest -q -p no:cacheprovider tests/gpu/test_gpu_9_spill_check.py \
            2>&1 | tail -15
        ;;
    diag)
        timeout 100 python3 -m benchmarks.probes.target_cache_diag 2>&1 | tail -80
        ;;
    cold)
        timeout 150 python3 -m benchmarks.aot_cold_start --md "$OUT/cold-start.md"
        ;;
    esac
done
echo "== done $(date +%T)"
