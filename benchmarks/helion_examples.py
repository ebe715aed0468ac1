"""Compatibility report: Helion's examples run through kcompiler with only their imports changed.

For each example in Helion's ``examples/`` folder at a pinned commit, the script copies the
example (never into this repository) to a temporary package, rewrites its import lines
(``helion`` -> ``kcompiler``, ``helion.language`` -> ``kcompiler.language``, the
``helion._testing`` helpers -> ``benchmarks.helion_shim``), and calls the example's own check
with small, odd shapes in a subprocess under Triton's CPU interpreter with a time limit. The
example's check compares the kernel with the example's own reference; the outcome is

- PASS: the check ran and every kernel matched;
- FAIL: a kernel ran but its result differs from the reference;
- ERROR: an exception (first line shown) or the time limit;
- SKIP: the example needs what a CPU run cannot give (the reason is shown).

The table goes to ``benchmarks/results/cpu/helion-examples.md``::

    python -m benchmarks.helion_examples                       # all, from the mirror
    python -m benchmarks.helion_examples softmax matmul        # some
    python -m benchmarks.helion_examples --helion-repo ~/helion --out /tmp/report.md

``--jobs N`` runs N examples at once. ``--target sm_90`` then compiles, on this machine and
without a GPU, each kernel a passing example called for that GPU target with the config its
first call ran (``Kernel.precompile``), and adds a column with "ok N" or the first error: GPU
code generation checked where the interpreter cannot check it. An example that needs a GPU
(inline PTX) is SKIP on the interpreter; with ``--target`` its driver still runs there until
each kernel stops at compile time with ``NeedsGPU``, and the kernels it called are compiled
for the target.

``--helion-repo`` takes a checkout or a bare git directory (the commit is read with ``git
show``). On a GPU machine, ``--device cuda`` runs the same drivers without the interpreter
and writes ``benchmarks/results/<gpu>/helion-examples.md``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import dataclasses
import importlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HELION = Path("/work/.mirror/pytorch+helion/repo")
DEFAULT_COMMIT = "ef091f416a50c443b38e4c8bff2980777f5ff225"


@dataclasses.dataclass(frozen=True)
class Example:
    """How to run one example: ``call`` is Python run in the example module's namespace;
    ``subs`` shrink sizes that the example's ``main`` hard-codes (pairs of exact source text);
    ``skip`` gives the reason an example is not run; ``needs_gpu`` the reason it cannot run
    on Triton's CPU interpreter (it is SKIP there, and runs on a GPU); ``env`` the kcompiler
    settings (environment variables) it runs with, named in its row."""

    call: str = ""
    subs: tuple[tuple[str, str], ...] = ()
    skip: str = ""
    needs_gpu: str = ""
    env: tuple[tuple[str, str], ...] = ()


# Sizes are small (the interpreter runs a program per block, in Python) and odd where the
# example allows (so masks are exercised); head dims and quantization groups keep the powers
# of two that the examples' kernels require.
EXAMPLES: dict[str, Example] = {
    "acfs/softmax_acf": Example("check(37, 67)"),
    "add": Example("check(37, 67)"),
    "aot_compile_example": Example(
        "x = torch.randn(37, 67, dtype=torch.bfloat16, device=DEVICE); y = torch.randn_like(x)\n"
        "assert_outputs_close(add_2d(x, y), x + y, 1e-2, 1e-2)"
    ),
    "aot_example": Example(
        "x = torch.randn(37, 67, device=DEVICE)\n"
        "assert_outputs_close(vector_scale(x, 1.5), x * 1.5, 1e-4, 1e-4)\n"
        "assert_outputs_close(row_softmax(x), torch.softmax(x, -1), 1e-4, 1e-4)\n"
        "assert_outputs_close(col_reduce_sum(x), x.sum(0), 1e-4, 1e-4)\n"
        "assert_outputs_close(sum_aot(x), x.sum(-1), 1e-4, 1e-4)\n"
        "a, b = torch.randn(37, 45, device=DEVICE), torch.randn(45, 67, device=DEVICE)\n"
        "assert_outputs_close(matmul_custom_key(a, b), a @ b, 1e-3, 1e-3)"
    ),
    # The backward's host code asserts that the block sizes divide the sequence length.
    "attention": Example("test(1, 2, 64, 32, HALF_DTYPE, device=DEVICE)"),
    "batch_softmax": Example("check(3, 37, 67)"),
    "bf16xint16_gemm": Example("check(37, 64, 67)"),
    "blackwell_attention": Example(
        "test(1, 2, 128, 64, torch.bfloat16)",
        skip="Blackwell-only: inline PTX mul.f32x2 (sm_100) and a patched Triton's "
        "_triton_* warp-specialization config knobs",
    ),
    "bmm": Example("check(3, 37, 45, 67)"),
    "broadcast_matmul": Example("check(3, 37, 45, 67)"),
    "concatenate": Example(subs=(("[1500, 400]", "[37, 41]"), ("[1500, 600]", "[37, 67]"))),
    "cross_entropy": Example(subs=(("8, 2048, 131072", "2, 7, 1000"),)),
    "embedding": Example(subs=(("16, 64", "13, 64"), ("[256, 32]", "[17, 5]"))),
    "epilogue_subtiling": Example("check(37, 64, 67)"),
    "exp": Example("check(1000)"),
    "flex_attention": Example(
        "test(2, 3, 67, 32, HALF_DTYPE, device=DEVICE)\n"
        "test(2, 3, 67, 32, HALF_DTYPE, lambda score, *_: torch.tanh(score), device=DEVICE)"
    ),
    "fp8_attention": Example("check(1, 2, 80, 32)"),
    "fp8_gemm": Example(
        "check(37, 64, 80, b_col_major=True)\ncheck(37, 64, 80, b_col_major=False)"
    ),
    "fp8_matmul": Example("check(37, 64, 80)"),
    "fused_linear_jsd": Example("check(37, 67, 1000)"),
    "gather_gemv": Example("check(8, 67, 2)"),
    "gdn_fwd_h": Example("test(2, 3, 80, 16, 32, 32)"),
    "geglu": Example("check_geglu_kernel((2, 37, 67))\ncheck_geglu_mlp(2, 37, 67, 45)"),
    "grouped_gemm": Example(
        subs=(("K, N = 256, 128", "K, N = 67, 45"), ("64 * (i + 1)", "13 * (i + 1)"))
    ),
    "grpo_loss": Example("test_grpo_loss(B=2, L=7, V=1000)"),
    "int4_gemm": Example("check(37, 64, 67)"),
    "jagged_dense_add": Example(subs=(("rows, cols = 256, 5000", "rows, cols = 37, 67"),)),
    "jagged_dense_bmm": Example(),
    # Its kernel indexes q, k, v and out past the last sequence in lanes it discards: run in
    # the opt-in mode that gives those lanes a meaning (NOTES), plus a check that can fail.
    "jagged_hstu_attn": Example(
        "test(batch_size=3, max_seq_len=37, heads=2, head_dim=32, dtype=torch.float32, device=DEVICE)\n"
        "from benchmarks.helion_checks import jagged_hstu_causal\n"
        "jagged_hstu_causal(_helion_jagged_attention_kernel, DEVICE, 1 if DEVICE.type == 'cpu' else 50)",
        env=(("KCOMPILER_OUT_OF_BOUNDS", "warn"),),
    ),
    "jagged_hstu_attn_2": Example(
        subs=(
            ("num_sequences = 16", "num_sequences = 3"),
            ("max_seq_len = 512", "max_seq_len = 37"),
            ("heads = 32", "heads = 2"),
            ("head_dim = 128", "head_dim = 32"),
        )
    ),
    "jagged_layer_norm": Example(
        subs=(
            ("B_list = [2**n for n in list(range(5, 16, 3))]", "B_list = [3, 17]"),
            ("M_list = [2**n for n in list(range(5, 10, 3))]", "M_list = [37]"),
            ("max_seqlen_list = [128]", "max_seqlen_list = [29]"),
        )
    ),
    "jagged_mean": Example(subs=(("num_rows, max_cols = 32, 64", "num_rows, max_cols = 17, 37"),)),
    "jagged_softmax": Example(
        subs=(
            ("num_rows, max_cols = 512, 64", "num_rows, max_cols = 17, 37"),
            ("M = 128", "M = 67"),
        )
    ),
    "jagged_sum": Example(
        subs=(("B, M, max_seqlen = 8, 128, 64", "B, M, max_seqlen = 3, 67, 37"),)
    ),
    "jsd": Example("check_jsd_kernel(2, 7, 1000, 0.5, -100, False)"),
    "kl_div": Example('check_kl_div_kernel(2, 7, 1000, "batchmean", False, 1e-10)'),
    "layer_norm": Example(
        subs=(("batch_size = 4096", "batch_size = 37"), ("dim = 10240", "dim = 67"))
    ),
    "linear/example_delta_rule": Example("HARNESS.test()"),
    "linear/example_full_gla": Example("HARNESS.test()"),
    "linear/example_gated_delta_rule": Example("HARNESS.test()"),
    "linear/example_kda": Example(
        "HARNESS.test()\nHARNESS.test_fused_preamble()\nHARNESS.test_varlen()"
    ),
    "linear/example_mamba2_ssd": Example("test()"),
    "linear/example_retention": Example("HARNESS.test()"),
    "linear/example_simple_gla": Example("HARNESS.test()"),
    "linear/example_vanilla_linear_attn": Example("HARNESS.test()"),
    "long_sum": Example("check(3, 1000)"),
    "low_mem_dropout": Example("check(0.25, 1000)"),
    "mamba2_chunk_scan": Example(
        "\n".join(f'test("{init}", 2, 3, 1, 80, 16, 32, 16)' for init in ("zzzzzzz", "rrruzzz"))
    ),
    "mamba2_chunk_state": Example('test("uuuu", 2, 3, 1, 80, 16, 32, 16)'),
    "matmul": Example("check(37, 45, 67)"),
    "matmul_layernorm": Example("check(37, 45, 67)"),
    "matmul_split_k": Example("check(37, 1000, 45)"),
    # The example's kernel stores every padded row of an expert's tile (past its token count)
    # to that expert's first token, with the value it read before: two writes of one element
    # in one store, whose winner neither Triton nor torch defines (Helion's own test of it
    # sets skip_accuracy, "unstable numerics"). Under the interpreter the last lane wins, so
    # the example's random routing fails on each expert's first token, in kcompiler as in a
    # per-tile torch emulation of the kernel. Routing every expert the same number of tokens
    # (shuffled) leaves no padded row inside the tiles: the kernel and the reference are then
    # both defined, and compared.
    "moe_matmul_ogs": Example(
        "T, K, N, E = 35, 67, 45, 5\n"
        "A = torch.randn(T, K, device=DEVICE, dtype=HALF_DTYPE)\n"
        "W = torch.randn(E, K, N, device=DEVICE, dtype=HALF_DTYPE)\n"
        "top1 = torch.randperm(T, device=DEVICE) % E\n"
        "args = moe_matmul_ogs_helion_kernel_args_gen(A, W, top1)\n"
        "run_example(lambda: moe_matmul_ogs(*args), lambda: moe_matmul_ogs_reference(A, W, top1), ())"
    ),
    "nvfp4_gemm": Example(
        "check_w4a16(37, 64, 67)\ncheck_w4a4(37, 64, 67)\ncheck_scaled(37, 64, 67)",
        skip="CuTe-only: every kernel is @helion.kernel(backend='cute') (kcompiler raises "
        "'not supported: backend='cute'' at the decorator) and the rest is torch._scaled_mm "
        "on Blackwell fp4",
    ),
    "nvfp4_gemv": Example(
        'check_bf16in(37, 64, "triton")\ncheck_fp4in(37, 64, "triton")',
        needs_gpu="inline PTX (kl.inline_asm_elementwise decodes the e4m3 scales), which "
        "Triton's CPU interpreter cannot run",
    ),
    "rms_norm": Example("check(37, 67)"),
    "rope": Example(
        subs=(("1, 4, 2, 128, 64", "1, 4, 2, 37, 32"),),
    ),
    "se_block": Example("check(37, 67)"),
    # The example also compares a @triton.autotune kernel, which benchmarks configs through a
    # GPU driver that Triton's interpreter does not have: the CPU run checks against the
    # example's PyTorch reference alone.
    "segment_reduction": Example(
        "num_nodes, num_edges, num_features = 17, 67, 37\n"
        "indices = torch.randint(0, num_nodes, (num_edges,), device=DEVICE).sort()[0]\n"
        "input_data = torch.randn(num_edges, num_features, device=DEVICE)\n"
        "run_example(segmented_reduction_helion, segmented_reduction_pytorch,"
        " (indices, input_data, num_nodes))"
    ),
    "softmax": Example("check(37, 67)"),
    "split_k_barrier": Example("check(17, 1000, 15)"),
    "squeeze_and_excitation_net": Example("check(37, 45, 67)"),
    "sum": Example("check(37, 67)"),
    "swiglu": Example("check_swiglu_kernel((2, 37, 67))\ncheck_swiglu_mlp(2, 37, 67, 45)"),
    "welford": Example("check(37, 67)"),
    "xsa": Example("check(2, 3, 67, 32, HALF_DTYPE)\ncheck_near_zero_v(2, 3, 37, 32)"),
}

# Helper modules of the examples: rewritten and importable, not run themselves.
_HELPERS = (
    "__init__",
    "acfs/__init__",
    "linear/__init__",
    "linear/linear_attention_engine",
    "linear/linear_attention_fla",
    "linear/linear_attention_flashkda",
    "linear/linear_attention_harness",
    "linear/linear_attention_utils",
    "linear/_helion_aot_linear_attention_engine_cuda_sm90",
    "linear/_helion_aot_linear_attention_engine_cuda_sm100",
)

_SKIP_DIRS = {"distributed": "distributed-only (needs a process group and symmetric memory)"}

# Import rewriting, line by line; only lines that import from Helion change.
_IMPORT_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"^(\s*)from helion\._testing import (.*)$"),
        r"\1from benchmarks.helion_shim import \2",
    ),
    (
        re.compile(r"^(\s*)from helion\._compat import (.*)$"),
        r"\1from benchmarks.helion_shim import \2",
    ),
    (
        re.compile(r"^(\s*)from helion\.runtime\.settings import _get_backend$"),
        r"\1_get_backend = lambda: 'triton'  # noqa: E731",
    ),
    (
        re.compile(r"^(\s*)import helion\.language as (\w+)(.*)$"),
        r"\1import kcompiler.language as \2\3",
    ),
    (re.compile(r"^(\s*)import helion\.(\w+)(.*)$"), r"\1import kcompiler as helion\3"),
    (re.compile(r"^(\s*)import helion(\s.*)?$"), r"\1import kcompiler as helion\2"),
    (re.compile(r"^(\s*)from helion import (.*)$"), r"\1from kcompiler import \2"),
    (re.compile(r"^(\s*)from helion\.(\S+) import (.*)$"), r"\1from kcompiler.\2 import \3"),
)


def rewrite_imports(source: str) -> str:
    """``source`` with its Helion import lines pointed at kcompiler; nothing else changes.
    A parenthesized multi-line ``from helion... import (`` is rewritten on its first line."""
    lines = []
    for line in source.splitlines():
        for pattern, replacement in _IMPORT_RULES:
            if pattern.match(line):
                line = pattern.sub(replacement, line)
                break
        lines.append(line)
    return "\n".join(lines) + "\n"


class HelionSource:
    """Reads example files from a Helion checkout or a bare git directory at ``commit``."""

    def __init__(self, repo: Path, commit: str) -> None:
        self.repo, self.commit = repo, commit
        self.bare = not (repo / "examples").is_dir()

    def read(self, rel: str) -> str | None:
        if not self.bare:
            path = self.repo / "examples" / rel
            return path.read_text() if path.is_file() else None
        done = subprocess.run(
            ["git", "-C", str(self.repo), "show", f"{self.commit}:examples/{rel}"],
            capture_output=True,
            text=True,
        )
        return done.stdout if done.returncode == 0 else None

    def listing(self) -> list[str]:
        """Example module names (``linear/example_kda``) that exist at the commit."""
        if not self.bare:
            root = self.repo / "examples"
            names = [str(p.relative_to(root))[:-3] for p in root.rglob("*.py")]
        else:
            done = subprocess.run(
                [
                    "git",
                    "-C",
                    str(self.repo),
                    "ls-tree",
                    "-r",
                    "--name-only",
                    self.commit,
                    "examples",
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            names = [n[len("examples/") : -3] for n in done.stdout.split() if n.endswith(".py")]
        return sorted(names)


def stage(source: HelionSource, names: list[str], into: Path) -> None:
    """Write the rewritten examples and their helpers as the package ``examples`` under
    ``into`` (examples import each other as ``examples.X`` and ``.X``)."""
    for rel in list(_HELPERS) + names:
        text = source.read(rel + ".py")
        if text is None:
            continue
        if rel in EXAMPLES:
            for old, new in EXAMPLES[rel].subs:
                if old not in text:
                    raise SystemExit(f"{rel}: size substitution {old!r} not found in the example")
                text = text.replace(old, new)
        path = into / "examples" / (rel + ".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rewrite_imports(text))


def first_line(err: BaseException) -> str:
    """``Type: first line of the message``: an error as a report's cell shows it."""
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".strip()


def _is_kcompiler_frame(err: BaseException) -> bool:
    """Whether the innermost frame of ``err`` is kcompiler's own code (not the example's)."""
    frames = traceback.extract_tb(err.__traceback__)
    return bool(frames) and "/kcompiler/" in frames[-1].filename


@contextlib.contextmanager
def record_calls() -> Iterator[dict[int, tuple[Any, tuple, dict]]]:
    """The first call of each kcompiler kernel made inside the block: kernel, args, kwargs."""
    from kcompiler.runtime.kernel import Kernel

    calls: dict[int, tuple[Any, tuple, dict]] = {}
    original = Kernel.__call__

    def recording(self: Kernel, *args: Any, **kwargs: Any) -> Any:
        calls.setdefault(id(self), (self, args, kwargs))
        return original(self, *args, **kwargs)

    Kernel.__call__ = recording
    try:
        yield calls
    finally:
        Kernel.__call__ = original


def compile_for(target: str, calls: dict[int, tuple[Any, tuple, dict]]) -> str:
    """Compile each recorded call for ``target`` with its config; "ok N" or the first error."""
    compiled = 0
    for kernel, args, kwargs in calls.values():
        config = kernel.choose_config(args, kwargs)
        try:
            records = kernel.precompile(*args, configs=[config], target=target, workers=1, **kwargs)
        except Exception as err:  # noqa: BLE001 - a row of the report
            return f"{kernel.fn.__name__}: {first_line(err)}"
        for record in records:
            errors = [record.error] + [b.error for b in record.binaries]
            error = next((e for e in errors if e), None)
            if error is not None:
                return f"{kernel.fn.__name__}: {_compile_error_line(error)}"
        compiled += 1
    return f"ok {compiled}"


def run_until_gpu_needed(call: str, name: str, namespace: dict[str, Any]) -> None:
    """Run each top-level statement of ``call`` on the interpreter, where each is expected to
    stop at kcompiler's ``NeedsGPU`` error when its kernel compiles: the kernels are traced
    and their first calls recorded (for ``--target``), and any other error propagates."""
    import ast

    from kcompiler.exc import NeedsGPU

    for statement in ast.parse(call).body:
        code = compile(ast.Module([statement], []), f"<{name} driver>", "exec")
        try:
            exec(code, namespace)
        except NeedsGPU:
            continue


def _compile_error_line(error: str) -> str:
    """The line of a compile error that names the fault: Triton's CompilationError puts the
    source excerpt and a caret before the message."""
    lines = [line.strip() for line in error.strip().splitlines() if line.strip()]
    named = [line for line in lines if re.match(r"^[\w.]*(Error|error)\b|^\w+Error:", line)]
    return (named[-1] if named else lines[-1] if lines else "unknown error")[:160]


def run_one(name: str, staged: Path, result_file: Path, target: str | None = None) -> None:
    """Child process: import the staged example and run its call; write the outcome. With
    ``target`` (``"sm_90"``), each kernel the example called is then compiled for that GPU
    target with the config its first call ran, on this machine (no GPU needed)."""
    sys.path.insert(0, str(staged))
    example = EXAMPLES[name]
    with settings_env(example.env), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outcome = _run_example(name, example, staged, target)
        warned = [w for w in caught if w.category.__name__ == "IndexOutOfBoundsWarning"]
    if outcome["status"] == "PASS" and (example.env or warned):
        outcome["detail"] = _warned_detail(example.env, warned)
    outcome["detail"] = outcome["detail"].replace(str(staged) + os.sep, "")
    result_file.write_text(json.dumps(outcome))


@contextlib.contextmanager
def settings_env(env: tuple[tuple[str, str], ...]) -> Iterator[None]:
    """The process environment with ``env`` set, restored afterwards (kcompiler reads its
    settings when a kernel compiles)."""
    old = {key: os.environ.get(key) for key, _ in env}
    os.environ.update(dict(env))
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _warned_detail(env: tuple[tuple[str, str], ...], warned: list[Any]) -> str:
    """A passing row's note: the settings it ran with and where kcompiler warned."""
    sites = sorted({(Path(w.filename).name, w.lineno) for w in warned})
    files = sorted({f for f, _ in sites})
    where = (
        f"{files[0]}:" + ", ".join(str(n) for _, n in sites)
        if len(files) == 1
        else ", ".join(f"{f}:{n}" for f, n in sites)
    )
    said = f"IndexOutOfBoundsWarning at {where}" if sites else "no warning"
    return " ".join(f"{k}={v}" for k, v in env) + ("; " if env else "") + said


def _run_example(name: str, example: Example, staged: Path, target: str | None) -> dict[str, str]:
    """Import the staged example, run its call and return its outcome (status, detail)."""
    outcome: dict[str, str] = {"status": "PASS", "detail": ""}
    try:
        module = importlib.import_module("examples." + name.replace("/", "."))
        namespace = vars(module)
        from benchmarks import helion_shim

        namespace.setdefault("assert_outputs_close", helion_shim.assert_outputs_close)
        namespace.setdefault("DEVICE", helion_shim.DEVICE)
        call = example.call or "main()"
        with record_calls() as calls:
            if example.needs_gpu and os.environ.get("TRITON_INTERPRET") == "1":
                run_until_gpu_needed(call, name, namespace)
                outcome = {"status": "SKIP", "detail": example.needs_gpu}
            else:
                exec(compile(call, f"<{name} driver>", "exec"), namespace)
                # On a GPU an out-of-range index surfaces at the kernel's next call or here:
                # an example that calls its kernel once would otherwise never report it.
                import kcompiler

                kcompiler.check_errors()
        if target:
            outcome["target"] = compile_for(target, calls)
            outcome["target_name"] = target
    except AssertionError as err:
        # An example's own check (the shim's comparison or an ``assert``) failing is a wrong
        # result; an AssertionError raised inside kcompiler is an internal error.
        kind = "ERROR" if _is_kcompiler_frame(err) else "FAIL"
        outcome = {"status": kind, "detail": first_line(err)}
    except BaseException as err:  # noqa: BLE001 - every failure is a row in the report
        outcome = {"status": "ERROR", "detail": first_line(err)}
    return outcome


def run_all(
    names: list[str],
    staged: Path,
    timeout: float,
    device: str,
    jobs: int = 1,
    target: str | None = None,
) -> dict[str, dict[str, str]]:
    """Run each example in its own child process, ``jobs`` at a time; the rows come back in
    ``names`` order whatever order the children finish in."""
    env = dict(os.environ)
    # Keep the caller's path (the GPU machine installs the dependencies with --target).
    inherited = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), str(staged), *inherited])
    if device == "cpu":
        env["TRITON_INTERPRET"] = "1"

    def one(name: str) -> dict[str, str]:
        start = time.monotonic()
        out = staged / f"{name.replace('/', '_')}.json"
        command = [sys.executable, "-m", "benchmarks.helion_examples", "--run-one", name]
        command += ["--staged", str(staged), "--result", str(out)]
        if target:
            command += ["--target", target]
        try:
            done = subprocess.run(
                command, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout
            )
            if out.exists():
                result = json.loads(out.read_text())
            else:
                tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
                result = {"status": "ERROR", "detail": f"process died: {tail}"}
        except subprocess.TimeoutExpired:
            result = {"status": "ERROR", "detail": f"time limit ({timeout:.0f}s) exceeded"}
        result["seconds"] = f"{time.monotonic() - start:.0f}"
        print(f"{result['status']:5} {name} {result['detail'][:120]}", flush=True)
        return result

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        finished = dict(zip(names, pool.map(one, names)))
    return {name: finished[name] for name in names}


