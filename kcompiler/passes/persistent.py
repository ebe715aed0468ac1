"""persistent: choose how the programs of the launch grid map onto tiles (Helion's ``pid_type``).

The parallel ``tile.for`` nest of a kernel is its launch grid: by default (``flat``) one
program per tile. The persistent schedules launch a fixed number of programs (number of SMs
x ``num_sm_multiplier``) that each loop over tiles:

* ``persistent_blocked``: program ``p`` takes a contiguous run of ``cdiv(tiles, programs)``
  tiles;
* ``persistent_interleaved``: program ``p`` takes tiles ``p, p + programs, p + 2*programs, ...``.

The IR records the choice as two attributes on the *outermost* parallel ``tile.for`` (the loop
nest itself is unchanged, since each tile still runs the same body):

    tile.for ... parallel attributes {pid_type = "persistent_blocked", num_sm_multiplier = 2 : i64}

``flat`` removes them. The Triton backend reads them (``backends/triton/persistent_codegen.py``):
it wraps the tile-decoding code and body in ``for pid in tl.range(...)`` and launches
``min(tiles, programs)`` programs.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, StringAttr, i64
from xdsl.passes import ModulePass

from kcompiler.dialects import tile as t
from kcompiler.exc import InvalidConfig

PID_TYPES = ("flat", "persistent_blocked", "persistent_interleaved")


def outer_parallel_loops(kernel: t.KernelOp) -> list[t.ForOp]:
    """The outermost parallel loop of each parallel nest directly in the kernel body."""
    return [
        op for op in kernel.body.block.ops if isinstance(op, t.ForOp) and op.parallel is not None
    ]


@dataclass(frozen=True)
class PersistentPass(ModulePass):
    name = "persistent"

    pid_type: str = "persistent_blocked"
    num_sm_multiplier: int = 1

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.pid_type not in PID_TYPES:
            raise InvalidConfig(
                f"pid_type {self.pid_type!r}: expected one of {', '.join(PID_TYPES)}"
            )
        if self.num_sm_multiplier < 1:
            raise InvalidConfig(f"num_sm_multiplier {self.num_sm_multiplier}: must be >= 1")
        for kernel in op.ops:
            if not isinstance(kernel, t.KernelOp):
                continue
            for loop in outer_parallel_loops(kernel):
                if self.pid_type == "flat":
                    loop.attributes.pop("pid_type", None)
                    loop.attributes.pop("num_sm_multiplier", None)
                else:
                    loop.attributes["pid_type"] = StringAttr(self.pid_type)
                    loop.attributes["num_sm_multiplier"] = IntegerAttr(self.num_sm_multiplier, i64)


def pid_type_of(loop: t.ForOp) -> tuple[str, int]:
    """``(pid_type, num_sm_multiplier)`` recorded on an outermost parallel loop."""
    attr = loop.attributes.get("pid_type")
    mult = loop.attributes.get("num_sm_multiplier")
    kind = attr.data if isinstance(attr, StringAttr) else "flat"
    return kind, (mult.value.data if isinstance(mult, IntegerAttr) else 1)


def apply_pid_type(
    module: ModuleOp, pid_type: str | None, num_sm_multiplier: int | None = None
) -> None:
    """Apply the config's ``pid_type`` / ``num_sm_multiplier`` to ``module`` in place."""
    if pid_type in (None, "flat"):
        return
    PersistentPass(pid_type=pid_type, num_sm_multiplier=int(num_sm_multiplier or 1)).apply(
        Context(), module
    )
