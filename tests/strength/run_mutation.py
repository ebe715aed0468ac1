"""Mutation testing of the core modules with mutmut (issue 24.5; not part of CI).

    pip install -e '.[mutation]'
    python tests/strength/run_mutation.py            # every group, in order
    python tests/strength/run_mutation.py tuning     # one group
    python tests/strength/run_mutation.py --report   # the table of the last run's results
    python tests/strength/run_mutation.py --recheck  # re-run the survivors (after new tests)
    python tests/strength/run_mutation.py --sample   # a seeded sample of the emitters' mutants
    python tests/strength/run_mutation.py --sample --recheck codegen codegen-sample  # both, one run

mutmut copies the package to ``mutants/`` (git-ignored), rewrites each function of the files
in ``[tool.mutmut] only_mutate`` (pyproject.toml) into a trampoline over its mutants, maps
each function to the tests of ``pytest_add_cli_args_test_selection`` that call it, and runs
those tests once per mutant. ``SCOPE`` picks the functions whose mutants run: the cache keys,
the tuner's correctness gate, and the small functions of specialization, split-reductions
and codegen that decide divisors, neutral elements, accumulator dtypes and masks. The six
files hold about 5,300 mutants, far more than two shared cores run in an hour (about four
a minute here); tests/strength/MUTATION.md lists what the scope leaves out.

``SAMPLE`` names the large functions outside the scope (the split-reductions rewrites, the
Triton emitter's op methods and ``generate``, ``specialize`` itself: about 1,500 mutants):
``--sample`` runs ``SAMPLE_SIZE`` of each group's mutants, drawn with ``random.Random`` seeded
by ``SAMPLE_SEED`` and the group's name from the sorted mutant names (``--sample --seed N`` for
another draw), so the surviving rate over those functions is an estimate from a stated sample,
and the same command draws the same mutants again. ``mutants/`` must exist (run a group first:
mutmut generates every mutant of the six files on its first run).

Run from the repository root without PYTHONPATH (the mutated copy must be the one imported).
A later run reuses mutmut's recorded results; delete ``mutants/`` to start over.
"""

from __future__ import annotations

import fnmatch
import json
import os
import random
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# group -> (module, function-name patterns as mutmut spells them: x_<function> for a module
# function, xǁ<Class>ǁ<method> for a method).
SCOPE: dict[str, tuple[str, list[str]]] = {
    "tuning": (
        "kcompiler.runtime.tuning",
        [
            "x_tuning_spec",
            "x_output_scale",
            "x_outputs_match",
            "x_kernel_hash",
            "xǁKernelTargetǁbenchmark",
        ],
    ),
    "fastpath-key": ("kcompiler.runtime.fastpath", ["x_fingerprint", "x_make_key"]),
    "cache-key": ("kcompiler.autotune.cache", ["x_make_key", "x_library_versions"]),
    "split_reductions": (
        "kcompiler.passes.split_reductions",
        ["x__neutral", "x__acc_dtype", "x_default_reduction_chunk"],
    ),
    "codegen": ("kcompiler.backends.triton.codegen", ["xǁTritonEmitterǁmask_for"]),
    "specialize": (
        "kcompiler.frontend.specialize",
        ["x_pow2_divisor", "xǁSymbolTableǁdim", "x__specialized"],
    ),
}

# Sampled groups: group -> (module, function patterns); see the module docstring.
SAMPLE: dict[str, tuple[str, list[str]]] = {
    "split_reductions-sample": (
        "kcompiler.passes.split_reductions",
        ["xǁ_Splitterǁemit", "xǁ_Splitterǁwelford", "xǁ_Splitterǁpairing"],
    ),
    "codegen-sample": (
        "kcompiler.backends.triton.codegen",
        [
            "xǁTritonEmitterǁgenerate",
            "xǁTritonEmitterǁop_reduce",
            "xǁTritonEmitterǁop_for",
            "xǁTritonEmitterǁop_binary",
            "xǁTritonEmitterǁop_dot",
        ],
    ),
    "specialize-sample": ("kcompiler.frontend.specialize", ["x_specialize"]),
}
SAMPLE_SIZE = 15
SAMPLE_SEED = 24

