"""Triton backend: a lowered ``tile.kernel`` -> ``@triton.jit`` source + a host launcher.

The emitted kernel reads like a Triton tutorial: one program per tile of the parallel loops,
named block-size constexprs, offsets and masks computed once per loop, pointer arithmetic with
masks, float32 accumulation for half-precision reductions.

Masking rule: loads fill masked lanes with 0 and stores skip them; values in masked lanes are
otherwise garbage, so every reduction over a masked dim first replaces them by the reduction's
neutral element. That one rule keeps all results exact without tracking validity per value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from xdsl.dialects.builtin import FloatAttr, IntegerAttr, ModuleOp
from xdsl.ir import Attribute, Block, BlockArgument, Operation, SSAValue
from xdsl.utils.exceptions import VerifyException

from kcompiler.backends.triton.bounds import ERRORS, ERRORS_PARAM, FLAG, FLAG_PARAM
from kcompiler.backends.triton.indexing import (
    emit_load,
    emit_store,
    pointer_access,
    pointer_expr,
)
from kcompiler.backends.triton.inline_asm import emit_inline_asm
from kcompiler.backends.triton.persistent_codegen import install
from kcompiler.backends.triton.tl_types import tl_dtype
from kcompiler.dialects import tile as t
from kcompiler.dialects.tile import next_pow2
from kcompiler.exc import CompileError


@dataclass
class CodegenOptions:
    """Everything besides the IR that the emitted code depends on."""

    block_sizes: dict[str, int]
    num_warps: int = 4
    num_stages: int = 1
    int64_indexing: bool = False
    interpret: bool = False  # Triton's CPU interpreter: avoid libdevice
    l2_grouping: int = 1  # rows of tiles per group in the parallel-grid order (>1: grouped)
    # Loop knobs of sequential loops, by block symbol (Helion's range_* config fields):
    # tl.range(num_stages=, loop_unroll_factor=, disallow_acc_multi_buffer=not .., flatten=,
    # warp_specialize=); see loop_knobs.py.
    range_num_stages: dict[str, int] = field(default_factory=dict)
    range_unroll_factors: dict[str, int] = field(default_factory=dict)
    range_multi_buffers: dict[str, bool] = field(default_factory=dict)
    range_flattens: dict[str, bool] = field(default_factory=dict)
    range_warp_specializes: dict[str, bool] = field(default_factory=dict)
    # Emit every load/store with pointers whatever the `indexing` attributes say (the
    # launcher's fallback when arguments don't allow tensor descriptors); see indexing.py.
    indexing_fallback: bool = False
    # Half-precision (f16/bf16) results of arithmetic: False keeps them in float32 registers and
    # rounds at stores and explicit casts only (as torch.compile's Inductor does, and more
    # accurate than eager); True rounds after every op, bit-matching torch eager's op-by-op math
    # at the price of a conversion pair per op.
    round_half_per_op: bool = False
    # float32 tl.dot: "ieee" (full float32, torch's default) or "tf32" (what torch allows after
    # torch.set_float32_matmul_precision("high"/"medium"), and Triton's own default).
    fp32_dot_precision: str = "ieee"
    # fp8 tl.dot on Hopper, whose MMA adds with ~14 significant bits: "imprecise_acc" asks
    # Triton to widen into the float32 accumulator once per K block (max_num_imprecise_acc=K
    # block), "block" writes that widening out (``acc + tl.dot(a, b)``, Inductor's form),
    # "fast" lets the MMA accumulate across the whole K (torch's use_fast_accum=True). Both
    # widening forms give torch._scaled_mm's error; "imprecise_acc" is the default as the faster
    # (benchmarks/results/h100/session3/probe-fp8-accumulate.txt). Set by
    # $KCOMPILER_FP8_ACCUMULATE (kcompiler/settings.py).
    fp8_accumulate: str = "imprecise_acc"
    # Config.maxnreg: the launch's register cap per thread (Triton's maxnreg option, which the
    # CUDA backend passes to ptxas); None leaves it to ptxas.
    maxnreg: int | None = None
    # Config.advanced_controls_file, as Triton's ptx_options ("--apply-controls <file>"), which
    # the CUDA backend passes to ptxas; None: no options.
    ptx_options: str | None = None
    # A sequential loop whose bounds its block may not divide runs its whole tiles unmasked and
    # the ragged last one in a masked copy of the body (see TritonEmitter.peels_tail). Set by
    # $KCOMPILER_PEEL_TAIL (kcompiler/settings.py).
    peel_tail: bool = True
    # Bounds-check computed indices (gathers, scalar indices) into an error buffer, masking
    # out-of-range lanes (bounds.py); $KCOMPILER_INDEX_CHECKS=0 turns it off.
    index_checks: bool = True
    # "warn" (opt-in, $KCOMPILER_OUT_OF_BOUNDS): the checks stay per lane, never hoisted, so
    # a failing lane reads 0 and writes nothing while its neighbours compute as unchecked
    # code would; the host warns instead of raising (bounds.py).
    out_of_bounds: str = "error"


@dataclass
class GeneratedKernel:
    name: str
    source: str  # @triton.jit kernel and launcher, one module
    launcher_name: str
    launcher_params: list[str]
    # The checked indices (bounds.IndexSite), in error-record order; when there are any, the
    # launcher passes its globals ``kc_errors`` and ``kc_error_flag`` to the kernel.
    index_sites: list[Any] = field(default_factory=list)


_UNARY = {
    "exp": "tl.exp({})",
    "exp2": "tl.exp2({})",
    "log": "tl.log({})",
    "log2": "tl.log2({})",
    "sqrt": "tl.sqrt({})",
    "rsqrt": "tl.rsqrt({})",
    "sigmoid": "tl.sigmoid({})",
    "tanh": "(2 * tl.sigmoid(2 * {}) - 1)",
    "sin": "tl.sin({})",
    "cos": "tl.cos({})",
    "erf": "tl.erf({})",
    "floor": "tl.floor({})",
    "ceil": "tl.ceil({})",
    "abs": "tl.abs({})",
    "neg": "-{}",
    "not": "({} == 0)",
}
_BINARY = {
    "add": "{} + {}",
    "sub": "{} - {}",
    "mul": "{} * {}",
    "div": "{} / {}",
    "floordiv": "{} // {}",
    "mod": "{} % {}",
    "maximum": "tl.maximum({}, {})",
    "minimum": "tl.minimum({}, {})",
    "and": "{} & {}",
    "or": "{} | {}",
    "xor": "{} ^ {}",
    "shl": "{} << {}",
    "shr": "{} >> {}",
    "lt": "{} < {}",
    "le": "{} <= {}",
    "gt": "{} > {}",
    "ge": "{} >= {}",
    "eq": "{} == {}",
    "ne": "{} != {}",
}


@dataclass
class _Loop:
    """Codegen state of one enclosing tile.for."""

    block: str
    size: str  # the constexpr (or literal) block size
    offs: str
    begin: str
    ub: str
    mask: str | None  # None: never masked
    mask_dims: tuple[str, ...]
    fallback_mask: str | None
    pid: str


_SLOT = "#kc-slot "  # a marker line's text (see TritonEmitter.slot)


class CodegenError(CompileError):
    """IR the Triton backend cannot emit; carries the op's source location when known."""


def _is_loop_counter(v: SSAValue) -> bool:
    """Whether ``v`` is the start index of a sequential loop's tile (``kl.grid``, a range
    with a run-time bound): the ``tl.range`` counter, a Python int under the interpreter."""
    owner = v.owner
    if not (isinstance(owner, t.TileAttrOp) and owner.attr.data == "begin"):
        return False
    holder = owner.tile.owner
    loop = holder.parent_op() if isinstance(holder, Block) else None
    return isinstance(loop, t.ForOp) and loop.parallel is None


def _is_constexpr(v: SSAValue) -> bool:
    """A value emitted as a Triton constexpr (a tile's block size: ``BLOCK_0`` or a literal),
    which is a Python int in the kernel and has no ``.to``: casts build a scalar instead."""
    owner = v.owner
    return isinstance(owner, t.TileAttrOp) and owner.attr.data == "block_size"