# Why an example that does not pass does not, where that is known (rendered under the table).
WHY = {
    "nvfp4_gemv": "its e4m3 scale decode is inline PTX (`inline_asm_elementwise`), which "
    "kcompiler's Triton backend and Triton's interpreter do not run",
}


# What a passing row's result rests on, where it needs saying (rendered under the table).
NOTES = {
    "jagged_hstu_attn": "the example's kernel loads `q[tile_q.index + starts]` and stores "
    "`out[tile_q.index + starts]` for every lane of a sequence's last q tile, masking only "
    "the scores (`mask_q`), and reads `k`/`v` up to that tile's end: with the q block of 16 "
    "it runs, a sequence of length n < 37 that is not a multiple of 16 has its lanes n .. "
    "min(16 * ceil(n / 16), 37) - 1 read the next sequence's first rows and store zeros into "
    "them, and the last sequence's read and write past the tensors "
    "(`benchmarks/helion_checks.py`'s `jagged_hstu_overruns` recomputes these rows in plain "
    "torch). By default kcompiler masks the lanes past the tensors and raises "
    "IndexOutOfBounds at line 120; the row runs with the opt-in "
    "`KCOMPILER_OUT_OF_BOUNDS=warn`: those lanes read 0, their writes are dropped, and "
    "kcompiler warns at each indexing line. The zeros stored into the next sequence's rows "
    "are in bounds and race with that sequence's own program: correct here because the "
    "interpreter runs programs in order and kcompiler's flat schedule numbers a sequence's "
    "tiles before the next sequence's (a `persistent_interleaved` config computes wrong rows "
    "on the interpreter too); on a GPU it is a race the example has under any compiler. The "
    "example's own check cannot fail here (atol 0.1, outputs below 0.002: an all-zero output "
    "passes; its reference also keeps the diagonal its kernel masks), so the row also runs "
    "`jagged_hstu_causal`, a strict-causal float64 recomputation at 1e-4 of the output's "
    "magnitude, on lengths where every last tile runs past its sequence (50 calls on a GPU)",
}


