"""The phases of the shared-memory estimate (backends/triton/shared_memory/), each alone on
hand-built inputs: which accesses take a descriptor, where Triton places buffers live together,
when a descriptor store's buffer is allocated early, and where scratch lies beside the buffers.
The figures follow from the rules in the modules' docstrings; the recorded-figure tests
(test_shared_memory_recorded.py and others) pin the whole estimate against Triton's."""

from __future__ import annotations

from kcompiler.backends.triton.shared_memory.access_facts import Access, StoreSpan
from kcompiler.backends.triton.shared_memory.alignment import nvmma_alignment, round_up, stacked
from kcompiler.backends.triton.shared_memory.config_view import ConfigView, descriptor_sites
from kcompiler.backends.triton.shared_memory.loop_buffers import LoopBuffers, allocated_early
from kcompiler.backends.triton.shared_memory.operands import uses_wgmma
from kcompiler.backends.triton.shared_memory.placement import buffers_peak, place_scratch
from kcompiler.backends.triton.shared_memory.scratch import ScratchNeed

HINTS = {"m": 1024, "n": 1024}
SIZES = {"block_0": 64, "block_1": 64}
TILE = Access(("block_0", "block_1"), ("m", "n"), 4, masked=False)
DESC = ("tensor_descriptor",)


def _view(picked: frozenset[int] = frozenset(), **knobs) -> ConfigView:
    return ConfigView(
        hints=HINTS,
        sizes=SIZES,
        num_stages=knobs.get("num_stages", 3),
        stages_of=knobs.get("stages_of", {}),
        unroll_of=knobs.get("unroll_of", {}),
        multi_of={},
        flat_of={},
        num_warps=4,
        persistent=False,
        picked=picked,
    )


def test_descriptor_sites_follow_the_modes_and_the_launcher() -> None:
    assert descriptor_sites({0: TILE}, DESC, HINTS, SIZES) == {0}
    assert descriptor_sites({0: TILE, 1: TILE}, ("pointer", *DESC), HINTS, SIZES) == {1}
    assert descriptor_sites({0: TILE}, ("pointer",), HINTS, SIZES) == set()
    # An element-wise mask, or a last dim under 16 bytes, keeps the access on pointers.
    masked = Access(TILE.block, TILE.extent, 4, masked=True)
    assert descriptor_sites({0: masked, 1: TILE}, DESC, HINTS, SIZES) == {1}
    narrow = {"block_0": 64, "block_1": 2}
    assert descriptor_sites({0: TILE}, DESC, HINTS, narrow) == set()
    # A block larger than its tensor, or a tensor the launcher refuses, sends every access
    # to the pointer kernel.
    wide = {"block_0": 2048, "block_1": 64}
    assert (
        descriptor_sites({0: TILE, 1: Access(("block_1",), ("n",), 4, False)}, DESC, HINTS, wide)
        == set()
    )
    refused = Access(TILE.block, TILE.extent, 4, masked=False, pointer_launch=True)
    assert descriptor_sites({0: TILE, 1: refused}, DESC, HINTS, SIZES) == set()


def test_config_view_pads_only_with_descriptors() -> None:
    plain, tma = _view(), _view(frozenset({0}))
    assert plain.aligned(100) == 100 and plain.pads == []
    assert tma.aligned(100) == 128 and tma.aligned(256) == 256 and tma.pads == [28, 0]
    view = _view(stages_of={"block_0": 0, "block_1": 5}, unroll_of={"block_1": 2})
    assert [view.stages(s) for s in ("block_0", "block_1", None)] == [3, 5, 1]
    assert [view.unroll(s) for s in ("block_0", "block_1", None)] == [1, 2, 1]


def test_stacking_takes_the_worse_order_of_ties() -> None:
    assert round_up(100, 128) == 128 and round_up(256, 128) == 256
    # Largest first; of two 100-byte buffers, the 16-aligned one first ends at 228, the
    # 128-aligned one first at 212.
    assert stacked([(100, 16), (100, 128)]) == 228
    assert stacked([(8, 8), (4096, 128), (8, 8)]) == 4112
    assert nvmma_alignment(64) == 512 and nvmma_alignment(256) == 1024
    assert nvmma_alignment(48) == 128  # no swizzle width divides a row


def test_wgmma_needs_64_rows_and_whole_warp_groups() -> None:
    assert uses_wgmma(128, 8) and uses_wgmma(64, None)
    assert not uses_wgmma(32, 4) and not uses_wgmma(64, 2)


def test_a_descriptor_store_is_allocated_early_unless_a_write_lies_between() -> None:
    assert allocated_early(StoreSpan(), frozenset({0}))
    assert not allocated_early(StoreSpan(writes=True), frozenset({0}))
    assert not allocated_early(StoreSpan(loads=(1,)), frozenset({1}))
    assert allocated_early(StoreSpan(loads=(1,)), frozenset())  # a pointer load
    # A loop whose stores all use pointers stops the move; one with a descriptor store not.
    assert not allocated_early(StoreSpan(loops=((0, (2,)),)), frozenset({0}))
    assert allocated_early(StoreSpan(loops=((0, (2,)),)), frozenset({2}))


def test_one_loop_at_a_time_and_scratch_beside_its_loops_copies() -> None:
    loops = LoopBuffers(
        pipelined_in={0: 1000, 1: 3000},
        pipelined_by={(0, "block_0"): 1000, (1, "block_1"): 3000},
        scopes={0, 1},
    )
    view = _view()
    # The top-level loops' buffers are never live together: the largest counts.
    assert buffers_peak(0, loops, view, 0) == 3000
    assert buffers_peak(500, loops, view, 0) == 3500
    # Scratch starts at 128 bytes past what is live in its loop, and the copies of a loop
    # are freed outside it.
    inside = [ScratchNeed(2500, ("block_0",))]
    assert place_scratch(3000, inside, 0, loops, 0) == round_up(1000, 128) + 2500
    outside = [ScratchNeed(2500, ("block_9",))]
    assert place_scratch(3000, outside, 0, loops, 0) == 3000
    # After a dot kernel's loops only what lives beside the epilogue stays.
    after = [ScratchNeed(4000, None, epilogue=True)]
    assert place_scratch(3000, after, 0, loops, 100) == 128 + 4000
