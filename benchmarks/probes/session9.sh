#!/usr/bin/env bash
# Device calls of the ninth session, by stage, each inside one 10-minute call. From the repo
# root on the GPU machine (carry .whl and build/helion):
#   bash benchmarks/probes/session9.sh diag tests 2>&1 | tee $OUT/session9-a.log
# diag: why a binary compiled without the GPU is compiled again by the GPU process;
# tests: tests/gpu (inline asm, spill check, target compile, index bounds, autotune);
# some: the Helion examples changed since the last GPU table; helion: the whole table;
# cold: first calls from config tables and a precompiled Triton cache (issue 22);
# sum: sum 4096x8192's code and torch.compile's (issue 23); gla: the examples fixed today;
# cross_entropy with checks on and off is session8.sh's stage ce.
set -u
cd "$(dirname "$0")/../.."
source benchmarks/probes/device_setup.sh

for stage in "$@"; do
    echo "== stage $stage $(date +%T)"
    case $stage in
    diag)
        timeout 100 python3 -m benchmarks.probes.target_cache_diag 2>&1 | tail -80
        ;;
    tests)
        timeout 240 python3 -m pytest -q -p no:cacheprovider tests/gpu/test_gpu_10_inline_asm.py \
            tests/gpu/test_gpu_11_concat_and_warn.py tests/gpu/test_gpu_12_shared_memory.py \
            tests/gpu/test_gpu_9_spill_check.py tests/gpu/test_gpu_7_target_compile.py \
            tests/gpu/test_gpu_6_index_bounds.py tests/gpu/test_gpu_4_autotune.py 2>&1 | tail -30
        ;;
    some)
        timeout 150 python3 -m benchmarks.helion_examples --device cuda --helion-repo build/helion \
            --jobs 4 --timeout 120 --out "$OUT/helion-some.md" nvfp4_gemv welford \
            acfs/softmax_acf jagged_hstu_attn 2>&1 | tail -20
        ;;
    helion)
        timeout 240 python3 -m benchmarks.helion_examples --device cuda --helion-repo build/helion \
            --jobs 12 --timeout 150 --out "$OUT/helion-examples.md" 2>&1 | tail -20
        ;;
    cold)
        timeout 200 python3 -m benchmarks.aot_cold_start --device cuda --md "$OUT/cold-start.md"
        ;;
    sum)
        timeout 150 python3 -m benchmarks.probes.sum_codegen 2>&1 | tee "$OUT/sum-codegen.log" | \
            grep "^=="
        ;;
    gla)
        timeout 200 python3 -m benchmarks.helion_examples --device cuda --helion-repo build/helion \
            --jobs 4 --timeout 150 --out "$OUT/helion-gla.md" linear/example_full_gla \
            linear/example_retention linear/example_simple_gla linear/example_vanilla_linear_attn \
            acfs/softmax_acf jagged_hstu_attn 2>&1 | tail -20
        ;;
    esac
done
echo "== done $(date +%T)"