def render(
    results: dict[str, dict[str, str]],
    commit: str,
    device: str,
    timeout: float,
    provenance: str = "",
) -> str:
    """The markdown table; ``provenance`` (which run each row comes from) follows the header
    sentence."""
    counts = {
        s: sum(r["status"] == s for r in results.values())
        for s in ("PASS", "FAIL", "ERROR", "SKIP")
    }
    ran = len(results) - counts["SKIP"]
    lines = [
        "# Helion's examples on kcompiler",
        "",
        f"Generated by `python -m benchmarks.helion_examples` on {device}"
        f"{' (Triton interpreter)' if device == 'cpu' else ''}: each example of Helion's "
        f"`examples/` at commit `{commit[:12]}` with only its imports changed, run by its own "
        f"check with the sizes in `EXAMPLES` against the example's own reference "
        f"(time limit {timeout:.0f}s each).{' ' + provenance if provenance else ''}",
        "",
        f"**{counts['PASS']} of {ran} pass** (FAIL {counts['FAIL']}, ERROR {counts['ERROR']}; "
        f"SKIP {counts['SKIP']}).",
        "",
    ]
    target = next((r["target_name"] for r in results.values() if r.get("target_name")), None)
    if target:
        compiled = [r for r in results.values() if r.get("target")]
        ok = sum(r["target"].startswith("ok") for r in compiled)
        lines += [
            f"Each passing example's kernels (and those of an example that needs a GPU, "
            f"traced here up to their compile), compiled for {target} here with the config "
            f"they ran: **{ok} of {len(compiled)} compile**.",
            "",
        ]
        lines += [
            f"| example | result | first error | s | {target} |",
            "| --- | --- | --- | --- | --- |",
        ]
    else:
        lines += ["| example | result | first error | s |", "| --- | --- | --- | --- |"]
    for name in sorted(results):
        r = results[name]
        detail = r["detail"].replace("|", "\\|").replace("\n", " ")[:200]
        row = f"| {name} | {r['status']} | {detail} | {r.get('seconds', '')} |"
        if target:
            row += f" {r.get('target', '').replace('|', '/')} |"
        lines.append(row)
    notes = [
        f"- {n}: {WHY[n]}."
        for n in sorted(results)
        if n in WHY and results[n]["status"] in ("FAIL", "ERROR")
    ]
    if notes:
        lines += ["", "Why the examples that do not pass do not:", "", *notes]
    passing = [
        f"- {n}: {NOTES[n]}."
        for n in sorted(results)
        if n in NOTES and results[n]["status"] == "PASS"
    ]
    if passing:
        lines += ["", "Notes on passing examples:", "", *passing]
    return "\n".join(lines) + "\n"