class TritonEmitter:
    def __init__(self, module: ModuleOp, options: CodegenOptions):
        kernels = [op for op in module.ops if isinstance(op, t.KernelOp)]
        if len(kernels) != 1:
            raise CodegenError("expected exactly one tile.kernel in the module")
        self.kernel = kernels[0]
        self.opts = options
        self.lines: list[str] = []
        self.indent = 1
        self.names: dict[SSAValue, str] = {}
        self.counter = 0
        self.loops: dict[str, _Loop] = {}  # block sym -> innermost loop using it
        self.constexprs: dict[str, int] = {}
        self.size_syms: set[str] = set()
        self.hints: dict[str, int] = self.kernel.size_hints
        self.divisors: dict[str, int] = self.kernel.size_divisors
        self.nan_combines: set[str] = set()  # "max"/"min": emit a NaN-propagating combine fn
        self.combine_fns: list[list[str]] = []  # lines of user combine functions (op_combine)
        self.index_sites: list[Any] = []  # bounds.IndexSite of each checked index
        self.check_prologue: list[str] = []  # kernel-level lines of the bounds checks
        self.check_epilogue: list[str] = []
        # Code placed after the fact at a marked line: checks hoisted before a loop (bounds.py)
        # and the clamps of loop bounds those checks stop. A slot is a marker line in
        # ``lines`` that ``expand_slots`` replaces by the slot's lines at its indentation.
        self.slots: list[list[str]] = []
        self.hoist_slots: dict[t.ForOp, int] = {}
        self.bound_slots: dict[t.ForOp, tuple[int, str, str]] = {}  # slot, bound var, lb

    # -- small helpers ----------------------------------------------------------------------
    def line(self, text: str) -> None:
        self.lines.append("    " * self.indent + text)

    def slot(self) -> int:
        """Mark this point of the code; lines added to the slot later appear here."""
        self.slots.append([])
        self.line(f"{_SLOT}{len(self.slots) - 1}")
        return len(self.slots) - 1

    def hoist(self, loop: t.ForOp, lines: list[str]) -> None:
        """Place ``lines`` right before ``loop`` (and its setup), at the loop's indentation."""
        self.slots[self.hoist_slots[loop]] += lines

    def stop_loop(self, loop: t.ForOp, stop: str) -> None:
        """Make a jagged ``loop`` run no iterations where the scalar ``stop`` is true."""
        slot, bound, lb = self.bound_slots[loop]
        self.slots[slot].append(f"{bound} = tl.where({stop}, {lb}, {bound})")

    def expand_slots(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        for line in lines:
            text = line.lstrip(" ")
            if text.startswith(_SLOT):
                pad = line[: len(line) - len(text)]
                out += [pad + x for x in self.expand_slots(self.slots[int(text[len(_SLOT) :])])]
            else:
                out.append(line)
        return out

    def fresh(self, prefix: str = "v") -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def name(self, v: SSAValue) -> str:
        return self.names[v]

    def bind(self, v: SSAValue, expr: str, prefix: str = "v") -> str:
        var = self.fresh(prefix)
        self.line(f"{var} = {expr}")
        self.names[v] = var
        return var

    def dims(self, v: SSAValue) -> tuple[str, ...]:
        return t.block_of(v).dims

    def dim_size(self, d: str) -> str:
        """The constexpr block extent of a dim."""
        if d.isdigit():
            return str(next_pow2(int(d)))
        if d in self.loops:
            return self.loops[d].size
        if d in self.opts.block_sizes:
            name = "BLOCK_" + d.split("_")[-1]
            self.constexprs[name] = self.opts.block_sizes[d]
            return name
        # a size symbol used as a whole dim: its register extent is the next power of two
        name = f"RDIM_{d.upper()}"
        if d not in self.hints:
            raise CodegenError(f"no size hint for symbol {d}")
        self.constexprs[name] = next_pow2(self.hints[d])
        self.size_param(d)
        return name

    def size_param(self, d: str) -> str:
        if d.isdigit():
            return d
        self.size_syms.add(d)
        return d

    def dim_range(self, d: str) -> tuple[str, str | None, tuple[str, ...]]:
        """(index vector expr, mask expr or None, dims of the mask) for a dim as a whole."""
        if d == "1":  # a unit dim, never the grid loops' block "1" (their index is a scalar)
            return "tl.arange(0, 1)", None, ()
        if d in self.loops:
            lp = self.loops[d]
            return lp.offs, lp.mask, lp.mask_dims
        size = self.dim_size(d)
        if d == "1":
            return "tl.arange(0, 1)", None, ()
        if d in self.opts.block_sizes:
            # A block's dim outside its loop (``kl.register_block_size``'s accumulator before
            # or after the loop): every lane is a register of the block, none is out of range.
            return f"tl.arange(0, {size})", None, ()
        if d.isdigit():
            n = int(d)
            if n == next_pow2(n):
                return f"tl.arange(0, {size})", None, ()
            return f"tl.arange(0, {size})", f"(tl.arange(0, {size}) < {n})", (d,)
        if self.divides(self.constexprs.get(size, 0), d):
            return f"tl.arange(0, {size})", None, ()  # the size is exactly its register extent
        return f"tl.arange(0, {size})", f"(tl.arange(0, {size}) < {self.size_param(d)})", (d,)

    def divides(self, block: int, extent: str) -> bool:
        """Whether the power of two ``block`` divides ``extent`` (a literal or a size symbol)
        in every launch: the size's divisor is part of the specialization key."""
        if block < 1:
            return False
        if extent.isdigit():
            return int(extent) % block == 0
        divisor = self.divisors.get(extent)
        return divisor is not None and divisor % block == 0

    def even_loop(self, op: t.ForOp) -> bool:
        """A tiled loop from a constant multiple of its block to a size its block divides: every
        tile is whole, so it needs no mask (what Triton's tutorials call ``EVEN_K``)."""
        block = self.opts.block_sizes.get(op.block.data, 0)
        if op.block.data.isdigit():
            block = int(op.block.data)
        lb, ub = t.static_bound(op.lb), t.static_bound(op.ub)
        if not isinstance(lb, int) or ub is None:
            return False
        return self.divides(block, str(lb)) and self.divides(block, str(ub))

    @staticmethod
    def expand(expr: str, src: tuple[str, ...], dst: tuple[str, ...]) -> str:
        """Insert None axes so a value with dims ``src`` lines up with ``dst``.

        ``src`` must be an ordered subsequence of ``dst`` (dims match by name)."""
        if src == dst:
            return expr
        if not src:
            return expr
        idx = []
        j = 0
        for d in dst:
            if j < len(src) and src[j] == d:
                idx.append(":")
                j += 1
            else:
                idx.append("None")
        if j != len(src):
            raise CodegenError(f"cannot align dims {src} into {dst}")
        return f"{expr}[{', '.join(idx)}]"

    def align_right(self, expr: str, src: tuple[str, ...], rank: int) -> str:
        """Numpy broadcasting: prepend unit axes up to ``rank``."""
        if len(src) == rank or not src:
            return expr
        return f"{expr}[{', '.join(['None'] * (rank - len(src)) + [':'] * len(src))}]"

    def mask_for(self, dims: tuple[str, ...], skip_unit: bool = True) -> str | None:
        parts: list[str] = []
        for pos, d in enumerate(dims):
            if d == "1":
                continue
            _, mask, mdims = self.dim_range(d)
            if mask is None:
                continue
            if mdims == (d,) and dims.count(d) > 1:
                # A dim that occurs twice (w[:, :] of a square [n, n] tensor): its own mask,
                # placed by position, once per occurrence.
                idx = [":" if i == pos else "None" for i in range(len(dims))]
                parts.append(f"{mask}[{', '.join(idx)}]")
            elif all(m in dims for m in mdims) and [m for m in dims if m in mdims] == list(mdims):
                parts.append(self.expand(mask, mdims, dims))
            elif all(m in dims for m in mdims) and len(set(mdims)) == len(mdims):
                # The mask's dims occur in the access in another order (a jagged row x chunk
                # mask in a chunk x row access): permute the mask to that order first. The
                # loop's fallback mask (below) bounds a chunk by the longest row only.
                order = tuple(m for m in dims if m in mdims)
                perm = tuple(mdims.index(m) for m in order)
                parts.append(self.expand(f"tl.permute({mask}, {perm})", order, dims))
            else:
                lp = self.loops.get(d)
                fb = lp.fallback_mask if lp else None
                if fb is None:
                    raise CodegenError(f"mask of dim {d} depends on dims not in {dims}")
                parts.append(self.expand(fb, (d,), dims))
        if not parts:
            return None
        return " & ".join(parts) if len(parts) == 1 else "(" + ") & (".join(parts) + ")"

    def shape_tuple(self, dims: tuple[str, ...]) -> str:
        if not dims:
            return "()"
        return (
            "(" + ", ".join(self.dim_size(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"
        )

    def operand(self, v: SSAValue, dtype: Attribute | None = None) -> str:
        expr = self.name(v)
        src = t.block_of(v).element_type
        if dtype is not None and src != dtype:
            owner = v.owner
            if (
                dtype in (t.f16, t.bf16)
                and not t.is_float(src)
                and not isinstance(owner, t.ConstantOp)
            ):
                return f"{expr}.to(tl.float32).to({tl_dtype(dtype)})"  # int/bool -> half via f32
            if isinstance(owner, t.ConstantOp):
                # A literal: retype it in Python instead of casting a tensor.
                value = owner.value.value.data  # type: ignore[union-attr]
                if src == t.i1:  # xDSL stores i1 signed: true is -1, but True is 1 in torch
                    value = int(bool(value))
                if t.is_float(dtype) and math.isfinite(float(value)):
                    return repr(float(value))
                if t.is_int(dtype) and not isinstance(value, float):
                    # torch converts a Python int to the tensor's integer dtype, wrapping
                    # modulo 2^width (int8 + 1000 adds -24); Triton refuses a literal out of
                    # its operand's range.
                    low, high = t.int_range(dtype)
                    wrapped = (int(value) - low) % (high - low + 1) + low
                    if low == 0 and dtype != t.i1:
                        # Triton types a bare literal int32, whose signedness its `//` and
                        # `%` refuse to mix with an unsigned operand's.
                        return f"tl.full((), {wrapped}, {tl_dtype(dtype)})"
                    return str(wrapped)
                return f"tl.full((), {expr}, {tl_dtype(dtype)})"
            if (
                _is_constexpr(v)
                or (isinstance(v, BlockArgument) and isinstance(v.owner.parent_op(), t.KernelOp))
                or (self.opts.interpret and _is_loop_counter(v))
            ):
                # A block size is a constexpr (a Python int, no ``.to``), and Triton's
                # interpreter passes scalar arguments as unconverted Python floats and runs
                # tl.range with Python int counters: tl.full converts a scalar in both modes.
                return f"tl.full((), {expr}, {tl_dtype(dtype)})"
            if isinstance(owner, t.TileAttrOp) and not t.block_of(v).dims:
                # A tile's begin/end in a sequential loop is the loop's Python int under the
                # interpreter: tl.cast converts a scalar or a tensor.
                return f"tl.cast({expr}, {tl_dtype(dtype)})"
            return f"{expr}.to({tl_dtype(dtype)})"
        return expr

    # -- emission ---------------------------------------------------------------------------
    def generate(self) -> GeneratedKernel:
        kname = self.kernel.sym_name.data
        body_lines: list[str] = []
        self.lines = body_lines
        block = self.kernel.body.block
        tensor_params: list[str] = []
        for name, arg in zip(self.kernel.names, block.args):
            if isinstance(arg.type, t.TensorType):
                self.names[arg] = f"{name}_ptr"
                tensor_params.append(name)
            else:
                self.names[arg] = name
        self.emit_block(block)
        body_lines[:] = self.expand_slots(body_lines)
        # Bounds checks (bounds.py) carry their failures from the kernel's start to its end.
        body_lines[:0] = ["    " + line for line in self.check_prologue]
        body_lines += ["    " + line for line in self.check_epilogue]

        # Signature: pointers, strides, sizes, scalars, constexprs.
        sig: list[str] = []
        launch_args: list[str] = []
        for name, arg in zip(self.kernel.names, block.args):
            if isinstance(arg.type, t.TensorType):
                sig.append(f"{name}_ptr")
                launch_args.append(name)
        if self.index_sites:
            sig += [ERRORS_PARAM, FLAG_PARAM]
            launch_args += [ERRORS, FLAG]
        for name, arg in zip(self.kernel.names, block.args):
            if isinstance(arg.type, t.TensorType):
                for i in range(len(arg.type.dims)):
                    sig.append(f"{name}_stride_{i}")
                    launch_args.append(f"{name}.stride({i})")
        size_syms = sorted(self.size_syms, key=lambda s: (len(s), s))
        for s in size_syms:
            sig.append(s)
            launch_args.append(s)
        for name, arg in zip(self.kernel.names, block.args):
            if not isinstance(arg.type, t.TensorType):
                sig.append(name)
                launch_args.append(name)
        for c in sorted(self.constexprs):
            sig.append(f"{c}: tl.constexpr")
            launch_args.append(f"{c}={self.constexprs[c]}")

        out: list[str] = ["import triton", "import triton.language as tl", "", ""]
        for kind in sorted(self.nan_combines):  # combine functions of NaN-propagating max/min
            fn = "maximum" if kind == "max" else "minimum"
            out += ["@triton.jit", f"def _kc_nan{kind}(a, b):"]
            out += [f"    return tl.{fn}(a, b, propagate_nan=tl.PropagateNan.ALL)", "", ""]
        for fn_lines in self.combine_fns:
            out += fn_lines
        out.append("@triton.jit")
        out.append(f"def {kname}(")
        out.extend(f"    {s}," for s in sig)
        out.append("):")
        out.extend(body_lines)
        out.append("")
        out.append("")

        # Launcher: computes sizes and the grid from host values, then launches.
        params = list(self.kernel.names)
        extra = sorted({src for src in self.size_sources.values()} - set(params))
        lname = f"launch_{kname}"
        # ``_kc_launch``: the runtime's launch of the already compiled kernel, given the grid and
        # every argument positionally (constexprs included). It skips Triton's per-call binding
        # and specialization, which is valid only for arguments of the same specialization; the
        # runtime guarantees that by keying it on exact sizes, strides and alignment.
        out.append(f"def {lname}({', '.join(params + extra)}, _kc_launch=None):")
        for s in size_syms:
            out.append(f"    {s} = {self.size_exprs[s]}")
        out.append(f"    num_tiles = {self.grid_expr}")
        out.append("    if num_tiles <= 0:")
        out.append("        return")
        positional = [a.split("=", 1)[1] if "=" in a else a for a in launch_args]
        out.append("    if _kc_launch is not None:")
        out.append(f"        return _kc_launch(num_tiles, {', '.join(positional)})")
        args = ", ".join(launch_args)
        launch_options = f"num_warps={self.opts.num_warps}, num_stages={self.opts.num_stages}"
        if self.opts.maxnreg is not None:
            launch_options += f", maxnreg={self.opts.maxnreg}"
        if self.opts.ptx_options is not None:
            launch_options += f", ptx_options={self.opts.ptx_options!r}"
        out.append(f"    return {kname}[(num_tiles,)]({args}, {launch_options})")
        return GeneratedKernel(
            kname, "\n".join(out) + "\n", lname, params + extra, list(self.index_sites)
        )

    # The runtime fills these: where each size symbol's value comes from on the host.
    size_exprs: dict[str, str]
    size_sources: dict[str, str]
    grid_expr: str = "1"

    def emit_block(self, block: Block) -> None:
        for op in block.ops:
            self.emit_op(op)

    def emit_op(self, op: Operation) -> None:
        handler = getattr(self, "op_" + op.name.split(".")[1], None)
        loc = op.attributes.get("loc")
        where = loc.data if loc is not None else None  # type: ignore[union-attr]
        if handler is None:
            raise CodegenError(f"no Triton lowering for {op.name}", where)
        try:
            handler(op)
        except CodegenError as e:
            if e.location is None and where is not None:
                raise CodegenError(str(e), where) from None
            raise

    def op_yield(self, op: t.YieldOp) -> None:
        pass  # handled by op_for

    def op_constant(self, op: t.ConstantOp) -> None:
        v = op.value
        if isinstance(v, FloatAttr):
            f = v.value.data
            text = repr(f) if math.isfinite(f) else ("float('inf')" if f > 0 else "float('-inf')")
            if math.isnan(f):
                text = "float('nan')"
        else:
            assert isinstance(v, IntegerAttr)
            text = str(v.value.data)
            if v.type == t.i1:
                text = "True" if v.value.data else "False"
        self.names[op.result] = text

    def op_size(self, op: t.SizeOp) -> None:
        sym = op.sym.data
        if sym in self.loops or sym in self.opts.block_sizes:
            self.names[op.result] = self.dim_size(sym)
        else:
            self.names[op.result] = self.size_param(sym)

    def op_tile_attr(self, op: t.TileAttrOp) -> None:
        ty = op.tile.type
        assert isinstance(ty, t.TileType)
        lp = self.loops[ty.block.data]
        attr = op.attr.data
        expr = {
            "begin": lp.begin,
            "end": f"tl.minimum({lp.begin} + {lp.size}, {lp.ub})",
            "id": lp.pid,
            "block_size": lp.size,
        }[attr]
        self.names[op.result] = expr if attr != "end" else self.bind(op.result, expr, "end")

    def op_index(self, op: t.TileIndexOp) -> None:
        ty = op.tile.type
        assert isinstance(ty, t.TileType)
        self.names[op.result] = self.loops[ty.block.data].offs

    def op_full(self, op: t.FullOp) -> None:
        dims = self.dims(op.result)
        dt = tl_dtype(op.dtype)
        fill = op.value.owner
        if not dims:
            # A literal, a size or a scalar argument is a Python number under Triton's
            # interpreter (no ``.to``): tl.full converts a scalar in both modes.
            v = op.value
            scalar = isinstance(fill, (t.ConstantOp, t.SizeOp)) or (
                isinstance(v, BlockArgument) and isinstance(v.owner.parent_op(), t.KernelOp)
            )
            self.bind(
                op.result,
                f"tl.full((), {self.name(v)}, {dt})" if scalar else f"{self.name(v)}.to({dt})",
            )
            return
        if isinstance(fill, t.ConstantOp) and op.dtype in (t.f16, t.bf16):
            # Triton's interpreter fills half-precision blocks with garbage: fill, then cast.
            shape = self.shape_tuple(dims)
            self.bind(op.result, f"tl.full({shape}, {self.name(op.value)}, tl.float32).to({dt})")
        elif isinstance(fill, t.ConstantOp):
            self.bind(op.result, f"tl.full({self.shape_tuple(dims)}, {self.name(op.value)}, {dt})")
        else:
            self.bind(
                op.result,
                f"tl.zeros({self.shape_tuple(dims)}, {dt}) + {self.operand(op.value, op.dtype)}",
            )

    def op_arange(self, op: t.ArangeOp) -> None:
        (d,) = self.dims(op.result)
        size = "1" if d == "1" else self.dim_size(d)
        expr = f"tl.arange(0, {size})"  # int32; lanes past the dim are masked by the dim
        if op.dtype != t.i32:
            expr += f".to({tl_dtype(op.dtype)})"
        self.bind(op.result, expr)

    def op_cast(self, op: t.CastOp) -> None:
        src = t.block_of(op.operand).element_type
        x = self.name(op.operand)
        if (
            _is_constexpr(op.operand)
            or isinstance(op.operand.owner, t.ConstantOp)
            or (self.opts.interpret and _is_loop_counter(op.operand))
        ):
            # a Python number in the code (a block size, a literal; under the interpreter a
            # sequential loop's counter too) has no .to
            x = f"tl.full((), {x}, {tl_dtype(src)})"
        if (src in (t.f16, t.bf16)) != (op.dtype in (t.f16, t.bf16)) and not (
            t.is_float(src) and t.is_float(op.dtype)
        ):
            x = f"{x}.to(tl.float32)"  # int <-> half goes through float32 (exact, and the
            # interpreter converts ints to bf16 wrongly)
        self.bind(op.result, f"{x}.to({tl_dtype(op.dtype)})")

    def _aligned(self, v: SSAValue, out_dims: tuple[str, ...], dtype: Attribute | None) -> str:
        expr = self.operand(v, dtype)
        return self.align_right(expr, self.dims(v), len(out_dims))

    def op_binary(self, op: t.BinaryOp) -> None:
        kind = op.kind.data
        out = self.dims(op.result)
        odt = op.operand_dtype()
        a = self._aligned(op.lhs, out, odt)
        if kind == "pow":
            rhs_op = op.rhs.owner
            if isinstance(rhs_op, t.ConstantOp):
                p = rhs_op.value.value.data  # type: ignore[union-attr]
                if float(p).is_integer() and 1 <= p <= 4:
                    self.bind(op.result, " * ".join([a] * int(p)))
                    return
                if p == 0.5:
                    self.bind(op.result, self._float32_math("tl.sqrt({})", a, odt))
                    return
            b = self._aligned(op.rhs, out, odt)
            if odt in (t.f16, t.bf16):
                a = self._half_math_operand(op.lhs, out, odt)
                b = self._half_math_operand(op.rhs, out, odt)
                a, b = self._unliteral(op.lhs, a), self._unliteral(op.rhs, b)
            expr = self._float_pow(a, b)
            self.bind(op.result, self._half_result(expr, odt) if odt in (t.f16, t.bf16) else expr)
            return
        b = self._aligned(op.rhs, out, odt)
        if odt in (t.f16, t.bf16):
            # Half-precision math runs in float32 and rounds once per op, as torch does
            # (Triton's interpreter also mis-computes bf16 arithmetic done natively).
            a, b = (
                self._half_math_operand(op.lhs, out, odt),
                self._half_math_operand(op.rhs, out, odt),
            )
            a, b = self._unliteral(op.lhs, a), self._unliteral(op.rhs, b)
        if odt == t.i1 and kind in ("add", "mul", "maximum", "minimum"):
            # torch's bool arithmetic is logical (True + True is True); i1 math would wrap.
            expr = f"{a} | {b}" if kind in ("add", "maximum") else f"{a} & {b}"
        elif kind in ("floordiv", "mod"):
            expr = self._floor_divmod(kind, a, b, t.is_float(odt))
        elif kind in ("maximum", "minimum") and t.is_float(odt):
            # torch.maximum/minimum propagate NaN; Triton's default does not.
            expr = f"tl.{kind}({a}, {b}, propagate_nan=tl.PropagateNan.ALL)"
        else:
            expr = _BINARY[kind].format(a, b)
        res_elt = t.block_of(op.result).element_type
        if res_elt in (t.f16, t.bf16):
            expr = self._half_result(expr, res_elt)
        self.bind(op.result, expr)

    def _half_math_operand(self, v: SSAValue, out: tuple[str, ...], odt: Attribute) -> str:
        """An operand of a half-precision op (``odt``), in float32. A float32/float64 operand
        of such an op is a Python float (a scalar argument): torch computes with it in float32
        without rounding it to ``odt`` first (``x * 1e-8`` is not ``x * 0``)."""
        if t.is_float(t.block_of(v).element_type) and t.block_of(v).element_type not in (
            t.f16,
            t.bf16,
        ):
            return self._aligned(v, out, t.f32)
        return f"{self._aligned(v, out, odt)}.to(tl.float32)"

    def _float_pow(self, x: str, y: str) -> str:
        """torch.pow of floats as ``|x| ** y = exp2(log2|x| * y)``, with C's pow rules where
        that form is NaN or unsigned: a negative base gives the sign of an odd integer
        exponent (-0.0 too) and NaN for a non-integer one (-inf, -0.0: as inf, 0); ``x ** 0``
        and ``1 ** y`` are 1 (NaN included), ``(-1) ** ±inf`` is 1."""
        x, y = self.bind_tmp(x), self.bind_tmp(y)
        ax = self.bind_tmp(f"tl.abs({x})")
        mag = self.bind_tmp(f"tl.where({ax} == 1.0, 1.0, tl.exp2(tl.log2({ax}) * {y}))")
        # Negative, -0.0 included (1 / -0.0 is -inf): an odd power keeps the sign.
        neg = self.bind_tmp(f"({x} < 0.0) | (({x} == 0.0) & (1.0 / {x} < 0.0))")
        whole = self.bind_tmp(f"tl.floor({y}) == {y}")  # an integer (or infinite) exponent
        odd = self.bind_tmp(f"{whole} & (tl.floor({y} * 0.5) * 2.0 != {y})")
        # A fractional power of a negative number is NaN, but of -inf and -0.0 as of +inf, +0.
        edge = f"({ax} == float('inf')) | ({ax} == 0.0)"
        fraction = f"tl.where({edge}, {mag}, float('nan'))"
        signed = f"tl.where({whole}, tl.where({odd}, -{mag}, {mag}), {fraction})"
        return f"tl.where({y} == 0.0, 1.0, tl.where({neg}, {signed}, {mag}))"

    def _float32_math(self, template: str, x: str, dtype: Attribute) -> str:
        """Triton's math functions take fp32/fp64: half inputs go through float32."""
        if dtype in (t.f16, t.bf16):
            return self._half_result(template.format(f"{x}.to(tl.float32)"), dtype)
        return template.format(x)

    def _half_result(self, expr: str, dtype: Attribute) -> str:
        """A float32 expression whose IR type is ``dtype`` (f16/bf16): rounded now, or kept in
        float32 until a store or an explicit cast (``CodegenOptions.round_half_per_op``)."""
        if self.opts.round_half_per_op:
            return f"({expr}).to({tl_dtype(dtype)})"
        return expr

    def _floor_divmod(self, kind: str, a: str, b: str, is_float: bool) -> str:
        """torch's floor semantics; Triton's ``//`` and ``%`` truncate toward zero (C)."""
        a, b = self.bind_tmp(a), self.bind_tmp(b)
        if is_float:
            if kind == "floordiv":
                return f"tl.floor({a} / {b})"
            return f"{a} - tl.floor({a} / {b}) * {b}"
        r = self.bind_tmp(f"{a} % {b}")
        wrong_sign = f"({r} != 0) & (({r} < 0) != ({b} < 0))"
        if kind == "mod":
            return f"tl.where({wrong_sign}, {r} + {b}, {r})"
        return f"tl.where({wrong_sign}, {a} // {b} - 1, {a} // {b})"

    def _unliteral(self, v: SSAValue, expr: str) -> str:
        """A literal operand needs no cast: Python floats combine with float32 tensors."""
        if isinstance(v.owner, t.ConstantOp) and t.block_of(v).rank == 0:
            return expr.rsplit(".to(", 1)[0]
        return expr

    def op_unary(self, op: t.UnaryOp) -> None:
        kind = op.kind.data
        src = t.block_of(op.operand).element_type
        res = t.block_of(op.result).element_type
        x = self.name(op.operand)
        if kind in t.UNARY_FLOAT:
            if src != t.f32 and src != t.f64:
                x = f"{x}.to(tl.float32)"
            expr = self._accurate_unary(kind, x) if kind in ("log1p", "expm1") else None
            expr = expr or _UNARY[kind].format(x)
            if res in (t.f16, t.bf16):
                expr = self._half_result(expr, res)
            elif res != t.f32 and res != t.f64:
                expr = f"({expr}).to({tl_dtype(res)})"
            elif kind == "tanh":
                expr = f"({expr})"
        elif self.opts.interpret and src == t.bf16 and kind in ("neg", "abs"):
            # Triton's interpreter holds bf16 blocks as raw 16-bit patterns: negating or taking
            # the absolute value of those bits is wrong, so compute in float32.
            expr = self._half_result(_UNARY[kind].format(f"{x}.to(tl.float32)"), src)
        else:
            expr = _UNARY[kind].format(x)
        self.bind(op.result, expr)

    def _accurate_unary(self, kind: str, x: str) -> str:
        """log1p and expm1 without cancellation near 0, from tl.log/tl.exp alone (Triton's
        interpreter has no libdevice): with u = 1 + x, log1p(x) = log(u) * x / (u - 1), exact
        where u rounds to 1; with u = exp(x), expm1(x) = (u - 1) * x / log(u)."""
        x = self.bind_tmp(x)
        if kind == "log1p":
            u = self.bind_tmp(f"1.0 + {x}")
            exact = f"tl.log({u}) * ({x} / ({u} - 1.0))"
            return f"tl.where({u} == 1.0, {x}, tl.where({u} == float('inf'), {u}, {exact}))"
        u = self.bind_tmp(f"tl.exp({x})")
        exact = f"({u} - 1.0) * ({x} / tl.log({u}))"
        near = f"tl.where({u} - 1.0 == -1.0, -1.0, {exact})"
        return f"tl.where({u} == 1.0, {x}, tl.where({u} == float('inf'), {u}, {near}))"

    def op_permute(self, op: t.PermuteOp) -> None:
        order = op.order
        x = self.name(op.operand)
        if order == tuple(range(len(order))):
            self.names[op.result] = x
            return
        self.bind(op.result, f"tl.permute({x}, {tuple(order)})")

    def op_broadcast(self, op: t.BroadcastOp) -> None:
        src, dst = self.dims(op.operand), self.dims(op.result)
        x = self.align_right(self.name(op.operand), src, len(dst))
        if not src:
            dt = tl_dtype(t.block_of(op.result).element_type)
            self.bind(op.result, f"tl.zeros({self.shape_tuple(dst)}, {dt}) + {x}")
            return
        self.bind(op.result, f"tl.broadcast_to({x}, {self.shape_tuple(dst)})")

    def op_select(self, op: t.SelectOp) -> None:
        out = self.dims(op.result)
        dt = t.block_of(op.result).element_type
        c = self._aligned(op.cond, out, None)
        a = self._aligned(op.lhs, out, dt)
        b = self._aligned(op.rhs, out, dt)
        if dt in (t.f16, t.bf16):
            a = self._unliteral(op.lhs, f"{a}.to(tl.float32)")
            b = self._unliteral(op.rhs, f"{b}.to(tl.float32)")
            self.bind(op.result, self._half_result(f"tl.where({c}, {a}, {b})", dt))
            return
        self.bind(op.result, f"tl.where({c}, {a}, {b})")

    def op_reshape(self, op: t.ReshapeOp) -> None:
        src = self.dims(op.operand)
        dst = self.dims(op.result)
        x = self.name(op.operand)
        if not src:
            self.names[op.result] = x  # a scalar broadcasts anywhere
            return
        # Only unit dims are inserted: index with None.
        src_nu = [d for d in src if d != "1"]
        if "1" not in src and [d for d in dst if d != "1"] == src_nu:
            self.bind(op.result, self.expand(x, src, dst))
            return
        self.bind(op.result, f"tl.reshape({x}, {self.shape_tuple(dst)})")

    _NEUTRAL = {
        "sum": "0",
        "max": "float('-inf')",
        "min": "float('inf')",
        "argmax": "float('-inf')",
        "argmin": "float('inf')",
        "prod": "1",
    }

    def _combined_operand(self, op: t.AlongDimOp) -> tuple[str, Attribute, Attribute]:
        """The operand of a reduction or scan as Triton combines it, with the operand's and
        the result's element types: f16/bf16 combine in float32; otherwise the values
        combine in the result's type (a sum of ints or bools in int64, as torch's), except
        for argmax/argmin, whose result is an index, not a value."""
        x = self.name(op.operand)
        elt = t.block_of(op.operand).element_type
        res_elt = t.block_of(op.result).element_type
        if elt in (t.f16, t.bf16):
            x = f"{x}.to(tl.float32)"
        elif res_elt != elt and op.kind.data not in ("argmax", "argmin"):
            x = f"{x}.to({tl_dtype(res_elt)})"
        return x, elt, res_elt

    def op_reduce(self, op: t.ReduceOp) -> None:
        kind = op.kind.data
        src = self.dims(op.operand)
        axis = op.axis
        x, elt, res_elt = self._combined_operand(op)
        mask = self._scanned_dim_mask(src, axis)
        if mask is not None:
            neutral = self._NEUTRAL[kind]
            if not t.is_float(elt) and kind in ("max", "min", "argmax", "argmin"):
                # The extreme of the reduced type itself (a row of nothing but that value
                # keeps it), as a scalar of that type: a bare literal would widen a narrow
                # type, and a negative one cannot meet an unsigned tensor.
                lo, hi = t.int_range(elt)
                value = lo if kind in ("max", "argmax") else hi
                neutral = f"tl.full([], {value}, {tl_dtype(elt)})"
            if not t.is_float(elt) and elt != t.i1:
                # Ints reduce in their IR type: tile offsets are i64 in the IR but int32 in
                # Triton, and the neutral element must fit the type actually reduced.
                x = f"{x}.to({tl_dtype(elt)})"
            x = self.bind_tmp(f"tl.where({mask}, {x}, {neutral})")
        keep = ", keep_dims=True" if op.keepdim is not None else ""
        if kind == "prod":
            raise CodegenError("prod reductions are not supported by the Triton backend yet")
        fn = {
            "sum": "tl.sum",
            "max": "tl.max",
            "min": "tl.min",
            "argmax": "tl.argmax",
            "argmin": "tl.argmin",
        }[kind]
        expr = f"{fn}({x}, axis={axis}{keep})"
        if kind in ("max", "min") and t.is_float(elt):
            # torch's max/min return NaN for a row holding one; tl.max/tl.min skip it.
            self.nan_combines.add(kind)
            expr = f"tl.reduce({x}, {axis}, _kc_nan{kind}{keep})"
        if kind in ("argmax", "argmin") and t.is_float(elt):
            # torch: a NaN is larger (and smaller) than everything, so the index of the first
            # NaN of a row wins; Triton's comparisons skip NaN. Masked lanes hold the neutral.
            nan = self.bind_tmp(f"({x} != {x}).to(tl.int32)")
            finite = self.bind_tmp(f"tl.where({nan} != 0, {self._NEUTRAL[kind]}, {x})")
            first_nan = f"tl.argmax({nan}, axis={axis}{keep})"  # ties break left: the first
            expr = (
                f"tl.where(tl.max({nan}, axis={axis}{keep}) != 0, {first_nan}, "
                f"{fn}({finite}, axis={axis}{keep}))"
            )
        if res_elt in (t.f16, t.bf16) and elt in (t.f16, t.bf16):
            expr = self._half_result(expr, res_elt)
        elif res_elt != t.block_of(op.operand).element_type or elt in (t.f16, t.bf16):
            expr = f"{expr}.to({tl_dtype(res_elt)})"
        self.bind(op.result, expr)

    def _scanned_dim_mask(self, src: tuple[str, ...], axis: int) -> str | None:
        """The mask of a block's lanes along the scanned/reduced dim, laid out along ``src``
        (None when that dim has no lanes past its end)."""
        d = src[axis]
        if d == "1" or self.dim_range(d)[1] is None:
            return None
        return self.mask_for(src)

    def op_scan(self, op: t.ScanOp) -> None:
        kind = op.kind.data
        src = self.dims(op.operand)
        axis = op.axis
        x, _, res_elt = self._combined_operand(op)
        reverse = op.reverse is not None
        mask = self._scanned_dim_mask(src, axis) if reverse else None
        if mask is not None:
            # A reverse scan carries the lanes past the dim's end into every result: they
            # must hold the neutral element (a forward scan only reaches them last).
            x = self.bind_tmp(f"tl.where({mask}, {x}, {'0' if kind == 'sum' else '1'})")
        fn = "tl.cumsum" if kind == "sum" else "tl.cumprod"
        expr = f"{fn}({x}, axis={axis}{', reverse=True' if reverse else ''})"
        if res_elt in (t.f16, t.bf16):
            expr = self._half_result(expr, res_elt)
        self.bind(op.result, expr)

    def op_combine(self, op: t.CombineOp) -> None:
        """A user combine function: its body becomes a ``@triton.jit`` function of the left
        and right elements, called by ``tl.associative_scan`` / ``tl.reduce``."""
        n = len(op.inputs)
        src = self.dims(op.inputs[0])
        axis = op.axis
        mode = op.mode.data
        reverse = op.reverse is not None
        mask = self._scanned_dim_mask(src, axis) if mode == "reduce" or reverse else None
        fn = self._combine_function(op, flagged=mode == "scan" and mask is not None)
        xs = [self.name(v) for v in op.inputs]
        if mode == "reduce" and mask is not None:
            xs = [
                self.bind_tmp(
                    f"tl.where({mask}, {x}, {self.operand(o, t.block_of(v).element_type)})"
                )
                for x, v, o in zip(xs, op.inputs, op.others)
            ]
        elif mask is not None:
            # A reverse scan reaches the lanes past the dim's end first: each element carries
            # a "real" flag, and the combine treats unreal elements as absent.
            flag = f"tl.where({mask}, 1, 0) + tl.zeros({self.shape_tuple(src)}, tl.int32)"
            xs = [self.bind_tmp(flag), *xs]
        args = xs[0] if len(xs) == 1 else "(" + ", ".join(xs) + ")"
        if mode == "scan":
            call = f"tl.associative_scan({args}, {axis}, {fn}{', reverse=True' if reverse else ''})"
        else:
            keep = ", keep_dims=True" if op.keepdim is not None else ""
            call = f"tl.reduce({args}, {axis}, {fn}{keep})"
        outs = list(op.res)
        if len(xs) == 1:
            self.bind(outs[0], call)
            return
        tup = self.bind_tmp(call)
        first = len(xs) - n  # the flag, when there is one, comes first
        for i, r in enumerate(outs):
            self.names[r] = f"{tup}[{first + i}]"

    def _combine_function(self, op: t.CombineOp, flagged: bool) -> str:
        name = f"_kc_combine_{len(self.combine_fns)}"
        n = len(op.inputs)
        args = op.body.block.args
        params = [f"a{i}" for i in range(n)] + [f"b{i}" for i in range(n)]
        saved = (self.lines, self.indent)
        lines: list[str] = []
        self.lines, self.indent = lines, 1
        try:
            for a, p in zip(args, params):
                self.names[a] = p
            for inner in op.body.block.ops:
                if isinstance(inner, t.YieldOp):
                    rets = []
                    for v, a in zip(inner.values, args):
                        dt = t.block_of(a).element_type
                        r = self.name(v)
                        if isinstance(v.owner, t.ConstantOp) or dt in (t.f16, t.bf16):
                            r = (
                                f"tl.full((), {r}, {tl_dtype(dt)})"
                                if isinstance(v.owner, t.ConstantOp)
                                else f"{r}.to({tl_dtype(dt)})"
                            )
                        rets.append(r)
                    self.line("return " + ", ".join(rets))
                else:
                    self.emit_op(inner)
        finally:
            self.lines, self.indent = saved
        fn = ["@triton.jit", f"def {name}({', '.join(params)}):", *lines, "", ""]
        if flagged:
            # Combine (flag, x...) pairs so that an element whose flag is 0 acts as absent.
            base, name = name, f"{name}_flagged"
            fa, fb = "fa", "fb"
            av, bv = params[:n], params[n:]
            fn += ["@triton.jit", f"def {name}({fa}, {', '.join(av)}, {fb}, {', '.join(bv)}):"]
            fn.append(f"    c = {base}({', '.join(params)})")
            picks = [
                f"tl.where(({fa} != 0) & ({fb} != 0), c{'' if n == 1 else f'[{i}]'}, "
                f"tl.where({fa} != 0, {av[i]}, {bv[i]}))"
                for i in range(n)
            ]
            fn.append(f"    return {fa} | {fb}, {', '.join(picks)}")
            fn += ["", ""]
        self.combine_fns.append(fn)
        return name

    def bind_tmp(self, expr: str) -> str:
        var = self.fresh("t")
        self.line(f"{var} = {expr}")
        return var

    def _pointer(
        self, tensor: SSAValue, kinds: tuple[str, ...], indices: Any, out: tuple[str, ...]
    ) -> str:
        return pointer_expr(self, tensor, kinds, indices, out)

    def access_mask(
        self, tensor: SSAValue, kinds: tuple[str, ...], indices: Any, out: tuple[str, ...]
    ) -> str | None:
        """The mask of a pointer load/store: its dims' masks, and for a tile index whose loop
        does not run over exactly this tensor dim (a prefix read such as offsets[tile_b] of a
        B+1 tensor, or a nested tile), the tensor's own bound, so no access leaves it."""
        parts = [m for m in [self.mask_for(out)] if m is not None]
        ty = tensor.type
        assert isinstance(ty, t.TensorType)
        it = iter(indices)
        for kind, size in zip(kinds, ty.dims):
            if kind == "full":
                continue
            idx = next(it)
            if kind != "tile" or size == "1":
                continue
            blk = idx.type.block.data
            lp = self.loops[blk]
            if lp.ub == self.size_param(size):
                continue  # the loop's own mask already bounds it by this very size
            parts.append(self.expand(f"({lp.offs} < {self.size_param(size)})", (blk,), out))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else "(" + ") & (".join(parts) + ")"

    def op_load(self, op: t.LoadOp) -> None:
        emit_load(self, op)  # pointer, block_ptr or tensor-descriptor access

    def op_print(self, op: t.PrintOp) -> None:
        values = []
        for v in op.values:
            ty = t.block_of(v).element_type
            # A literal is a Python number in the code; device_print takes tensors.
            const = isinstance(v.owner, t.ConstantOp)
            values.append(f"tl.full((), {self.name(v)}, {tl_dtype(ty)})" if const else self.name(v))
        self.line(f"tl.device_print({', '.join([repr(op.prefix.data), *values])})")

    def op_store(self, op: t.StoreOp) -> None:
        emit_store(self, op)

    def op_join(self, op: t.JoinOp) -> None:
        out = self.dims(op.result)[:-1]
        dt = t.block_of(op.result).element_type
        parts = []
        for v in (op.lhs, op.rhs):
            x = self.operand(v, dt)
            if isinstance(v.owner, t.ConstantOp) or self.dims(v) != out:
                x = f"tl.broadcast_to({self.align_right(x, self.dims(v), len(out))}, {self.shape_tuple(out)})"
                if isinstance(v.owner, t.ConstantOp):
                    x = f"tl.full({self.shape_tuple(out)}, {self.name(v)}, {tl_dtype(dt)})"
            if dt in (t.f16, t.bf16):
                x = f"({x}).to({tl_dtype(dt)})"  # both halves in the one Triton type
            parts.append(x)
        self.bind(op.result, f"tl.join({parts[0]}, {parts[1]})")

    def op_split(self, op: t.SplitOp) -> None:
        pair = self.bind_tmp(f"tl.split({self.name(op.operand)})")
        self.bind(op.lo, f"{pair}[0]")
        self.bind(op.hi, f"{pair}[1]")

    def op_concat(self, op: t.ConcatOp) -> None:
        """Lane ``r`` of the result along ``axis`` is lane ``r - o`` of the operand whose
        offset ``o`` is the largest not above ``r``: each operand is gathered (``tl.gather``)
        at the clamped positions and a select by position keeps the right one. An operand of
        one lane there (a block a stack unsqueezed) is a broadcast, not a gather. Lanes past
        the total (padding, masked where the dim is used) are zeros."""
        out = self.dims(op.result)
        axis, rank = op.dim, len(out)
        shape = self.shape_tuple(out)
        places = ", ".join(":" if i == axis else "None" for i in range(rank))
        lanes = f"tl.arange(0, {self.dim_size(out[axis])})"
        pos = self.bind_tmp(lanes if rank == 1 else f"{lanes}[{places}]")
        offsets = [0]
        for width in op.widths():
            offsets.append(offsets[-1] + width)
        picked = ""
        for i in reversed(range(len(op.inputs))):
            v, start = op.inputs[i], offsets[i]
            extent = self.dim_size(self.dims(v)[axis])
            if extent == "1":
                part = f"tl.broadcast_to({self.name(v)}, {shape})"
            else:
                shifted = f"{pos} - {start}" if start else pos
                index = f"tl.minimum(tl.maximum({shifted}, 0), {extent} - 1)"
                index = self.bind_tmp(f"tl.broadcast_to({index}, {shape})")
                part = f"tl.gather({self.name(v)}, {index}, {axis})"
            if picked:
                part = f"tl.where({pos} < {offsets[i + 1]}, {part}, {picked})"
            elif next_pow2(offsets[-1]) != offsets[-1]:
                # The padding lanes hold zeros, as a padded load's do: no lane is left that an
                # unmasked use (a dot against zero-padded rows) could turn into inf * 0.
                last = self.bind_tmp(part)
                part = f"tl.where({pos} < {offsets[-1]}, {last}, tl.zeros_like({last}))"
            picked = self.bind_tmp(part)
        self.names[op.result] = picked

    def op_inline_asm(self, op: t.InlineAsmOp) -> None:
        emit_inline_asm(self, op)

    def op_rand(self, op: t.RandOp) -> None:
        seed = self.name(op.seed)
        if isinstance(op.seed.owner, t.ConstantOp):
            seed = f"tl.full((), {seed}, tl.int64)"
        fn = "tl.rand" if op.kind.data == "uniform" else "tl.randint"
        self.bind(op.result, f"{fn}({seed}, {self.name(op.offsets)})")

    def op_atomic(self, op: t.AtomicOp) -> None:

        kind = op.kind.data
        ty = op.tensor.type
        assert isinstance(ty, t.TensorType)
        target = t.indexed_dims(ty, op.kinds, op.indices)

        def laid_out(v: SSAValue) -> str:
            x = self.operand(v, ty.element_type)
            vd = self.dims(v)
            if vd != target and not t.same_dims(vd, target, t.fixed_size_symbols(op)):
                x = f"tl.broadcast_to({self.align_right(x, vd, len(target))}, {self.shape_tuple(target)})"
            if ty.element_type in (t.f16, t.bf16):  # half values may be float32 registers
                x = f"({x}).to({tl_dtype(ty.element_type)})"
            return x

        ptr, mask = pointer_access(self, op, target)
        sem = f'sem="{op.sem.data}"'
        if kind == "cas":
            if mask is not None:
                raise CodegenError(
                    "kl.atomic_cas on a block that may run past its tensor (Triton's "
                    "atomic_cas takes no mask): use a block size that divides the size, or "
                    "a scalar index"
                )
            assert op.compare is not None
            self.bind(
                op.result,
                f"tl.atomic_cas({ptr}, {laid_out(op.compare)}, {laid_out(op.value)}, {sem})",
            )
            return
        masked = f", mask={mask}" if mask is not None else ""
        value = laid_out(op.value)
        bits = {t.f16: "tl.int16", t.bf16: "tl.int16", t.f32: "tl.int32", t.f64: "tl.int64"}
        if kind == "xchg" and self.opts.interpret and ty.element_type in bits:
            # Triton's interpreter exchanges integers only: swap the float's bits.
            ib = bits[ty.element_type]
            old = self.bind_tmp(
                f"tl.atomic_xchg(({ptr}).to(tl.pointer_type({ib})), "
                f"({value}).to({ib}, bitcast=True){masked}, {sem})"
            )
            self.bind(op.result, f"{old}.to({tl_dtype(ty.element_type)}, bitcast=True)")
            return
        self.bind(op.result, f"tl.atomic_{kind}({ptr}, {value}{masked}, {sem})")

    def op_dot(self, op: t.DotOp) -> None:
        out = self.dims(op.result)
        a_ty, b_ty = t.block_of(op.lhs), t.block_of(op.rhs)
        a, b = self.name(op.lhs), self.name(op.rhs)
        fp8 = (t.f8e4m3, t.f8e5m2)
        # The element types the product is computed in (both promoted where they differ).
        a_elt, b_elt = a_ty.element_type, b_ty.element_type
        if a_elt != b_elt and not (a_elt in fp8 and b_elt in fp8):
            a_elt = b_elt = t.promote_pair(a_elt, b_elt)
            a, b = self.operand(op.lhs, a_elt), self.operand(op.rhs, b_elt)
        elif self.opts.interpret and a_ty.element_type == t.bf16:
            # Triton's interpreter multiplies bf16 blocks' raw bits; float32 products are exact.
            a, b = f"{a}.to(tl.float32)", f"{b}.to(tl.float32)"
        elif a_ty.element_type in (t.f16, t.bf16) and not self.opts.round_half_per_op:
            # Half operands computed by arithmetic are float32 registers: round them for the
            # tensor cores (a no-op on loaded values).
            dt = tl_dtype(a_ty.element_type)
            a, b = f"{a}.to({dt})", f"{b}.to({dt})"
        # The contracted dim is a reduction: masked lanes must hold 0 (a load already put 0 there).
        k = a_ty.dims[-1]
        kmask = self.mask_for((k,)) if k != "1" else None
        batch = "None, " * (a_ty.rank - 2)  # a 3-D (batched) dot has a leading batch dim
        if kmask is not None:
            if not self._zero_filled(op.lhs):
                a = self.bind_tmp(f"tl.where({kmask}[{batch}None, :], {a}, 0)")
            if not self._zero_filled(op.rhs):
                b = self.bind_tmp(f"tl.where({kmask}[{batch}:, None], {b}, 0)")
        acc = self.operand(op.acc, t.block_of(op.result).element_type)
        acc_dims = self.dims(op.acc)
        if not acc_dims:
            dt = tl_dtype(t.block_of(op.result).element_type)
            acc = f"tl.zeros({self.shape_tuple(out)}, {dt}) + {acc}"
        elif acc_dims != out:
            aligned = self.align_right(acc, acc_dims, len(out))
            acc = f"tl.broadcast_to({aligned}, {self.shape_tuple(out)})"
        precision = ""
        if a_elt == t.f32 and b_elt == t.f32 and not self.opts.interpret:
            precision = f', input_precision="{self.opts.fp32_dot_precision}"'
        elif a_ty.element_type in fp8 and b_ty.element_type in fp8 and not self.opts.interpret:
            # Hopper's fp8 MMA keeps a narrow accumulator; Triton's sm_90 default never widens
            # it, and the error grows with K (CodegenOptions.fp8_accumulate).
            mode = self.opts.fp8_accumulate
            if mode == "block" and acc_dims == out:
                self.bind(op.result, f"{acc} + tl.dot({a}, {b})")
                return
            if mode == "imprecise_acc":
                kb = self.dim_size(k) if not k.isdigit() else k
                precision = f", max_num_imprecise_acc={kb}"
        self.bind(op.result, f"tl.dot({a}, {b}, {acc}{precision})")

    @staticmethod
    def _zero_filled(v: SSAValue) -> bool:
        """Whether masked lanes of ``v`` hold 0: a masked load (other=0), or a cast of one."""
        owner = v.owner
        while isinstance(owner, t.CastOp):
            owner = owner.operand.owner
        return isinstance(owner, t.LoadOp)

    def op_if(self, op: t.IfOp) -> None:
        """``if cond:`` on a scalar; each result is assigned in both branches with one Triton
        type (half values as float32 registers, like loop-carried ones)."""
        outs = [self.fresh("r") for _ in op.res]
        types = [t.block_of(r).element_type for r in op.res]
        self.line(f"if {self.name(op.cond)}:")
        for region in (op.then_region, op.else_region):
            if region is op.else_region:
                self.line("else:")
            self.indent += 1
            start = len(self.lines)
            for inner in region.block.ops:
                if isinstance(inner, t.YieldOp):
                    for out, v, ty in zip(outs, inner.values, types):
                        self.line(f"{out} = {self._branch_value(v, ty)}")
                else:
                    self.emit_op(inner)
            if len(self.lines) == start:
                self.line("pass")
            self.indent -= 1
        for r, out in zip(op.res, outs):
            self.names[r] = out

    def op_while(self, op: t.WhileOp) -> None:
        """``while cond:`` with the carried values in one Triton type each (as in op_if); the
        condition's ops are emitted before the loop and again at the end of its body."""
        carried = [self.fresh("w") for _ in op.inits]
        types = [t.block_of(v).element_type for v in op.inits]
        for c, v, ty in zip(carried, op.inits, types):
            self.line(f"{c} = {self._branch_value(v, ty)}")
        flag = self.fresh("cond")

        def condition() -> None:
            for a, c in zip(op.cond_region.block.args, carried):
                self.names[a] = c
            for inner in op.cond_region.block.ops:
                if isinstance(inner, t.YieldOp):
                    self.line(f"{flag} = {self.name(inner.values[0])}")
                else:
                    self.emit_op(inner)

        condition()
        self.line(f"while {flag}:")
        self.indent += 1
        for a, c in zip(op.body_region.block.args, carried):
            self.names[a] = c
        for inner in op.body_region.block.ops:
            if isinstance(inner, t.YieldOp):
                for c, v, ty in zip(carried, inner.values, types):
                    self.line(f"{c} = {self._branch_value(v, ty)}")
            else:
                self.emit_op(inner)
        condition()
        self.indent -= 1
        for r, c in zip(op.res, carried):
            self.names[r] = c

    def _branch_value(self, v: SSAValue, ty: Attribute) -> str:
        dt = (
            "tl.float32"
            if ty in (t.f16, t.bf16) and not self.opts.round_half_per_op
            else tl_dtype(ty)
        )
        x = self.name(v)
        if isinstance(v.owner, t.ConstantOp) or _is_constexpr(v):
            return f"tl.full((), {x}, {dt})"
        if t.block_of(v).rank == 0 and isinstance(v, BlockArgument):
            return f"tl.full((), {x}, {dt})"  # a kernel's scalar argument may be a Python number
        return f"{x}.to({dt})"

    def op_for(self, op: t.ForOp) -> None:
        block = op.block.data
        kind = op.kind.data
        k = self.fresh("")  # a number unique to this loop
        size = self.dim_size(block) if not block.isdigit() else block
        begin = f"begin_{k}"
        lb = self.name(op.lb)
        ub = self.name(op.ub)
        parallel = op.parallel is not None
        carried = [self.fresh("c") for _ in op.iter_args]
        if not parallel:
            self.hoist_slots[op] = self.slot()
        # A loop-carried value keeps one Triton type across iterations: half ones are float32
        # (see _half_result) unless every op rounds.
        widen = [
            t.block_of(v).element_type in (t.f16, t.bf16) and not self.opts.round_half_per_op
            for v in op.iter_args
        ]
        for c, init, w in zip(carried, op.iter_args, widen):
            self.line(f"{c} = {self.name(init)}" + (".to(tl.float32)" if w else ""))
        # Loop knobs (0 / absent: Triton's choice) as tl.range keyword arguments.
        o, rkw = self.opts, ""
        if o.range_num_stages.get(block):
            rkw += f", num_stages={o.range_num_stages[block]}"
        if o.range_unroll_factors.get(block, 0) > 1:
            rkw += f", loop_unroll_factor={o.range_unroll_factors[block]}"
        if block in o.range_multi_buffers:
            rkw += f", disallow_acc_multi_buffer={not o.range_multi_buffers[block]}"
        if block in o.range_flattens:
            rkw += f", flatten={o.range_flattens[block]}"
        if block in o.range_warp_specializes:
            rkw += f", warp_specialize={o.range_warp_specializes[block]}"
        ub_max = None
        if kind == "jagged":
            ub_dims = self.dims(op.ub)
            umask = self.mask_for(ub_dims)
            ub_max = self.bind_tmp(
                f"tl.max(tl.where({umask}, {ub}, 0), axis=0)" if umask else f"tl.max({ub}, axis=0)"
            )
            self.bound_slots[op] = (self.slot(), ub_max, lb)
            self.line(f"for {begin} in tl.range({lb}, {ub_max}, {size}{rkw}):")
        elif parallel:
            pid = self.parallel_pids.pop(0)
            self.line(f"{begin} = {lb} + {pid} * {size}")
        elif self.peels_tail(op, size):
            # Whole tiles first, without masks; then the ragged last tile (0 or 1 trips).
            full = f"full_{k}"
            span = ub if lb == "0" else f"{lb} + ({ub} - {lb})"
            self.line(f"{full} = {span} // {size} * {size}")
            self.line(f"for {begin} in tl.range({lb}, {full}, {size}{rkw}):")
            self._emit_loop_body(op, k, size, carried, widen, masked=False)
            self.line(f"for {begin} in tl.range({full}, {ub}, {size}):")
        else:
            self.line(f"for {begin} in tl.range({lb}, {ub}, {size}{rkw}):")
        masked = not (block == "1" or size == "1" or (kind != "jagged" and self.even_loop(op)))
        self._emit_loop_body(op, k, size, carried, widen, masked, ub_max)
        for c, r in zip(carried, op.res):
            self.names[r] = c

    def peels_tail(self, op: t.ForOp, size: str) -> bool:
        """Whether a sequential loop is emitted as an unmasked loop over its whole tiles plus a
        masked copy of its body over the ragged rest (0 or 1 trips).

        The whole-tile loop then has no bounds mask, so no ``tl.where`` before each chunk's
        reduction and no masked loads: the chunked row reductions (softmax, cross_entropy,
        norms over ragged widths) lose per-chunk work. Only innermost loops without a
        ``tile.dot`` are peeled: a copy of a nest or of a pipelined dot loop doubles the code
        for a tail that masks cheaply."""
        if not self.opts.peel_tail or op.parallel is not None or op.kind.data == "jagged":
            return False
        if op.block.data == "1" or size == "1" or self.even_loop(op):
            return False
        if any(isinstance(inner, (t.ForOp, t.DotOp)) for inner in op.body.walk()):
            return False
        # Bounds known before the launch with lb <= ub, so the split point lies between them
        # (a computed ub below lb would start the ragged copy before lb).
        lb, ub = t.static_bound(op.lb), t.static_bound(op.ub)
        if not isinstance(lb, int) or ub is None:
            return False
        return lb == 0 if isinstance(ub, str) else lb <= ub

    def _emit_loop_body(
        self,
        op: t.ForOp,
        k: str,
        size: str,
        carried: list[str],
        widen: list[bool],
        masked: bool,
        ub_max: str | None = None,
    ) -> None:
        """One copy of a tile.for body under the ``for``/``begin`` line just emitted."""
        block, kind = op.block.data, op.kind.data
        offs, begin, mask = f"offs_{k}", f"begin_{k}", f"mask_{k}"
        lb, ub = self.name(op.lb), self.name(op.ub)
        parallel = op.parallel is not None
        fallback = None
        mask_dims: tuple[str, ...] = (block,)
        if not parallel:
            self.indent += 1
        for c, arg in zip(carried, op.body.block.args[1:]):
            self.names[arg] = c
        self.line(f"{offs} = {begin} + tl.arange(0, {1 if block == '1' else size})")
        mask_expr = None
        if masked and kind == "jagged":
            ub_dims = self.dims(op.ub)
            mask_dims = ub_dims + (block,)
            self.line(
                f"{mask} = {offs}[None, :] < {ub}[:, None]"
                if ub_dims
                else f"{mask} = {offs} < {ub}"
            )
            fallback = f"fb_{mask}"
            self.line(f"{fallback} = {offs} < {ub_max}")
            mask_expr = mask
        elif masked:
            self.line(f"{mask} = {offs} < {ub}")
            mask_expr = mask
        pid_expr = f"pid_{k}"
        if not parallel:
            self.line(f"{pid_expr} = ({begin} - {lb}) // {size}")
        else:
            pid_expr = self.current_pid
        saved = self.loops.get(block)
        self.loops[block] = _Loop(
            block, size, offs, begin, ub, mask_expr, mask_dims, fallback, pid_expr
        )
        for inner in op.body.block.ops:
            if isinstance(inner, t.YieldOp):
                for c, v, w in zip(carried, inner.values, widen):
                    value = self.name(v) + (".to(tl.float32)" if w else "")
                    keep = self._masked_lanes_keep(mask_expr, mask_dims, block, v)
                    self.line(
                        f"{c} = {value}"
                        if keep is None
                        else f"{c} = tl.where({keep}, {value}, {c})"
                    )
            else:
                self.emit_op(inner)
        if saved is None:
            del self.loops[block]
        else:
            self.loops[block] = saved
        if not parallel:
            self.indent -= 1

    def _masked_lanes_keep(
        self, mask: str | None, mask_dims: tuple[str, ...], block: str, v: SSAValue
    ) -> str | None:
        """The mask a loop-carried value's update is taken under, or None for all lanes.

        A carried block that has the loop's own dim (an elementwise accumulator, as with
        ``kl.register_block_size``) must not take the values of the loop's out-of-range lanes:
        a masked load gives 0 there, which ``torch.maximum(acc, x[tile])`` would keep. Those
        lanes keep their previous value (the accumulator's initial one), so a reduction of the
        accumulator after the loop sees only the identity the user started from."""
        dims = self.dims(v)
        if mask is None or block not in dims:
            return None
        try:
            return self.expand(mask, mask_dims, dims)
        except CodegenError:
            return None

    parallel_pids: list[str]
    current_pid: str = "pid"


def _parallel_chain(kernel: t.KernelOp) -> list[t.ForOp]:
    """The nest of parallel loops that becomes the launch grid (outermost first)."""
    try:
        return kernel.parallel_nest()
    except VerifyException as e:
        raise CodegenError(str(e)) from None


# Integer ops on host values whose Python spelling has the IR's meaning (``//`` floors in both).
_HOST_BINARY = {
    "add": "+", "sub": "-", "mul": "*", "floordiv": "//",
    "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "==", "ne": "!=",
}  # fmt: skip


def host_expr(v: SSAValue, names: dict[SSAValue, str]) -> str:
    """A loop bound as a Python expression over launcher variables."""
    owner = v.owner
    if isinstance(owner, t.ConstantOp):
        return str(owner.value.value.data)  # type: ignore[union-attr]
    if isinstance(owner, t.SizeOp):
        return owner.sym.data
    if v in names:
        return names[v]
    if isinstance(owner, t.BinaryOp) and owner.kind.data in _HOST_BINARY:
        op = _HOST_BINARY[owner.kind.data]
        return f"({host_expr(owner.lhs, names)} {op} {host_expr(owner.rhs, names)})"
    if isinstance(owner, t.SelectOp):
        # A strided grid's trip count picks its rounding by the sign of a run-time step.
        cond, a, b = (host_expr(x, names) for x in (owner.cond, owner.lhs, owner.rhs))
        return f"({a} if {cond} else {b})"
    raise CodegenError("bounds of the outer device loop must be computed on the host")


def slice_width_expr(entry: tuple[str, str, str, str], exprs: dict[str, str]) -> str:
    """The launcher's Python for a ``slice_widths`` entry ``(bound, start, stop, step)``: the
    positions of ``start:stop:step`` inside ``[0, bound)``, as torch's slicing counts them
    (a start below 0 is left to the bounds check of the positions)."""
    bound, start, stop, step = (d if d.isdigit() else exprs[d] for d in entry)
    end = f"min({stop}, {bound})"
    if step == "1":
        return f"max(0, {end} - {start})"
    return f"max(0, -(({start} - {end}) // {step}))"


def _emit_pid_decode(em: TritonEmitter, chain: list[t.ForOp], group: int) -> None:
    """Split the program id into one tile id per parallel loop, innermost fastest.

    With ``group`` > 1 (Config.l2_groupings), the two innermost loops are walked in groups of
    ``group`` rows so that programs running together share rows and columns in L2 (the
    "grouped ordering" of Triton's matmul tutorial)."""
    counts = []
    for i, lp in enumerate(chain):
        blk = lp.block.data
        size = em.dim_size(blk) if not blk.isdigit() else blk
        em.line(f"n_tiles_{i} = tl.cdiv({em.name(lp.ub)} - {em.name(lp.lb)}, {size})")
        counts.append(f"n_tiles_{i}")
    inner, outer = len(chain) - 1, len(chain) - 2
    rest = "pid"
    if group > 1:
        em.line(f"pid_in_plane = pid % (n_tiles_{outer} * n_tiles_{inner})")
        em.line(f"rest_{outer} = pid // (n_tiles_{outer} * n_tiles_{inner})")
        em.line(f"group_width = {group} * n_tiles_{inner}")
        em.line(f"first_row = (pid_in_plane // group_width) * {group}")
        em.line(f"group_rows = tl.minimum(n_tiles_{outer} - first_row, {group})")
        em.line(f"pid_{outer} = first_row + (pid_in_plane % group_width) % group_rows")
        em.line(f"pid_{inner} = (pid_in_plane % group_width) // group_rows")
        rest, first = f"rest_{outer}", outer - 1
    else:
        first = inner
    for i in range(first, -1, -1):
        if i == 0:
            em.line(f"pid_{i} = {rest}")
        else:
            em.line(f"pid_{i} = {rest} % n_tiles_{i}")
            em.line(f"rest_{i} = {rest} // n_tiles_{i}")
            rest = f"rest_{i}"


def generate(
    module: ModuleOp, options: CodegenOptions, size_sources: dict[str, tuple[str, int | None]]
) -> GeneratedKernel:
    """Emit Triton for ``module``. ``size_sources`` says where each size symbol comes from."""
    em = TritonEmitter(module, options)
    chain = _parallel_chain(em.kernel)
    arg_names = {a: n for n, a in zip(em.kernel.names, em.kernel.body.block.args)}
    em.size_exprs = {}
    em.size_sources = {}
    for sym, (name, dim) in size_sources.items():
        em.size_exprs[sym] = name if dim is None else f"{name}.shape[{dim}]"
        em.size_sources[sym] = name
    for sym, entry in em.kernel.slice_widths.items():
        em.size_exprs[sym] = slice_width_expr(entry, em.size_exprs)
    # Grid: tiles of the parallel nest, innermost fastest, decoded from one program id.
    counts = []
    for lp in chain:
        blk = lp.block.data
        size = str(options.block_sizes[blk]) if not blk.isdigit() else blk
        lo, hi = host_expr(lp.lb, arg_names), host_expr(lp.ub, arg_names)
        # Ceil division in plain Python: triton.cdiv is a ConstexprFunction, whose call
        # costs microseconds on every launch.
        counts.append(f"(-(({lo} - {hi}) // {size}))" if size != "1" else f"({hi} - {lo})")
    em.grid_expr = " * ".join(counts) if counts else "1"
    pid_lines: list[str] = ["pid = tl.program_id(0)"] if chain else []
    em.parallel_pids = ["pid"] if len(chain) == 1 else [f"pid_{i}" for i in range(len(chain))]
    em._pid_lines = pid_lines  # type: ignore[attr-defined]  # read by persistent_codegen users
    orig_emit_op = em.emit_op

    def emit_op(op: Operation) -> None:
        if chain and op is chain[0]:
            for ln in pid_lines:
                em.line(ln)
            if len(chain) > 1:
                _emit_pid_decode(em, chain, options.l2_grouping)
        if isinstance(op, t.ForOp) and op.parallel is not None:
            em.current_pid = em.parallel_pids[0] if em.parallel_pids else "pid"
        orig_emit_op(op)

    em.emit_op = emit_op  # type: ignore[method-assign]

    install(em, chain, pid_lines, options.interpret)  # no-op for flat (one program per tile)
    return em.generate()
