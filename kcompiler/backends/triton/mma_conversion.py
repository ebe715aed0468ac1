"""The scratch Triton converts a dot result through, from its mma layout to a store's.

A ``tl.dot`` result lives in the layout of the tensor-core instruction that computed it
(Hopper's wgmma, or mma.sync: "mma v3" and "mma v2" in Triton): each thread holds pairs of
adjacent columns, eight rows apart, and lanes and warps spread over the rest. A pointer
store needs the blocked layout that gives each thread a contiguous vector, so Triton
converts the result (after its cast to the output dtype) through shared memory, and that
scratch is the epilogue's whole shared memory in a pointer-stored dot kernel.

On sm_90 Triton picks the conversion's memory layout among pairs of instructions: the
source side can write with ``st.shared`` or ``stmatrix`` (a warp writes 8x8 tiles of 16-bit
elements: lane bits 0-1 index consecutive elements of a row, lane bits 2-4 give the rows'
addresses), the destination read with ``ld.shared`` or ``ldmatrix``. For a pair whose tiles
fit both layouts, the buffer holds a vector, 32 banks and segment bases; a segment basis
that is a register in both layouts is done as another round through the same buffer
instead, so the buffer is the value's elements over the rounds. ``stmatrix``'s tile is what
lets a row bit that both layouts keep in registers (row 8 of the mma tile) become such a
round. The estimate takes the pair that fits with the fewest bank conflicts (a segment
basis that the lanes of an instruction's tile also span), then the most rounds, as Triton
does; with none, the plain ``ld.shared``/``st.shared`` layout
(``blocked_layout.swizzled_scratch_elements``).

Bits are ``(dim, k)``: bit ``k`` of dim ``dim``'s coordinate; flattened, dim 0 is the most
minor (as in ``blocked_layout``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from kcompiler.backends.triton.blocked_layout import (
    WARP_SIZE,
    Bit,
    blocked,
    coalesced_vector,
    layout_bases,
    swizzled_scratch_elements,
)

WARP_GROUP = 4  # warps of one wgmma
MMA_ROWS = 16  # rows of one warp's mma tile
MMA_V2_COLS = 8  # columns of one mma.sync tile


class MemoryTile(NamedTuple):
    """A shared-memory instruction's tile: the lanes that address consecutive elements
    (``contiguous``) and those that address its rows (``addressed``), by lane bit."""

    contiguous: tuple[int, ...]
    addressed: tuple[int, ...]


LD_ST_SHARED = MemoryTile((), (0, 1, 2))
MATRIX = MemoryTile((0, 1), (2, 3, 4))  # stmatrix / ldmatrix
MATRIX_TRANS = MemoryTile((2, 3, 4), (0, 1))  # their .trans forms, 16-bit only


def _log2(n: int) -> int:
    return max(0, (n - 1).bit_length())


def mma_warps(shape: Sequence[int], num_warps: int, wgmma: bool) -> tuple[int, int]:
    """Warps along rows and columns of a dot result of ``shape`` (M, N): wgmma starts from
    one warp group along M and doubles M's warps while M has rows left for them, then N's;
    mma.sync doubles whichever dim has more 16 x 8 tiles a warp left (M counted twice as
    coarse)."""

    m, n = shape
    if wgmma:
        wm, wn = WARP_GROUP, 1
        while wm * wn < num_warps:
            if m > MMA_ROWS * wm:
                wm *= 2
            else:
                wn *= 2
        return wm, wn
    wm, wn = 1, 1
    while wm * wn < num_warps:
        if m // MMA_ROWS // wm >= n // (MMA_V2_COLS * 2) // wn:
            if wm < m // MMA_ROWS:
                wm *= 2
            else:
                wn *= 2
        else:
            wn *= 2
    return wm, wn


def mma_bases(shape: Sequence[int], num_warps: int, wgmma: bool) -> dict[str, list[Bit]]:
    """The register, lane and warp bases of a dot result's mma layout: a thread holds
    columns 0-1 and rows 0 and 8 of each 16 x 8 tile (lanes: columns 2-7 by pairs, then rows
    0-7); a warp's tile is 16 rows by the instruction's columns (all of a warp's share of N
    with wgmma, 8 with mma.sync); warps spread as ``mma_warps`` (columns after the warp's
    tile); what is left of either dim repeats in registers, columns first."""

    m, n = shape
    mbits, nbits = _log2(m), _log2(n)
    wm, wn = mma_warps(shape, num_warps, wgmma)
    per_warp_n = max(MMA_V2_COLS, n // wn) if wgmma else MMA_V2_COLS
    tile_n = _log2(per_warp_n)

    def row(k: int) -> Bit:
        return (0, k) if k < mbits else None

    def col(k: int) -> Bit:
        return (1, k) if k < nbits else None

    regs: list[Bit] = [col(0), row(3)] + [col(k) for k in range(3, tile_n)]
    lanes = [col(1), col(2), row(0), row(1), row(2)]
    warp_m = [row(4 + k) for k in range(_log2(wm))]
    warp_n = [col(tile_n + k) for k in range(_log2(wn))]
    used_m = 4 + len(warp_m)
    used_n = tile_n + len(warp_n)
    regs += [col(k) for k in range(used_n, nbits)]
    regs += [row(k) for k in range(used_m, mbits)]
    return {"register": regs, "lane": lanes, "warp": warp_m + warp_n}


def _flat(b: Bit, offset: Sequence[int]) -> int:
    return 0 if b is None else 1 << (offset[b[0]] + b[1])


def _tiled_elements(
    src: dict[str, list[int]],
    dst: dict[str, list[int]],
    dim: int,
    bitwidth: int,
    src_tile: MemoryTile,
    dst_tile: MemoryTile,
) -> tuple[int, int] | None:
    """Bank conflicts and elements of the buffer for one pair of instructions (None: their
    tiles do not fit the two layouts). Bases are flattened to ints (one bit each)."""

    total = _log2(128 // bitwidth)
    n_src = total - len(src_tile.contiguous)
    n_dst = total - len(dst_tile.contiguous)
    # The side that vectorizes more over registers is ``a``.
    a, b, n_a, n_b, tile_a, tile_b = src, dst, n_src, n_dst, src_tile, dst_tile
    if n_a < n_b:
        a, b, n_a, n_b, tile_a, tile_b = dst, src, n_dst, n_src, dst_tile, src_tile
    if n_b < 0:
        return None
    common = [r for r in a["register"] if r and r in b["register"]]
    if len(common) < n_b:
        return None
    vbasis = common[:n_b]
    lane_a = [a["lane"][i] for i in tile_a.contiguous]
    lane_b = [b["lane"][i] for i in tile_b.contiguous]
    if any(x == 0 for x in lane_a + lane_b):
        return None
    # The first lanes of b's tile are registers of a; the rest are the same lanes in a.
    for i in range(n_a - n_b):
        if lane_b[i] not in a["register"]:
            return None
    if lane_a != lane_b[len(lane_b) - len(lane_a) :]:
        return None
    vbasis = vbasis + lane_b

    def tile(t: MemoryTile, side: dict[str, list[int]]) -> list[int] | None:
        need = 3 - len(t.addressed)
        out = [r for r in side["register"] if r not in vbasis][:need]
        if len(out) < need:
            return None
        return out + [side["lane"][i] for i in t.addressed]

    tile_src = tile(src_tile, src)
    tile_dst = tile(dst_tile, dst)
    if tile_src is None or tile_dst is None:
        return None
    missing = min(len(t.contiguous) + len(t.addressed) - 3 for t in (src_tile, dst_tile))
    bank_src = set(vbasis + tile_src) - {0}
    bank_dst = set(vbasis + tile_dst) - {0}
    len_bank = min(_log2(1024 // ((1 << len(vbasis)) * bitwidth)), dim - len(vbasis))
    len_segment = dim - len_bank - len(vbasis)
    segment = [1 << k for k in range(dim) if (1 << k) not in bank_src | bank_dst]
    if len(segment) < len_segment:
        only_a = sorted(bank_src - bank_dst)
        only_b = sorted(bank_dst - bank_src)
        if len(only_a) > len(only_b):
            only_a, only_b = only_b, only_a
        conflicts = min(max(0, len_segment - len(only_a) - len(segment)), len(only_a))
        segment += [only_a[i] ^ only_b[i] for i in range(conflicts, len(only_a))]
        segment += only_a[:conflicts] + only_b[:conflicts]
    segment = segment[:len_segment]
    reps = 0
    kept: list[int] = []
    for s in segment:
        if s in src["register"] and s in dst["register"]:
            if missing > 0:
                missing -= 1  # kept in the tile to vectorize the matrix instructions
            else:
                reps += 1
                continue
        kept.append(s)
    # A segment basis that a tile's lanes also span makes those lanes hit one bank.
    conflicts = sum(
        (1 << (_rank(kept) + _rank(t) - _rank(kept + t))) - 1 for t in (tile_src, tile_dst)
    )
    return conflicts, 1 << (dim - reps)


def _rank(vectors: Sequence[int]) -> int:
    """Rank over GF(2) of bit vectors."""
    basis: list[int] = []
    for v in vectors:
        for b in basis:
            v = min(v, v ^ b)
        if v:
            basis.append(v)
    return len(basis)


def dot_store_conversion_bytes(
    shape: Sequence[int], num_warps: int, wgmma: bool, elem_bytes: int
) -> int:
    """Scratch for converting a dot result of ``shape`` (M, N), cast to ``elem_bytes``
    elements, from its mma layout to the blocked layout of a pointer store (a 16-byte
    vector a thread along N)."""

    shape = [max(1, s) for s in shape]
    sizes_bits = [_log2(s) for s in shape]
    dim = sum(sizes_bits)
    if dim == 0:
        return elem_bytes
    offset = [0, sizes_bits[0]]
    bitwidth = 8 * elem_bytes
    src_bits = mma_bases(shape, num_warps, wgmma)
    vector = coalesced_vector(shape, num_warps, elem_bytes)
    dst_layout = blocked(shape, num_warps, max(1, min(vector, shape[-1])), 1)
    dst_bits = layout_bases(shape, dst_layout, 1)
    # Registers that repeat an element (a tile larger than the value) hold nothing new.
    src_bits["register"] = [r for r in src_bits["register"] if r is not None]
    dst_bits["register"] = [r for r in dst_bits["register"] if r is not None]

    def flat(bases: dict[str, list[Bit]]) -> dict[str, list[int]]:
        return {k: [_flat(b, offset) for b in v] for k, v in bases.items()}

    src, dst = flat(src_bits), flat(dst_bits)
    src_tiles = [LD_ST_SHARED]
    dst_tiles = [LD_ST_SHARED]
    if bitwidth <= 32:
        src_tiles.append(MATRIX)
        dst_tiles.append(MATRIX)
    if bitwidth == 16:
        src_tiles.append(MATRIX_TRANS)
        dst_tiles.append(MATRIX_TRANS)
    fits = [
        e
        for s in src_tiles
        for d in dst_tiles
        if len(src["lane"]) == len(dst["lane"]) == _log2(WARP_SIZE)
        and (e := _tiled_elements(src, dst, dim, bitwidth, s, d)) is not None
    ]
    if fits:
        # Triton takes the pair with the fewest bank conflicts, then the most rounds.
        return min(fits)[1] * elem_bytes
    elements = swizzled_scratch_elements(src_bits, dst_bits, shape, min(bitwidth, 64))
    return elements * elem_bytes