# module -> the tests its mutants run against. A module named here is mutated alone in its own
# directory, mutation-work/<module> (git-ignored: links to kcompiler/ and tests/ and a
# pyproject.toml whose [tool.mutmut] is the root one with only_mutate and the test selection
# replaced), because mutmut has one test selection per directory and these functions are
# reached by every kernel test: the selection below is the FileCheck probe
# (tests/strength/lit_inprocess.py) plus the small, sharp tests of the module. The other
# modules run in the root directory against ``[tool.mutmut]`` of pyproject.toml.
_SPLIT = "tests/passes/test_split_reductions.py::"
TESTS: dict[str, list[str]] = {
    "kcompiler.passes.split_reductions": [
        "tests/strength/lit_inprocess.py",
        "tests/passes/test_split_reductions.py",
        "tests/passes/test_split_reductions_welford.py",
        "tests/passes/test_default_reduction_loops.py",
    ],
    "kcompiler.backends.triton.codegen": [
        "tests/strength/lit_inprocess.py",
        "tests/runtime/test_even_loops.py",
        "tests/backends/test_half_precision.py",
        _SPLIT + "test_kernels_match_torch_when_chunked",
        _SPLIT + "test_every_reduction_kind_is_chunked",
        _SPLIT + "test_integer_max_min_chunked_at_the_dtype_limits",
        _SPLIT + "test_generated_code_loops_over_chunks",
        _SPLIT + "test_online_softmax_with_leading_neg_inf_chunk",
        "tests/passes/test_split_reductions_welford.py::test_layer_norm_both_forms_match_torch",
        # The tests written for sampled survivors (tests/strength/MUTATION.md).
        _SPLIT + "test_integer_arg_reductions_tell_apart_values_a_float_cannot",
        "tests/backends/test_float_pow.py::test_special_bases_and_exponents_follow_torch",
        "tests/backends/test_float_pow.py::test_signed_bases_with_integer_and_fractional_exponents",
        "tests/backends/test_loop_knobs.py::test_warp_specialize_is_emitted_as_set",
        "tests/backends/test_target_compile.py::test_half_loop_carried_values_compile_for_the_gpu",
        "tests/kernels/test_tensor_core_kernels.py::test_fp8_accumulation_modes_in_gpu_code",
        "tests/frontend/test_language_surface.py::test_floor_division_and_modulo_of_negative_ints",
        "tests/frontend/test_language_surface.py::test_floor_division_and_modulo_of_floats",
        "tests/frontend/test_language_surface.py::test_jagged_tile",
        "tests/frontend/test_language_surface.py::test_jagged_tile_with_a_vector_of_the_inner_tile_only",
        "tests/frontend/test_language_surface.py::test_a_jagged_access_in_chunk_by_row_order_keeps_each_rows_length",
        "tests/frontend/test_language_surface.py::test_a_permuted_jagged_mask_is_expanded_to_the_access",
    ],
    "kcompiler.frontend.specialize": [
        "tests/runtime/test_even_loops.py",
        "tests/runtime/test_fast_path.py",
        "tests/frontend/test_language_surface.py::test_specialize",
        "tests/frontend/test_language_surface.py::test_if_bias_is_not_none_specializes",
        "tests/frontend/test_language_surface.py::test_constexpr_value_is_baked_into_the_code",
        "tests/frontend/test_host_code.py::test_static_shapes_bakes_sizes_in",
        "tests/frontend/test_host_code.py::test_lambda_default_and_callable_arguments_are_inlined",
        "tests/frontend/test_host_code.py::test_a_lambda_made_per_call_is_keyed_by_what_it_computes",
        "tests/backends/test_indexing_modes.py::test_int64_indexing_keeps_pointers",
        "tests/aot/test_aot_table.py::test_key_is_the_specialization_in_readable_form",
        "tests/aot/test_aot_table.py::test_key_describes_every_kind_of_argument",
        "tests/frontend/test_language_surface.py::test_register_block_size",
        "tests/aot/test_aot_table.py::test_nearest_rule_buckets_then_divisors_then_equalities_then_order",
    ],
}
WORK = ROOT / "mutation-work"

STATUS = {1: "killed", 3: "killed", 0: "survived", 33: "no tests", 5: "no tests", None: "not run"}


def patterns(group: str) -> list[str]:
    module, names = {**SCOPE, **SAMPLE}[group]
    return [f"{module}.{name}__mutmut_*" for name in names]


def workdir(module: str) -> Path:
    """The directory mutmut runs in for ``module``'s mutants (see ``TESTS``)."""
    return WORK / module if module in TESTS else ROOT


def _toml(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value)  # a TOML basic string, bool or number reads as JSON writes it


def prepare(module: str) -> Path:
    """Create ``module``'s work directory (idempotent): links to the package and the tests,
    and a pyproject.toml with the root's pytest and mutmut settings but this module alone
    mutated and ``TESTS[module]`` selected."""
    import tomllib

    where = workdir(module)
    if where == ROOT:
        return ROOT
    where.mkdir(parents=True, exist_ok=True)
    for name in ("kcompiler", "tests"):
        link = where / name
        if not link.is_symlink():
            link.symlink_to(ROOT / name, target_is_directory=True)
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]
    mutmut = dict(root["mutmut"])
    mutmut["only_mutate"] = [module.replace(".", "/") + ".py"]
    mutmut["pytest_add_cli_args_test_selection"] = TESTS[module]
    text = ""
    for table, values in (
        ("tool.pytest.ini_options", root["pytest"]["ini_options"]),
        ("tool.mutmut", mutmut),
    ):
        text += f"[{table}]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in values.items()) + "\n"
    config = where / "pyproject.toml"
    if not config.exists() or config.read_text() != text:
        config.write_text(text)
    return where


