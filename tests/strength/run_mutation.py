"""Mutation testing of the core modules with mutmut (issue 24.5; not part of CI).

    pip install -e '.[mutation]'
    python tests/strength/run_mutation.py            # every group, in order
    python tests/strength/run_mutation.py tuning     # one group
    python tests/strength/run_mutation.py --report   # the table of the last run's results
    python tests/strength/run_mutation.py --recheck  # re-run the survivors (after new tests)

mutmut copies the package to ``mutants/`` (git-ignored), rewrites each function of the files
in ``[tool.mutmut] only_mutate`` (pyproject.toml) into a trampoline over its mutants, maps
each function to the tests of ``pytest_add_cli_args_test_selection`` that call it, and runs
those tests once per mutant. ``SCOPE`` picks the functions whose mutants run: the cache keys,
the tuner's correctness gate, and the small functions of specialization, split-reductions
and codegen that decide divisors, neutral elements, accumulator dtypes and masks. The six
files hold about 5,300 mutants, far more than two shared cores run in an hour (about four
a minute here); tests/strength/MUTATION.md lists what the scope leaves out.

Run from the repository root without PYTHONPATH (the mutated copy must be the one imported).
A later run reuses mutmut's recorded results; delete ``mutants/`` to start over.
"""

from __future__ import annotations

import fnmatch
import json
import os
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
    "codegen": ("kcompiler.backends.triton.codegen", ["xǁTritonEmitterǁmask_for", "x_tl_dtype"]),
    "specialize": (
        "kcompiler.frontend.specialize",
        ["x_pow2_divisor", "xǁSymbolTableǁdim", "x__specialized"],
    ),
}

STATUS = {1: "killed", 3: "killed", 0: "survived", 33: "no tests", 5: "no tests", None: "not run"}


def patterns(group: str) -> list[str]:
    module, names = SCOPE[group]
    return [f"{module}.{name}__mutmut_*" for name in names]


def run(groups: list[str], names: list[str] | None = None) -> None:
    """One ``mutmut run`` over the groups' patterns (or the given mutant ``names``): one clean
    run of their tests, then each mutant, the fastest first. mutmut re-runs every mutant it is
    named or matched, recorded result or not."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # One thread per worker: two workers share the machine's cores.
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", TRITON_INTERPRET="1")
    names = names or [p for group in groups for p in patterns(group)]
    subprocess.run(["mutmut", "run", "--max-children", "2", *names], cwd=ROOT, env=env)


def results() -> dict[str, dict[str, str]]:
    """{mutant name: status} per group, from mutmut's per-file records in mutants/."""
    out: dict[str, dict[str, str]] = {}
    for group, (module, _) in SCOPE.items():
        meta = ROOT / "mutants" / (module.replace(".", "/") + ".py.meta")
        if not meta.exists():
            continue
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        pats = patterns(group)
        out[group] = {
            name: STATUS.get(code, "timeout" if code in (24, 36, -24, 152, 255) else "other")
            for name, code in codes.items()
            if any(fnmatch.fnmatchcase(name, p) for p in pats)
        }
    return out


def report() -> str:
    rows = [
        "| group | module | mutants | killed | survived | no tests | timeout | not run | "
        "surviving rate |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    survivors: list[str] = []
    for group, statuses in results().items():
        c = Counter(statuses.values())
        checked = c["killed"] + c["survived"] + c["timeout"]
        rate = f"{100 * c['survived'] / checked:.1f} %" if checked else "-"
        rows.append(
            f"| {group} | {SCOPE[group][0]} | {len(statuses)} | {c['killed']} | "
            f"{c['survived']} | {c['no tests']} | {c['timeout']} | {c['not run']} | {rate} |"
        )
        survivors += sorted(n for n, s in statuses.items() if s in ("survived", "no tests"))
    by_function = Counter(re.sub(r"__mutmut_\d+$", "", n) for n in survivors)
    lines = ["", "Survivors (and mutants no selected test reaches) by function:", ""]
    lines += [f"- `{name}`: {count}" for name, count in sorted(by_function.items())]
    return "\n".join(rows + lines)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--report"]:
        print(report())
        return 0
    if argv[:1] == ["--recheck"]:
        alive = [n for st in results().values() for n, s in st.items() if s == "survived"]
        if alive:
            run([], alive)
        print(report())
        return 0
    groups = argv or list(SCOPE)
    unknown = [g for g in groups if g not in SCOPE]
    if unknown:
        print(f"unknown groups {unknown}; known: {list(SCOPE)}", file=sys.stderr)
        return 2
    run(groups)
    print(report())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
