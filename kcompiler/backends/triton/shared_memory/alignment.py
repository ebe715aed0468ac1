"""Where Triton places buffers that are live together: the offset arithmetic every sizing and
placement rule of the estimate shares."""

from __future__ import annotations

from kcompiler.backends.triton.shared_memory.constants import TMA_MIN_SHARED


def round_up(nbytes: int, align: int) -> int:
    """The first offset at or above ``nbytes`` that is a multiple of ``align``: where a
    buffer of that alignment placed after ``nbytes`` of others starts."""
    return -(-nbytes // align) * align


def stacked(pieces: list[tuple[int, int]]) -> int:
    """The end of buffers (bytes, alignment) that are all live together, as Triton places
    them: largest first, each at the first offset of its alignment above the last. Ties
    follow program order, which is not known here: the worse of the two orders by alignment."""
    ends = []
    for sign in (1, -1):
        end = 0
        for size, align in sorted(pieces, key=lambda p: (-p[0], sign * p[1])):
            if size:
                end = round_up(end, align) + size
        ends.append(end)
    return max(ends)


def nvmma_alignment(row_bytes: int) -> int:
    """The alignment Triton gives a tensor-descriptor buffer (an NVMMA shared layout) whose
    rows are ``row_bytes`` long: its swizzle pattern of 8 rows of the swizzle width (the
    largest of 128, 64, 32 bytes dividing a row), or 128 bytes unswizzled."""

    swizzle = next((w for w in (128, 64, 32) if row_bytes % w == 0), 0)
    return 8 * swizzle if swizzle else TMA_MIN_SHARED
