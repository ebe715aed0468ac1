#!/usr/bin/env bash
# Device calls of issue 22's sessions (the tenth and later), by stage, each inside one
# 10-minute call. From the repo root on the GPU machine (carry .whl):
#   KERNELS=vector_add,sum bash benchmarks/probes/session10.sh regret cold 2>&1 | tee $OUT/a.log
# regret: benchmarks/aot_regret over $KERNELS (default: all nine bundled kernels, stopped
# after $REGRET_S seconds: 540, the call's 600 less setup and the tar; each kernel's files
# are written as it finishes); regret.md comes back as is, with the lookup rules' table
# (benchmarks/regret_rules), and regret.tgz holds every regret-*.json with its measured
# matrix, the tables, and regret.md again;
# cold: first calls from config tables, a second process on the same cache (issue 22);
# sum: sum 4096x8192's code and torch.compile's (issue 23);
# tests: the GPU tests of tuning at scale and deployable tables (issues 21, 22).
set -u
cd "$(dirname "$0")/../.."
source benchmarks/probes/device_setup.sh

for stage in "$@"; do
    echo "== stage $stage $(date +%T)"
    case $stage in
    regret)
        timeout "${REGRET_S:-540}" python3 -m benchmarks.aot_regret --out "$OUT/regret" \
            ${KERNELS:+--kernels "$KERNELS"} --pool "${POOL:-12}" 2>&1 | \
            grep -v "^  warnings.warn\|UserWarning" | tail -30
        tar czf "$OUT/regret.tgz" -C "$OUT" regret && rm -rf "$OUT/regret/tables" "$OUT"/regret/*.json
        ;;
    cold)
        mkdir -p "$OUT/profiles"
        KCOMPILER_COLD_PROFILE="$OUT/profiles:embedding,cross_entropy,vector_add" timeout 200 \
            python3 -m benchmarks.aot_cold_start --device cuda --md "$OUT/cold-start.md"
        tar czf "$OUT/profiles.tgz" -C "$OUT" profiles && rm -rf "$OUT/profiles"
        ;;
    sum)
        timeout 150 python3 -m benchmarks.probes.sum_codegen 2>&1 | tee "$OUT/sum-codegen.log" | \
            grep "^=="
        ;;
    tests)
        timeout 240 python3 -m pytest -q -p no:cacheprovider tests/gpu/test_gpu_7_target_compile.py \
            tests/gpu/test_gpu_9_spill_check.py tests/gpu/test_gpu_12_shared_memory.py \
            tests/gpu/test_gpu_4_autotune.py 2>&1 | tail -30
        ;;
    esac
done
echo "== done $(date +%T)"