_ROW = re.compile(
    r"^\| (?P<name>[^|]+) \| (?P<status>PASS|FAIL|ERROR|SKIP) \| (?P<detail>.*?) \| (?P<s>\d*) \|"
    r"(?: (?P<target>[^|]*) \|)?$"
)


def parse_table(text: str) -> dict[str, dict[str, str]]:
    """The rows of a table ``render`` wrote (``--update`` replaces some of them)."""
    rows = {}
    header = re.search(r"^\| example \| result \| first error \| s \| (\S+) \|$", text, re.M)
    for line in text.splitlines():
        m = _ROW.match(line)
        if m:
            detail = m["detail"].replace("\\|", "|")
            rows[m["name"]] = {"status": m["status"], "detail": detail, "seconds": m["s"]}
            if m["target"] and header:
                rows[m["name"]].update(target=m["target"].strip(), target_name=header[1])
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="examples to run (default: all)")
    parser.add_argument("--helion-repo", type=Path, default=DEFAULT_HELION)
    parser.add_argument("--commit", default=DEFAULT_COMMIT)
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds per example")
    parser.add_argument("--device", default="cpu", help="cpu (interpreter) or cuda")
    parser.add_argument("--out", type=Path, help="markdown file to write")
    parser.add_argument("--jobs", type=int, default=1, help="examples run at once")
    parser.add_argument(
        "--target",
        help="also compile each passing example's kernels for this GPU target (sm_90), here",
    )
    parser.add_argument(
        "--update",
        action="store_true",
        help="rerun only the named examples and replace their rows in the existing table",
    )
    parser.add_argument("--run-one", help=argparse.SUPPRESS)
    parser.add_argument("--staged", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_one:
        run_one(args.run_one, args.staged, args.result, args.target)
        return

    source = HelionSource(args.helion_repo, args.commit)
    available = source.listing()
    results: dict[str, dict[str, str]] = {}
    for rel in available:
        top = rel.split("/")[0]
        if top in _SKIP_DIRS and "__init__" not in rel:
            results[rel] = {"status": "SKIP", "detail": _SKIP_DIRS[top]}
    names = args.names or [n for n in EXAMPLES if n in available]
    if args.names:
        results = {}
    for name in names:
        if name not in EXAMPLES:
            raise SystemExit(f"unknown example {name!r}; known: {', '.join(EXAMPLES)}")
        if EXAMPLES[name].skip:
            results[name] = {"status": "SKIP", "detail": EXAMPLES[name].skip}
        elif EXAMPLES[name].needs_gpu and args.device == "cpu" and not args.target:
            results[name] = {"status": "SKIP", "detail": EXAMPLES[name].needs_gpu}
    to_run = [n for n in names if n not in results]
    with tempfile.TemporaryDirectory(prefix="helion-examples-") as tmp:
        staged = Path(tmp)
        stage(source, to_run, staged)
        results.update(run_all(to_run, staged, args.timeout, args.device, args.jobs, args.target))
    if args.out is None and args.names and not args.update:
        return
    if args.out is None:
        folder = "cpu" if args.device == "cpu" else _gpu_folder()
        args.out = REPO_ROOT / "benchmarks" / "results" / folder / "helion-examples.md"
    provenance = ""
    if args.update:
        text = args.out.read_text()
        results = {**parse_table(text), **results}
        provenance = updated_provenance(text, names, args.target)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(results, args.commit, args.device, args.timeout, provenance))
    print(f"wrote {args.out}")


def updated_provenance(text: str, names: list[str], target: str | None) -> str:
    """The provenance sentence of a table ``--update`` rewrites: the old one (after the header
    sentence's time limit) with the rerun rows and this checkout's commit appended."""
    m = re.search(r"\(time limit \d+s each\)\. ?(.*)$", text, re.M)
    old = m[1].strip().rstrip(".") if m else ""
    head = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    flags = "`--update" + (f" --target {target}" if target else "") + "`"
    rerun = f"{', '.join(names)} rerun with {flags} at {head or 'an unknown commit'}"
    return f"{old}; {rerun}." if old else f"{rerun}."


def _gpu_folder() -> str:
    import torch

    return (
        torch.cuda.get_device_name().lower().replace(" ", "-")
        if torch.cuda.is_available()
        else "gpu"
    )


if __name__ == "__main__":
    main()
