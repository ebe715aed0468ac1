"""kl.inline_asm_elementwise: a tile.inline_asm op (printed, parsed back, verified), a located
NeedsGPU error on Triton's CPU interpreter, located errors for misuse, and real GPU code: an
sm_90 compile on this machine, where ptxas checks the PTX the kernel carries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from xdsl.parser import Parser

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.config import Config
from kcompiler.dialects import tile as t
from kcompiler.exc import NeedsGPU, ShapeMismatch, UnsupportedConstruct
from kcompiler.passes.pipeline import make_context

THIS = Path(__file__).name


@kc.kernel(config=kc.Config(block_sizes=[32, 16]))
def add_bytes(rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """out[i, j] = rows[i] + cols[j] + 3, as float32, in one PTX sequence per element: an
    int8 column and an int8 row broadcast, and a literal arg. An int8 arrives in its 32-bit
    register zero-extended (an H200 gave 247 for -9), so the PTX sign-extends it itself."""
    out = torch.empty(rows.size(0), cols.size(0), dtype=torch.float32, device=rows.device)
    for ti, tj in kl.tile([rows.size(0), cols.size(0)]):
        out[ti, tj] = kl.inline_asm_elementwise(  # ASM
            "{ .reg .b32 a, b, s; cvt.s32.s8 a, $1; cvt.s32.s8 b, $2; add.s32 s, a, b; "
            "add.s32 s, s, $3; cvt.rn.f32.s32 $0, s; }",
            "=f,r,r,r",
            [rows[ti][:, None], cols[tj][None, :], 3],
            dtype=torch.float32,
            is_pure=True,
            pack=1,
        )
    return out


@kc.kernel(config=kc.Config(block_sizes=[128]))
def e4m3_to_float(codes: torch.Tensor) -> torch.Tensor:
    """Each int8 code read as a float8_e4m3fn byte, converted by the GPU's cvt.e4m3x2."""
    out = torch.empty(codes.shape, dtype=torch.float32, device=codes.device)
    for tile in kl.tile(codes.size(0)):
        out[tile] = kl.inline_asm_elementwise(
            "{ .reg .b16 pair, lo, hi; .reg .b32 halves; cvt.u16.u32 pair, $1; "
            "cvt.rn.f16x2.e4m3x2 halves, pair; mov.b32 {lo, hi}, halves; cvt.f32.f16 $0, lo; }",
            "=f,r",
            [codes[tile]],
            dtype=torch.float32,
            is_pure=True,
            pack=1,
        )
    return out


def _line_of(marker: str) -> str:
    source = Path(__file__).read_text().splitlines()
    return f"{THIS}:{next(i for i, s in enumerate(source, 1) if marker in s)}"


def _args() -> tuple[torch.Tensor, torch.Tensor]:
    return torch.arange(37, dtype=torch.int8), torch.arange(19, dtype=torch.int8) - 9


def test_ir_has_the_op_and_round_trips() -> None:
    text = add_bytes.to_ir(*_args())
    assert "tile.inline_asm" in text and "pure to f32" in text, text
    module = Parser(make_context(), text).parse_module()
    module.verify()
    assert str(module) == text.strip()
    op = next(op for op in module.walk() if isinstance(op, t.InlineAsmOp))
    assert op.result.type == t.BlockType(("block_0", "block_1"), t.f32)
    assert [a.type.element_type for a in op.args] == [t.i8, t.i8, t.i32]  # type: ignore[attr-defined]


def test_the_interpreter_refuses_at_the_kernel_line() -> None:
    with pytest.raises(NeedsGPU, match="needs a GPU") as info:
        add_bytes(*_args())
    assert _line_of("# ASM") in str(info.value)
    assert "precompile" in str(info.value)


def test_gpu_code_calls_tl_inline_asm_elementwise() -> None:
    launches = add_bytes.generated_launches(
        _args(), {}, Config(block_sizes=[32, 16]), interpret=False
    )
    source = launches[0][0]
    assert re.search(
        r"tl\.inline_asm_elementwise\('\{ \.reg \.b32 a, b, s;.*\}', '=f,r,r,r', "
        r"\[tl\.broadcast_to\(.*\), tl\.broadcast_to\(.*\), tl\.full\(\(BLOCK_0, BLOCK_1\), 3, "
        r"tl\.int32\)\], dtype=tl\.float32, is_pure=True, pack=1\)",
        source,
    ), source


@pytest.mark.parametrize("which", ["add_bytes", "e4m3_to_float"])
def test_compiles_for_sm_90_and_ptxas_takes_the_ptx(
    which: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRITON_CACHE_DIR", str(tmp_path / "cache"))
    if which == "add_bytes":
        kernel, args, config = add_bytes, _args(), Config(block_sizes=[32, 16], num_warps=4)
    else:
        codes = torch.arange(-128, 128, dtype=torch.int8)
        kernel, args, config = e4m3_to_float, (codes,), Config(block_sizes=[128], num_warps=4)
    records = kernel.precompile(*args, configs=[config], target="sm_90", workers=1)
    assert len(records) == 1
    record = records[0]
    assert record.ok, (record.error, [b.error for b in record.binaries])
    assert record.binaries and all(b.registers for b in record.binaries)


@kc.kernel
def misuse(x: torch.Tensor, case: str) -> torch.Tensor:
    out = torch.empty_like(x)
    mov, i32 = "mov.b32 $0, $1;", torch.int32
    for tile in kl.tile(x.size(0)):
        v = x[tile]
        if case == "tuple":
            r = kl.inline_asm_elementwise(mov, "=r,r", [v], (i32, i32), True, 1)  # BAD tuple
        elif case == "pack":
            r = kl.inline_asm_elementwise(mov, "=r,r", [v], i32, True, 0)  # BAD pack
        elif case == "args":
            r = kl.inline_asm_elementwise("mov.b32 $0, 1;", "=r", [], i32, True, 1)  # BAD args
        elif case == "count":
            r = kl.inline_asm_elementwise(mov, "=r,r,r", [v], i32, True, 1)  # BAD count
        else:
            r = kl.inline_asm_elementwise(7, "=r,r", [v], i32, True, 1)  # BAD asm
        out[tile] = r
    return out


@pytest.mark.parametrize(
    ("case", "error", "message"),
    [
        ("tuple", UnsupportedConstruct, "tuple of dtypes"),
        ("pack", UnsupportedConstruct, "pack must be a positive int"),
        ("args", UnsupportedConstruct, "args must be a non-empty list"),
        ("count", ShapeMismatch, "name 2 inputs but the op has 1 args"),
        ("asm", UnsupportedConstruct, "asm must be a string"),
    ],
)
def test_misuse_is_located(case: str, error: type, message: str) -> None:
    with pytest.raises(error, match=message) as info:
        misuse.to_ir(torch.zeros(8, dtype=torch.int32), case)
    assert _line_of(f"# BAD {case}") in str(info.value)