def recorded(module: str) -> dict[str, int | None]:
    """mutmut's exit code per mutant of ``module`` (None: not run), from mutants/*.meta."""
    meta = workdir(module) / "mutants" / (module.replace(".", "/") + ".py.meta")
    return json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}


def sample(group: str, seed: int = SAMPLE_SEED) -> list[str]:
    """The ``SAMPLE_SIZE`` mutants of a sampled group that ``--sample`` runs: a seeded draw
    from the group's mutants in sorted order (the same names for the same seed and code)."""
    pats = patterns(group)
    names = sorted(
        n for n in recorded(SAMPLE[group][0]) if any(fnmatch.fnmatchcase(n, p) for p in pats)
    )
    return sorted(random.Random(f"{seed}-{group}").sample(names, min(SAMPLE_SIZE, len(names))))


def run(groups: list[str], names: list[str] | None = None) -> None:
    """One ``mutmut run`` per work directory over the groups' patterns (or the given mutant
    ``names``): one clean run of their tests, then each mutant, the fastest first. mutmut
    re-runs every mutant it is named or matched, recorded result or not."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # One thread per worker: two workers share the machine's cores.
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", TRITON_INTERPRET="1")
    names = names or [p for group in groups for p in patterns(group)]
    by_dir: dict[Path, list[str]] = {}
    for name in names:
        module = name.split(".x", 1)[0]
        by_dir.setdefault(prepare(module), []).append(name)
    for where, selected in by_dir.items():
        subprocess.run(["mutmut", "run", "--max-children", "2", *selected], cwd=where, env=env)


def _status(code: int | None) -> str:
    return STATUS.get(code, "timeout" if code in (24, 36, -24, 152, 255) else "other")


def results(seed: int = SAMPLE_SEED) -> dict[str, dict[str, str]]:
    """{mutant name: status} per group (for a sampled group, its sample's mutants only), from
    mutmut's per-file records in mutants/."""
    out: dict[str, dict[str, str]] = {}
    for group, (module, _) in SCOPE.items():
        codes = recorded(module)
        if not codes:
            continue
        pats = patterns(group)
        out[group] = {
            name: _status(code)
            for name, code in codes.items()
            if any(fnmatch.fnmatchcase(name, p) for p in pats)
        }
    for group, (module, _) in SAMPLE.items():
        codes = recorded(module)
        if codes:
            out[group] = {name: _status(codes[name]) for name in sample(group, seed)}
    return out


def report(seed: int = SAMPLE_SEED) -> str:
    rows = [
        "| group | module | mutants | killed | survived | no tests | timeout | not run | "
        "surviving rate |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    survivors: list[str] = []
    for group, statuses in results(seed).items():
        module = {**SCOPE, **SAMPLE}[group][0]
        c = Counter(statuses.values())
        checked = c["killed"] + c["survived"] + c["timeout"]
        rate = f"{100 * c['survived'] / checked:.1f} %" if checked else "-"
        rows.append(
            f"| {group} | {module} | {len(statuses)} | {c['killed']} | "
            f"{c['survived']} | {c['no tests']} | {c['timeout']} | {c['not run']} | {rate} |"
        )
        survivors += sorted(n for n, s in statuses.items() if s in ("survived", "no tests"))
    by_function = Counter(re.sub(r"__mutmut_\d+$", "", n) for n in survivors)
    lines = ["", "Survivors (and mutants no selected test reaches) by function:", ""]
    lines += [f"- `{name}`: {count}" for name, count in sorted(by_function.items())]
    return "\n".join(rows + lines)


def main(argv: list[str]) -> int:
    seed = SAMPLE_SEED
    if "--seed" in argv:
        at = argv.index("--seed")
        seed = int(argv[at + 1])
        del argv[at : at + 2]
    flags = {a for a in argv if a.startswith("--")}
    groups = [a for a in argv if not a.startswith("--")]
    unknown = [g for g in groups if g not in SCOPE and g not in SAMPLE]
    if unknown or flags - {"--report", "--sample", "--recheck"}:
        print(f"unknown {unknown or flags}; groups: {[*SCOPE, *SAMPLE]}", file=sys.stderr)
        return 2
    if flags == {"--report"}:
        print(report(seed))
        return 0
    if not flags:
        run(groups or list(SCOPE))
        print(report(seed))
        return 0
    # --sample and --recheck: one mutmut run per work directory over the named mutants (the
    # sample's and the survivors'), so each directory's startup is paid once.
    names: list[str] = []
    if "--sample" in flags:
        names += [n for g in (groups or list(SAMPLE)) if g in SAMPLE for n in sample(g, seed)]
    if "--recheck" in flags:
        names += [
            n
            for g, statuses in results(seed).items()
            if not groups or g in groups
            for n, status in statuses.items()
            if status == "survived" and n not in names
        ]
    if names:
        run([], names)
    elif "--sample" in flags:
        print("no mutants to sample: run the module's group first", file=sys.stderr)
        return 2
    print(report(seed))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
