"""Where the indices of a ``tile.load``/``tile.store`` land in its result: shared by the
emitter of the access (indexing.py) and of its bounds checks (bounds.py)."""

from __future__ import annotations

from typing import Any

from xdsl.ir import SSAValue


def place(expr: str, idims: tuple[str, ...], at: int, out: tuple[str, ...]) -> str:
    """An index block with dims ``idims`` laid out at result positions [at, at + len)."""
    if not idims or len(idims) == len(out):
        return expr
    sub = ["None"] * len(out)
    for k in range(len(idims)):
        sub[at + k] = ":"
    return f"{expr}[{', '.join(sub)}]"


def index_positions(
    em: Any, kinds: tuple[str, ...], indices: Any
) -> list[tuple[int, str, SSAValue | None, int]]:
    """Per tensor dim: (dim, kind, index operand, result position of the index's first dim),
    with a gather paired to the previous dim's (same dims) at that one's position (an
    ``outer`` index never pairs)."""
    out: list[tuple[int, str, SSAValue | None, int]] = []
    it = iter(indices)
    pos = 0
    gathered: tuple[tuple[str, ...], int] | None = None
    for d, kind in enumerate(kinds):
        idx = next(it) if kind != "full" else None
        if kind in ("full", "tile"):
            out.append((d, kind, idx, pos))
            pos += 1
            gathered = None
            continue
        assert idx is not None
        idims = em.dims(idx)
        paired = kind == "gather" and gathered is not None and gathered[0] == idims
        at = gathered[1] if paired and gathered is not None else pos
        out.append((d, kind, idx, at))
        if not paired:
            pos += len(idims)
        gathered = (idims, at) if kind == "gather" else None
    return out
