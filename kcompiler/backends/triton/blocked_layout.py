"""Where Triton's default blocked layout puts a block value's warps, for the shared-memory model.

A reduction whose operand spreads one row over several warps combines the warps' partial
results through shared memory; how many warps share a row follows from the blocked layout
Triton gives the operand. Triton builds that layout from the shape, the elements each thread
holds along the contiguous dim (``size_per_thread``: 1, or a vector of up to 16 bytes after
its coalescing pass) and the warp count: starting from the contiguous (last) dim, each dim
takes as many of the remaining threads as its extent over ``size_per_thread`` allows, lanes of
a warp first and then warps; the outermost dim takes whatever is left.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import NamedTuple

WARP_SIZE = 32
VECTOR_BYTES = 16  # the widest access a thread issues (Triton's coalescing vector)


class Layout(NamedTuple):
    """Lanes and warps along each dim, and the elements a thread holds along the last."""

    lanes: tuple[int, ...]
    warps: tuple[int, ...]
    size_per_thread: int


def _order(rank: int, contiguous: int) -> list[int]:
    """Dims from the fastest: ``contiguous``, then the others from the last."""
    return [contiguous] + [d for d in range(rank - 1, -1, -1) if d != contiguous]


def blocked(
    shape: Sequence[int], num_warps: int, size_per_thread: int = 1, contiguous: int = -1
) -> Layout:
    """Lanes and warps along each dim of a blocked layout of ``shape`` over ``num_warps``
    warps, dim ``contiguous`` (default: the last) the fastest with ``size_per_thread``
    elements a thread along it, then the other dims from the last."""

    rank = len(shape)
    if rank == 0:
        return Layout((), (), size_per_thread)
    order = _order(rank, contiguous % rank)
    lanes = [1] * rank
    warps = [1] * rank
    threads_left = num_warps * WARP_SIZE
    lanes_left = WARP_SIZE
    warps_left = num_warps
    for i, d in enumerate(order[:-1]):
        per_thread = size_per_thread if i == 0 else 1
        threads = min(threads_left, max(1, shape[d] // per_thread))
        lanes[d] = min(threads, lanes_left)
        warps[d] = max(1, min(threads // lanes[d], warps_left))
        warps_left //= warps[d]
        lanes_left //= lanes[d]
        threads_left = max(1, threads_left // threads)
    lanes[order[-1]] = lanes_left
    warps[order[-1]] = warps_left
    return Layout(tuple(lanes), tuple(warps), size_per_thread)


def warps_per_dim(shape: Sequence[int], num_warps: int, size_per_thread: int = 1) -> list[int]:
    """Warps along each dim of ``blocked(shape, num_warps, size_per_thread)``."""
    return list(blocked(shape, num_warps, size_per_thread).warps)


def coalesced_vector(shape: Sequence[int], num_warps: int, load_bytes: int) -> int:
    """Elements a thread holds along the contiguous dim after Triton's coalescing pass, for
    an aligned contiguous access: a 16-byte vector of the loaded dtype, but no more than the
    block's elements over the program's threads (``numElemsPerThread``)."""
    threads = num_warps * WARP_SIZE
    return max(1, min(VECTOR_BYTES // max(1, load_bytes), prod(shape) // threads))


def reduction_scratch_bytes(
    shape: Sequence[int],
    axis: int,
    num_warps: int,
    elem_bytes: int,
    contiguous: int | None = -1,
    load_bytes: int | None = None,
) -> int:
    """Shared memory a reduction of ``shape`` along ``axis`` exchanges its warps' partial
    results through (0 when one warp holds each row): ``linear_reduction_scratch_bytes`` of
    the operand's blocked layout, ``elem_bytes`` a partial result.

    Dim ``contiguous`` is the one the operand's loads read contiguously, ``load_bytes`` the
    loaded element's size: Triton's coalescing gives a thread ``coalesced_vector`` elements
    along it. With ``contiguous`` None (a gathered operand: unknown) every dim is tried with
    1 or a 16-byte vector, and the largest figure is returned."""

    worst = 0
    rank = len(shape)
    if contiguous is None:
        choices = [
            (fast, spt)
            for fast in range(rank)
            for spt in {1, max(1, min(VECTOR_BYTES // elem_bytes, shape[fast]))}
        ]
    else:
        fast = contiguous % rank
        vector = coalesced_vector(shape, num_warps, load_bytes or elem_bytes)
        choices = [(fast, max(1, min(vector, shape[fast])))]
    for fast, spt in choices:
        layout = blocked(shape, num_warps, spt, fast)
        need = linear_reduction_scratch_bytes(shape, axis, num_warps, elem_bytes, layout, fast)
        worst = max(worst, need)
    return worst


# -- Triton's reduction scratch, from its linear layouts ------------------------------------
#
# A blocked layout maps each bit of a register, lane and warp index to one bit of one tensor
# coordinate (or to none: a broadcast). A bit is (dim, k): bit k of dim ``dim``'s
# coordinate; flattened, dim 0 is the most minor.

Bit = tuple[int, int] | None


def layout_bases(shape: Sequence[int], layout: Layout, fast: int) -> dict[str, list[Bit]]:
    """The register, lane and warp bases of ``layout`` over ``shape``: each dim's bits go to
    its elements a thread holds, then lanes, then warps (dims from the fastest), bits beyond
    the dim's size to no element (broadcast); a dim larger than the layout's tile repeats it
    in more registers (dims in order)."""

    rank = len(shape)
    order = _order(rank, fast)
    next_bit = [0] * rank
    size_bits = [max(0, (s - 1).bit_length()) for s in shape]

    def take(d: int, count: int) -> list[Bit]:
        out: list[Bit] = []
        for _ in range(count):
            k = next_bit[d]
            next_bit[d] += 1
            out.append((d, k) if k < size_bits[d] else None)
        return out

    spt = [layout.size_per_thread if d == fast else 1 for d in range(rank)]
    regs: list[Bit] = []
    lanes: list[Bit] = []
    warps: list[Bit] = []
    for d in order:
        regs += take(d, (spt[d] - 1).bit_length())
    for d in order:
        lanes += take(d, (layout.lanes[d] - 1).bit_length())
    for d in order:
        warps += take(d, (layout.warps[d] - 1).bit_length())
    for d in range(rank):
        regs += take(d, max(0, size_bits[d] - next_bit[d]))
    return {"register": regs, "lane": lanes, "warp": warps}


def swizzled_scratch_elements(
    src: dict[str, list[Bit]], dst: dict[str, list[Bit]], sizes: Sequence[int], bitwidth: int
) -> int:
    """Elements of the shared-memory buffer Triton moves a value between two layouts through
    (``getNumScratchElemsSwizzledCvt``), for layouts whose bases are single bits.

    The buffer holds a tile of the value: a vector of registers both layouts hold, 32 banks of
    32 bits, and segment bases that no lane of either layout addresses; a segment basis that
    is a register in both layouts is a repetition instead, done in another round through the
    same memory. The figure is the value's elements divided by the rounds."""

    bits_of = [max(0, (s - 1).bit_length()) for s in sizes]
    offset = [sum(bits_of[:d]) for d in range(len(sizes))]
    dim = sum(bits_of)
    reg_src = [b for b in src["register"] if b is not None]
    reg_dst = [b for b in dst["register"] if b is not None]
    max_vec = (128 // bitwidth - 1).bit_length()
    vbasis = [b for b in reg_src if b in reg_dst][:max_vec]
    # Narrow elements: fill the first bank's 32 bits from one side's registers.
    per_bank = (32 // bitwidth - 1).bit_length() if bitwidth <= 32 else 0
    vec_src = True
    if (1 << len(vbasis)) * bitwidth < 32:
        prefix_src = reg_src[: len(vbasis)] == vbasis
        prefix_dst = reg_dst[: len(vbasis)] == vbasis
        if vbasis and not prefix_src and not prefix_dst:
            reg_src = vbasis + [b for b in reg_src if b not in vbasis]
            reg_dst = vbasis + [b for b in reg_dst if b not in vbasis]
            prefix_src = prefix_dst = True

        def filled(regs: list[Bit]) -> list[Bit]:
            return vbasis + regs[len(vbasis) : per_bank]

        if prefix_src and prefix_dst:
            more_src = _after_bank0(reg_src, filled(reg_src), dst["lane"], bitwidth)
            more_dst = _after_bank0(reg_dst, filled(reg_dst), src["lane"], bitwidth)
            prefix_src = len(more_src) >= len(more_dst)
        vec_src = prefix_src
        vbasis = filled(reg_src if vec_src else reg_dst)
    if vec_src:
        vbasis = vbasis + _after_bank0(reg_src, vbasis, dst["lane"], bitwidth)
    else:
        vbasis = vbasis + _after_bank0(reg_dst, vbasis, src["lane"], bitwidth)

    def tile(regs: list[Bit], lanes: list[Bit]) -> list[Bit]:
        size = 0
        while size < len(vbasis) and size < len(regs) and regs[size] == vbasis[size]:
            size += 1
        out = list(lanes)
        if (1 << size) * bitwidth > 32:
            drop = ((1 << size) * bitwidth // 32 - 1).bit_length()
            out = out[: len(out) - drop] if drop else out
        return [b for b in out if b not in vbasis]

    bank_src = {b for b in vbasis + tile(reg_src, src["lane"]) if b is not None}
    bank_dst = {b for b in vbasis + tile(reg_dst, dst["lane"]) if b is not None}
    len_bank = min((1024 // ((1 << len(vbasis)) * bitwidth) - 1).bit_length(), dim - len(vbasis))
    len_segment = max(0, dim - len_bank - len(vbasis))
    free = [
        (d, k)
        for d in range(len(sizes))
        for k in range(bits_of[d])
        if (d, k) not in bank_src and (d, k) not in bank_dst
    ]
    free.sort(key=lambda b: offset[b[0]] + b[1])
    segment = free[:len_segment]
    reps = sum(1 for b in segment if b in reg_src and b in reg_dst)
    return 1 << (dim - reps)


def _after_bank0(
    regs: list[Bit], vbasis: list[Bit], other_lanes: list[Bit], bitwidth: int
) -> list[Bit]:
    """Registers past the vector that the other layout holds in lanes: they vectorize more
    on this side without bank conflicts on the other."""
    most = (128 // max(bitwidth, 32) - 1).bit_length()
    out: list[Bit] = []
    for r in regs:
        if len(out) >= most:
            break
        if r not in vbasis and r in other_lanes:
            out.append(r)
    return out


def linear_reduction_scratch_bytes(
    shape: Sequence[int], axis: int, num_warps: int, elem_bytes: int, layout: Layout, fast: int
) -> int:
    """Triton's scratch for a reduction of ``shape`` along ``axis`` held in ``layout``
    (``ReduceOpHelper::getScratchSizeInBytes``): after each thread and then each warp has
    reduced its part, the partial results of the warps along the axis move into lanes that
    hold no element of the value (or into the first lanes), through shared memory."""

    if layout.warps[axis] <= 1:
        return 0
    bases = layout_bases(shape, layout, fast)
    regs = [b for b in bases["register"] if b is not None and b[0] != axis]
    lanes = [None if b is None or b[0] == axis else b for b in bases["lane"]]
    # The warps' bits along the axis become its only bits: 0, 1, ... in order.
    warps: list[Bit] = []
    count = 0
    for b in bases["warp"]:
        if b is not None and b[0] == axis:
            warps.append((axis, count))
            count += 1
        else:
            warps.append(b)
    if count == 0:
        return 0
    sizes = [1 << count if d == axis else s for d, s in enumerate(shape)]
    src = {"register": regs, "lane": lanes, "warp": warps}
    moved = [i for i, b in enumerate(warps) if b is not None and b[0] == axis]
    zero = [i for i, b in enumerate(lanes) if b is None]
    dst_lanes, dst_warps = list(lanes), list(warps)
    targets = zero if len(zero) >= len(moved) else list(range(len(lanes)))
    for lane, w in zip(targets, moved):
        dst_lanes[lane], dst_warps[w] = dst_warps[w], dst_lanes[lane]
    dst = {"register": regs, "lane": dst_lanes, "warp": dst_warps}
    # Several operands (a value and its index) each take their elements at their own width:
    # the widest count of the widths that can make up ``elem_bytes`` bounds them all.
    widths = (
        {8 * w for w in (1, 2, 4, 8) if w <= elem_bytes} if elem_bytes > 8 else {8 * elem_bytes}
    )
    elements = max(swizzled_scratch_elements(src, dst, sizes, w) for w in widths)
    return elements * elem_bytes


def warp_shuffle(src: dict[str, list[Bit]], dst: dict[str, list[Bit]]) -> bool:
    """Whether Triton converts between two layouts with warp shuffles instead of shared
    memory (``cvtNeedsWarpShuffle``): each warp holds the same elements in both, and the
    lanes trade at most one bit with the registers (one mixed transposition, one-sided
    where a lane holds copies)."""

    if src["warp"] != dst["warp"]:
        return False
    src_lane = {b for b in src["lane"] if b is not None}
    dst_lane = {b for b in dst["lane"] if b is not None}
    src_reg = {b for b in src["register"] if b is not None}
    dst_reg = {b for b in dst["register"] if b is not None}
    if src_lane | src_reg != dst_lane | dst_reg:
        return False
    # A register bit that becomes a lane bit (or the reverse) is one transposition; a lane
    # holding copies on one side makes it one-sided.
    return max(len(src_reg & dst_lane), len(src_lane & dst_reg)) < 2


def slice_conversion_bytes(
    parent: Sequence[int],
    kept: Sequence[int],
    num_warps: int,
    elem_bytes: int,
    parent_vector: int,
    own_vector: int,
    from_own: bool = False,
) -> int:
    """Scratch for moving a value of the ``kept`` dims of a ``parent`` block between the
    slice of the parent's blocked layout (which arithmetic with the parent uses) and a blocked
    layout of its own (which its load or store uses): 0 when both put the same elements in
    each lane and warp (Triton then only renames registers), else the swizzled tile's
    elements over its rounds. ``parent_vector``/``own_vector``: the elements a thread holds
    along each one's last dim. ``from_own``: the value moves from its own layout into the
    slice (a load); when every warp of its own layout holds the whole value, each warp
    already has the elements its part of the slice needs, and Triton moves them within
    the warp, without shared memory."""

    rank = len(parent)
    shape = [parent[d] for d in kept]
    if not shape:
        return 0
    index = {d: i for i, d in enumerate(kept)}
    pl = blocked(parent, num_warps, max(1, min(parent_vector, parent[-1])), rank - 1)
    pbits = layout_bases(parent, pl, rank - 1)

    def keep(b: Bit) -> Bit:
        return (index[b[0]], b[1]) if b is not None and b[0] in index else None

    src = {
        "register": [keep(b) for b in pbits["register"] if keep(b) is not None],
        "lane": [keep(b) for b in pbits["lane"]],
        "warp": [keep(b) for b in pbits["warp"]],
    }
    ol = blocked(shape, num_warps, max(1, min(own_vector, shape[-1])), len(shape) - 1)
    obits = layout_bases(shape, ol, len(shape) - 1)
    dst = {
        "register": [b for b in obits["register"] if b is not None],
        "lane": obits["lane"],
        "warp": obits["warp"],
    }
    if from_own and num_warps > 1 and all(b is None for b in dst["warp"]):
        # Every warp holds the whole value: the bits the slice spreads over warps need no
        # exchange between warps (each warp takes its part from its own copy), so only the
        # lane and register bits are compared.
        split = {b for b in src["warp"] if b is not None}
        local = {
            "register": [b for b in dst["register"] if b not in split],
            "lane": [None if b in split else b for b in dst["lane"]],
            "warp": src["warp"],
        }
        if warp_shuffle(src, local):
            return 0
    if (
        src["lane"] == dst["lane"]
        and src["warp"] == dst["warp"]
        and set(src["register"]) == set(dst["register"])
    ):
        return 0
    if warp_shuffle(src, dst):
        return 0
    bitwidth = 8 * min(elem_bytes, 8)
    return swizzled_scratch_elements(src, dst, shape, bitwidth) * elem_bytes
