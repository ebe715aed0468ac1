"""Bounds checks of computed indices (backends/triton/bounds.py) on the CPU interpreter.

Every bundled gather (embedding rows, cross-entropy targets, jagged offsets) raises
``kc.exc.IndexOutOfBounds`` naming the kernel line, the tensor and the bad value, never
reading or writing outside the tensor; valid inputs still match torch; ``ignore_index``
behaves as torch's; ``KCOMPILER_INDEX_CHECKS=0`` emits the unchecked code. Values far out of
range (that used to segfault) run in a subprocess, so a regression fails a test instead of
killing pytest.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.kernels.cross_entropy import cross_entropy
from kcompiler.kernels.embedding import embedding
from kcompiler.kernels.jagged_mean import jagged_mean

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # log(0) in masked lanes

REPO = Path(__file__).resolve().parents[2]


def line_of(path: str, text: str) -> str:
    """``file.py:line`` of the one line of kcompiler/kernels/``path`` containing ``text``."""
    lines = (REPO / "kcompiler" / "kernels" / path).read_text().splitlines()
    hits = [i for i, s in enumerate(lines, 1) if text in s]
    assert len(hits) == 1, hits
    return f"{path}:{hits[0]}"


EMBEDDING_LINE = line_of("embedding.py", "weight[x_flat[tile_b], tile_e]")
TARGET_LINE = line_of("cross_entropy.py", "logits[tile_n.index, targets]")
JAGGED_LINE = line_of("jagged_mean.py", "kl.load(x_flat, [flat_indices])")


def raises_at(
    line: str, value: int | range, tensor: str, size: int, run: Callable[[], object]
) -> kc.exc.IndexOutOfBounds:
    """``run()`` raises IndexOutOfBounds at ``line`` for ``tensor`` with ``value`` (or one of
    ``value``: when several lanes fail, the one recorded is any of them)."""
    with pytest.raises(kc.exc.IndexOutOfBounds) as info:
        run()
    e = info.value
    message = str(e)
    values = value if isinstance(value, range) else range(value, value + 1)
    assert message.startswith(f"{line}: "), message
    assert e.value in values and f"index {e.value} " in message, message
    assert f"'{tensor}'" in message and f"valid range [0, {size - 1}]" in message, message
    assert (e.location, e.tensor, e.size) == (line, tensor, size)
    assert isinstance(e, IndexError) and isinstance(e, kc.exc.KCompilerError)
    return e


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter (a crash there is a failed test, not a dead pytest),
    from a file, so that kernels it defines have readable source."""
    environ = {**os.environ, "PYTHONPATH": str(REPO), "TRITON_INTERPRET": "1", **env}
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "script.py"
        script.write_text(textwrap.dedent(code))
        return subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=600,
            env=environ,
        )


# -- embedding ------------------------------------------------------------------------------


def test_embedding_valid_matches_torch() -> None:
    w = torch.randn(10, 24)
    x = torch.randint(0, 10, (5, 3))
    torch.testing.assert_close(embedding(x, w), F.embedding(x, w))


@pytest.mark.parametrize("bad", [10, -1])
def test_embedding_index_out_of_range_raises(bad: int) -> None:
    w = torch.randn(10, 24)
    x = torch.randint(0, 10, (5, 3))
    x[3, 1] = bad
    raises_at(EMBEDDING_LINE, bad, "weight", 10, lambda: embedding(x, w))
    # The error was consumed: the next valid call runs.
    x[3, 1] = 9
    torch.testing.assert_close(embedding(x, w), F.embedding(x, w))


def test_embedding_far_out_index_in_subprocess() -> None:
    proc = run_python(
        """
        import torch, kcompiler as kc
        from kcompiler.kernels.embedding import embedding
        w = torch.randn(10, 8)
        for bad in (10**9, -10**9, 2**62):
            x = torch.tensor([1, bad, 2])
            try:
                embedding(x, w)
            except kc.exc.IndexOutOfBounds as e:
                print("raised", e.value)
        """
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == [
        "raised",
        str(10**9),
        "raised",
        str(-(10**9)),
        "raised",
        str(2**62),
    ]


# -- cross_entropy --------------------------------------------------------------------------


def ce_inputs(n: int = 37, v: int = 50) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, v, generator=g), torch.randint(0, v, (n,), generator=g)


def test_cross_entropy_valid_matches_torch() -> None:
    logits, labels = ce_inputs()
    torch.testing.assert_close(cross_entropy(logits, labels), F.cross_entropy(logits, labels))


@pytest.mark.parametrize("bad", [50, -1, -101])
@pytest.mark.parametrize("row", [0, 17, 36])  # first, middle and last rows
def test_cross_entropy_target_out_of_range_raises(bad: int, row: int) -> None:
    logits, labels = ce_inputs()
    labels[row] = bad
    raises_at(TARGET_LINE, bad, "logits", 50, lambda: cross_entropy(logits, labels))


def test_cross_entropy_ignore_index_matches_torch() -> None:
    logits, labels = ce_inputs()
    labels[[0, 5, 36]] = -100
    torch.testing.assert_close(cross_entropy(logits, labels), F.cross_entropy(logits, labels))
    # A -100 target is an error when ignore_index is another value.
    with pytest.raises(kc.exc.IndexOutOfBounds, match="index -100 "):
        cross_entropy(logits, labels, ignore_index=3)
    labels[[0, 5, 36]] = 1
    labels[7] = 3
    got = cross_entropy(logits, labels, ignore_index=3)
    torch.testing.assert_close(got, F.cross_entropy(logits, labels, ignore_index=3))
    every = torch.full_like(labels, -100)
    got, want = cross_entropy(logits, every), F.cross_entropy(logits, every)
    assert got.isnan() and want.isnan()


def test_cross_entropy_far_out_target_in_subprocess() -> None:
    proc = run_python(
        """
        import torch, kcompiler as kc
        from kcompiler.kernels.cross_entropy import cross_entropy
        logits, labels = torch.randn(8, 16), torch.randint(0, 16, (8,))
        for bad in (2**40, -2**40):
            labels[3] = bad
            try:
                cross_entropy(logits, labels)
            except kc.exc.IndexOutOfBounds as e:
                print("raised", e.value)
        """
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["raised", str(2**40), "raised", str(-(2**40))]


# -- jagged_mean ----------------------------------------------------------------------------


def jagged_reference(values: torch.Tensor, offsets: list[int]) -> torch.Tensor:
    rows = []
    for lo, hi in zip(offsets[:-1], offsets[1:]):
        part = values[lo:hi]
        rows.append(part.mean(0) if len(part) else torch.zeros(values.size(1)))
    return torch.stack(rows)


def test_jagged_mean_valid_matches_reference() -> None:
    values = torch.randn(20, 4)
    offsets = [0, 5, 12, 20]
    got = jagged_mean(values, torch.tensor(offsets))
    torch.testing.assert_close(got, jagged_reference(values, offsets))


def test_jagged_mean_last_offset_past_the_end_raises() -> None:
    values = torch.randn(20, 4)
    # Row 2 reads rows 12..20 of 20: row 20 is out of range, flat indices 80..83.
    e = raises_at(
        JAGGED_LINE,
        range(80, 84),
        "x_flat",
        80,
        lambda: jagged_mean(values, torch.tensor([0, 5, 12, 21])),
    )
    assert e.dim == 0


def test_jagged_mean_negative_offset_raises() -> None:
    values = torch.randn(20, 4)
    with pytest.raises(kc.exc.IndexOutOfBounds, match=rf"^{JAGGED_LINE}: index -\d+ "):
        jagged_mean(values, torch.tensor([-3, 5, 12, 20]))


def test_jagged_mean_decreasing_offsets_read_nothing_outside() -> None:
    # A row whose end is before its start has a negative length: its jagged loop runs no
    # iteration, so it reads nothing (and is 0, as an empty row); the other rows are exact.
    values = torch.randn(20, 4)
    got = jagged_mean(values, torch.tensor([0, 12, 5, 20]))
    want = jagged_reference(values, [0, 12, 5, 20])
    torch.testing.assert_close(got, want)


def test_jagged_mean_far_out_offset_in_subprocess() -> None:
    # 10**6 past the end: the jagged loop is long, so a large block keeps the interpreter fast.
    proc = run_python(
        """
        import torch, kcompiler as kc
        from kcompiler.kernels.jagged_mean import jagged_mean_kernel
        k = kc.kernel(config=kc.Config(block_sizes=[4, 4, 65536]))(jagged_mean_kernel.fn)
        values = torch.randn(20, 4)
        offsets = torch.tensor([0, 5, 12, 10**6])
        counts = torch.full((3,), 4, dtype=torch.int32)
        try:
            k(values, offsets, counts, 4)
        except kc.exc.IndexOutOfBounds as e:
            print("raised", e.tensor, e.size)
        """
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["raised", "x_flat", "80"]


def test_jagged_mean_astronomical_offset_stops_at_the_default_config() -> None:
    # An end offset of 2**40 makes the row's jagged loop 2**40 long. The check hoisted before
    # that loop fails, so the program skips the loop and the call raises at once instead of
    # running for hours.
    proc = run_python(
        """
        import torch, kcompiler as kc
        from kcompiler.kernels.jagged_mean import jagged_mean
        try:
            jagged_mean(torch.randn(20, 4), torch.tensor([0, 5, 12, 2**40]))
        except kc.exc.IndexOutOfBounds as e:
            print("raised", e.tensor, e.size, e.value > 20 * 4)
        """
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["raised", "x_flat", "80", "True"]


# -- checks hoisted out of loops ------------------------------------------------------------


@kc.kernel
def strided_segments(
    x: torch.Tensor, starts: torch.Tensor, lengths: torch.Tensor, stride: int
) -> torch.Tensor:
    out = torch.zeros([starts.size(0)], dtype=x.dtype, device=x.device)
    for tile_b in kl.tile(starts.size(0)):
        s = starts[tile_b]
        acc = kl.zeros([tile_b], dtype=x.dtype)
        for tile_k in kl.jagged_tile(lengths[tile_b]):
            acc = acc + x[s[:, None] + tile_k.index[None, :] * stride].sum(1)
        out[tile_b] = acc
    return out


@kc.kernel
def scaled_segments(
    x: torch.Tensor, starts: torch.Tensor, lengths: torch.Tensor, scale: int
) -> torch.Tensor:
    out = torch.zeros([starts.size(0)], dtype=x.dtype, device=x.device)
    for tile_b in kl.tile(starts.size(0)):
        s = starts[tile_b]
        acc = kl.zeros([tile_b], dtype=x.dtype)
        for tile_k in kl.jagged_tile(lengths[tile_b]):
            acc = acc + x[(s[:, None] + tile_k.index[None, :]) * scale].sum(1)
        out[tile_b] = acc
    return out


def _line_here(text: str) -> str:
    lines = Path(__file__).read_text().splitlines()
    return f"test_index_bounds.py:{next(i for i, s in enumerate(lines, 1) if text in s)}"


SEGMENT_LINES = {
    False: _line_here("acc = acc + x[s[:, None] + tile_k.index"),
    True: _line_here("acc = acc + x[(s[:, None] + tile_k.index"),
}


HUGE = [-(2**62), -(2**40), 2**40, 2**62]


@st.composite
def segment_rows(draw: st.DrawFn) -> list[tuple[int, int]]:
    """Up to five (start, length) rows of small values; sometimes one start or length is
    huge (its products would overflow int64)."""
    rows = draw(
        st.lists(st.tuples(st.integers(-4, 28), st.integers(-2, 9)), min_size=1, max_size=5)
    )
    if draw(st.integers(0, 3)) == 0:
        i = draw(st.integers(0, len(rows) - 1))
        s, n = rows[i]
        rows[i] = (draw(st.sampled_from(HUGE)), n) if draw(st.booleans()) else (s, 2**40)
    return rows


@settings(max_examples=100, deadline=None)
# (2**62 + k) * 4 wraps around to 4 * k, inside the tensor: only the int64 limits catch it.
@example(size=8, rows=[(2**62, 2)], stride=4, scaled=True)
@example(size=8, rows=[(1, 3), (-(2**62), 2)], stride=-4, scaled=True)
@example(size=8, rows=[(2**62 - 1, 2)], stride=2, scaled=False)
@example(size=1, rows=[(-(2**62), 1)], stride=0, scaled=True)  # found by `thorough`
@given(
    size=st.integers(1, 24),
    rows=segment_rows(),
    stride=st.integers(-4, 4),
    scaled=st.booleans(),
)
def test_hoisted_check_raises_exactly_when_a_lane_is_out_of_bounds(
    size: int, rows: list[tuple[int, int]], stride: int, scaled: bool
) -> None:
    """The check hoisted out of the jagged loop (the interval of start + k * stride, or of
    (start + k) * stride, over the row's k) fails exactly when some lane's index is out of
    range, also where the lanes' int64 arithmetic would wrap around, and otherwise the sums
    are exact."""
    assume(stride != 0 or all(n < 2**40 for _, n in rows))  # 2**40 in-bounds lanes: too long
    x = torch.randn(size, dtype=torch.float64)
    starts = torch.tensor([s for s, _ in rows])
    lengths = torch.tensor([n for _, n in rows])
    bad: list[int] = []  # the out-of-range lane values each failing row attains at its ends
    want = []

    def index(s: int, k: int) -> int:
        return (s + k) * stride if scaled else s + k * stride

    kernel = scaled_segments if scaled else strided_segments
    failing, wraps = False, False

    def within_limits(s: int, n: int) -> bool:
        # The checks' contract (bounds.py): every subexpression's bounds over the row's lanes
        # stay inside (-2**62, 2**62), and a product a * c has |a| * |c| < 2**62.
        a = (s, s + n - 1) if scaled else (0, n - 1)  # the factor multiplied by the stride
        cap = 2**62 // max(abs(stride), 1)
        ends = [s, *a, index(s, 0), index(s, n - 1)]
        return -cap < a[0] and a[1] < cap and all(-(2**62) < e < 2**62 for e in ends)

    for s, n in rows:
        ends = [index(s, 0), index(s, n - 1)] if n > 0 else []
        limited = n > 0 and not within_limits(s, n)
        if limited or any(not 0 <= e < size for e in ends):
            failing = True
            bad += [e for e in ends if not 0 <= e < size]
            # Bounds reaching +-2**62 are reported as overflowing, even in a subexpression of
            # an index that ends in range ((-2**62 + k) * 0).
            wraps = wraps or limited
            want.append(0.0)
        else:
            want.append(sum(x[index(s, k)].item() for k in range(max(n, 0))))
    if failing:
        with pytest.raises(kc.exc.IndexOutOfBounds) as info:
            kernel(x, starts, lengths, stride)
        e = info.value
        assert e.location == SEGMENT_LINES[scaled] and e.size == size
        # The value recorded is a failing lane's, or None ("overflows") when one wraps around.
        assert e.value in bad or (wraps and e.value is None), (e.value, bad)
    else:
        got = kernel(x, starts, lengths, stride)
        torch.testing.assert_close(got, torch.tensor(want, dtype=torch.float64))


def test_hoisted_check_leaves_the_loop_body_unchecked() -> None:
    x, starts, lengths = torch.randn(30), torch.tensor([0, 7]), torch.tensor([5, 9])
    ((source, _, _),) = strided_segments.generated_launches(
        (x, starts, lengths, 2), {}, kc.Config()
    )
    loop = source.split("for begin_")[1].split("tl.store(out_ptr")[0]
    assert "kc_" not in loop and "oob_" not in loop and "h" not in re.findall(r"\b[a-z]+", loop)
    assert "kc_bad_" not in source  # recorded before the loop: no state carried through it


@kc.kernel
def feature_segments(
    x_flat: torch.Tensor, starts: torch.Tensor, lengths: torch.Tensor, d: int
) -> torch.Tensor:
    out = torch.zeros([starts.size(0), d], dtype=x_flat.dtype, device=x_flat.device)
    for tile_b, tile_d in kl.tile([starts.size(0), d]):
        s = starts[tile_b]
        acc = kl.zeros([tile_b, tile_d], dtype=x_flat.dtype)
        for tile_k in kl.jagged_tile(lengths[tile_b]):
            rows = (s[:, None] + tile_k.index[None, :])[:, :, None] * d
            acc = acc + x_flat[rows + tile_d.index[None, None, :]].sum(1)
        out[tile_b, tile_d] = acc
    return out


@pytest.mark.parametrize(
    ("offsets", "bad"),
    [([0, 3, 7], False), ([0, 3, 8], True), ([0, 3, 2**40], True), ([-1, 3, 7], True)],
)
def test_hoisted_check_with_counts_per_row_only(offsets: list[int], bad: bool) -> None:
    # The check keeps the feature tile's dim (the index depends on it) but the jagged count
    # is per row: the failing program masks the access and skips its loop instead.
    values = torch.randn(7, 5, dtype=torch.float64)
    starts = torch.tensor(offsets[:-1])
    lengths = torch.tensor(offsets[1:]) - starts
    k = kc.kernel(config=kc.Config(block_sizes=[2, 4, 4]))(feature_segments.fn)
    ((source, _, _),) = k.generated_launches(
        (values.view(-1), starts, lengths, 5), {}, kc.Config(block_sizes=[2, 4, 4])
    )
    assert "tl.where(h" in source.split("for begin_")[0]  # the loop bound's stop
    if bad:
        with pytest.raises(kc.exc.IndexOutOfBounds, match="'x_flat' \\(size 35"):
            k(values.view(-1), starts, lengths, 5)
    else:
        want = torch.stack([values[a:b].sum(0) for a, b in zip(offsets, offsets[1:])])
        torch.testing.assert_close(k(values.view(-1), starts, lengths, 5), want)


@kc.kernel
def doubled_groups(x: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    out = torch.zeros_like(x)
    for g in kl.grid(offsets.size(0) - 1):
        start = offsets[g]
        rows = offsets[g + 1] - start
        for tile_m, tile_n in kl.tile([rows, x.size(1)]):
            out[start + tile_m.index, tile_n] = x[start + tile_m.index, tile_n] * 2
    return out


@pytest.mark.parametrize(
    ("offsets", "bad"), [([0, 3, 3, 10], False), ([0, 4, 11], True), ([-2, 4], True)]
)
def test_hoisted_check_of_a_scalar_start_masks_the_whole_access(
    offsets: list[int], bad: bool
) -> None:
    # start + tile_m.index ranges only over the loop's tile: the hoisted check is one flag
    # for the program (0-d), which the 2-D access's mask must broadcast, not index.
    x = torch.randn(10, 7)
    offs = torch.tensor(offsets, dtype=torch.int32)
    if bad:
        with pytest.raises(kc.exc.IndexOutOfBounds, match="'x' \\(size 10"):
            doubled_groups(x, offs)
    else:
        torch.testing.assert_close(doubled_groups(x, offs), x * 2)


@kc.kernel
def copy_rows_below(x: torch.Tensor, out: torch.Tensor, limit: int) -> torch.Tensor:
    n = x.size(1)
    for tile_m in kl.tile(out.size(0)):
        rows = tile_m.begin + kl.arange(tile_m.block_size)
        live = rows < limit
        for tile_n in kl.tile(n):
            cols = tile_n.index
            # Two index tensors over different blocks: the rows x cols block, as in Helion.
            v = kl.load(x, [rows, cols], extra_mask=live[:, None])
            kl.store(out, [rows, cols], v + 1, extra_mask=live[:, None] & (cols < n)[None, :])
    return out


COPY = kc.kernel(config=kc.Config(block_sizes=[16, 8]))(copy_rows_below.fn)


@pytest.mark.parametrize("limit", [0, 5, 37])
def test_extra_mask_laid_out_along_the_access_bounds_the_check(limit: int) -> None:
    # out has 45 rows, x 37: the extra masks (a rows x 1 column, a rows x cols block) turn
    # the rows past ``limit`` off, so reading x there is no error.
    x = torch.randn(37, 19)
    want = torch.zeros(45, 19)
    want[:limit] = x[:limit] + 1
    torch.testing.assert_close(COPY(x, torch.zeros(45, 19), limit), want)


def test_lanes_an_extra_mask_leaves_on_are_still_checked() -> None:
    with pytest.raises(kc.exc.IndexOutOfBounds, match="'x' \\(size 37"):
        COPY(torch.randn(37, 19), torch.zeros(45, 19), 40)


# -- gathers and scatters of user kernels ---------------------------------------------------


@kc.kernel
def take(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    out = torch.empty([idx.size(0)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(idx.size(0)):
        out[tile] = x[idx[tile]]
    return out


@kc.kernel
def put(x: torch.Tensor, idx: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    for tile in kl.tile(idx.size(0)):
        out[idx[tile]] = x[tile]
    return out


@kc.kernel
def pick(x: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    out = torch.empty([rows.size(0)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(rows.size(0)):
        out[tile] = x[rows[tile], cols[tile]]
    return out


def test_gather_never_reads_outside_the_tensor() -> None:
    # x is the first 10 elements of a larger buffer: an unchecked read of x[10] would return
    # base[10] (-1); the checked read raises.
    base = torch.arange(11, dtype=torch.float32)
    base[10] = -1
    x = base[:10]
    with pytest.raises(kc.exc.IndexOutOfBounds, match=r"index 10 .*'x' \(size 10"):
        take(x, torch.tensor([0, 10, 3]))
    torch.testing.assert_close(take(x, torch.tensor([0, 9, 3])), x[[0, 9, 3]])


def test_scatter_never_writes_outside_the_tensor() -> None:
    base = torch.zeros(12)
    out = base[:10]
    with pytest.raises(kc.exc.IndexOutOfBounds, match=r"index 11 .*'out' .*write"):
        put(torch.ones(3), torch.tensor([2, 11, 4]), out)
    assert base[10:].eq(0).all()
    assert out[2] == 1 and out[4] == 1  # the in-range lanes were written


def test_paired_index_tensors_match_torch() -> None:
    x = torch.randn(6, 7)
    rows, cols = torch.tensor([0, 5, 2, 3]), torch.tensor([6, 0, 3, 3])
    torch.testing.assert_close(pick(x, rows, cols), x[rows, cols])
    with pytest.raises(kc.exc.IndexOutOfBounds, match=r"dim 1 of 'x' \(size 7"):
        pick(x, rows, torch.tensor([6, 0, 7, 3]))
    with pytest.raises(kc.exc.IndexOutOfBounds, match=r"dim 0 of 'x' \(size 6"):
        pick(x, torch.tensor([0, -6, 2, 3]), cols)


@kc.kernel
def row_of(x: torch.Tensor, i: int) -> torch.Tensor:
    out = torch.empty([x.size(1)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(1)):
        out[tile] = x[i, tile]
    return out


def test_scalar_index_is_checked() -> None:
    x = torch.randn(4, 37)
    torch.testing.assert_close(row_of(x, 3), x[3])
    with pytest.raises(kc.exc.IndexOutOfBounds, match=r"index 4 .*dim 0 of 'x' \(size 4"):
        row_of(x, 4)
    with pytest.raises(kc.exc.IndexOutOfBounds, match=r"index -1 "):
        row_of(x, -1)


def test_descriptor_kernel_and_its_pointer_fallback_share_the_records() -> None:
    # With tensor descriptors the launcher holds two kernels (descriptors, and pointers for
    # arguments descriptors can't take); both check the gather and record into one buffer.
    config = kc.Config(indexing="tensor_descriptor", block_sizes=[16, 16])
    k = kc.kernel(config=config)(embedding.fn)
    w, x = torch.randn(10, 32), torch.randint(0, 10, (64,))
    code = k.to_triton_code(x, w)
    if "tl.make_tensor_descriptor(" not in code:
        pytest.skip("this Triton has no tensor descriptors")
    assert code.count("tl.store(kc_error_flag_ptr, 1)") == 2  # one check in each kernel
    torch.testing.assert_close(k(x, w), F.embedding(x, w))
    x[5] = 10
    raises_at(EMBEDDING_LINE, 10, "weight", 10, lambda: k(x, w))
    strided = torch.randn(10, 64)[:, ::2]  # a last-dim stride of 2: the pointer kernel runs
    raises_at(EMBEDDING_LINE, 10, "weight", 10, lambda: k(x, strided))


def test_check_errors_is_public_and_quiet_when_nothing_failed() -> None:
    take(torch.randn(5), torch.tensor([1, 2]))
    kc.check_errors()
    take.check_errors()


# -- the setting ----------------------------------------------------------------------------


def test_checks_off_emit_the_unchecked_code(monkeypatch: pytest.MonkeyPatch) -> None:
    x, w = torch.tensor([1, 2]), torch.randn(10, 4)
    on = kc.kernel(embedding.fn).to_triton_code(x, w)
    assert "kc_errors_ptr" in on and re.search(r"oob_\d+ = ", on)
    monkeypatch.setenv("KCOMPILER_INDEX_CHECKS", "0")
    off = kc.kernel(embedding.fn).to_triton_code(x, w)
    assert "kc_errors" not in off and "oob_" not in off
    monkeypatch.setenv("KCOMPILER_INDEX_CHECKS", "maybe")
    with pytest.raises(ValueError, match="KCOMPILER_INDEX_CHECKS='maybe'"):
        kc.kernel(embedding.fn).to_triton_code(x, w)


def test_checks_off_keep_the_old_behaviour() -> None:
    # Unchecked, x[10] of the first 10 elements of a larger buffer reads the 11th element.
    proc = run_python(
        """
        import torch, kcompiler as kc, kcompiler.language as kl

        @kc.kernel
        def take(x, idx):
            out = torch.empty([idx.size(0)], dtype=x.dtype, device=x.device)
            for tile in kl.tile(idx.size(0)):
                out[tile] = x[idx[tile]]
            return out

        base = torch.arange(11, dtype=torch.float32)
        print(take(base[:10], torch.tensor([0, 10, 3])).tolist())
        """,
        KCOMPILER_INDEX_CHECKS="0",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "[0.0, 10.0, 3.0]"


# -- GPU code for sm_90, compiled without a GPU ---------------------------------------------


def test_checked_gather_compiles_for_sm90() -> None:
    pytest.importorskip("triton.backends.nvidia")
    proc = run_python(
        """
        import inspect, linecache, torch, triton
        from triton.backends.compiler import GPUTarget
        from triton.compiler import ASTSource
        from kcompiler.kernels.embedding import embedding

        src = embedding.to_triton_code(torch.tensor([1, 2]), torch.randn(10, 16))
        name = "<kcompiler sm90 test>"
        linecache.cache[name] = (len(src), None, src.splitlines(True), name)
        scope = {"__name__": "kcompiler_sm90_test"}
        exec(compile(src, name, "exec"), scope)
        fn = scope["embedding_kernel"]
        sig, constexprs = {}, {}
        for p in inspect.signature(fn.fn).parameters:
            if p.startswith(("BLOCK_", "RDIM_")):
                sig[p], constexprs[p] = "constexpr", 16
            elif p in ("x_flat_ptr", "kc_errors_ptr", "kc_error_flag_ptr"):
                sig[p] = "*i64"
            elif p.endswith("_ptr"):
                sig[p] = "*fp32"
            else:
                sig[p] = "i32"
        compiled = triton.compile(ASTSource(fn, sig, constexprs), target=GPUTarget("cuda", 90, 32))
        ptx = compiled.asm["ptx"]
        print("cubin", len(compiled.asm["cubin"]) > 0)
        print("predicated-64-bit-stores", sum("st.global.b64" in l and "@%p" in l for l in ptx.splitlines()))
        """,
        TRITON_INTERPRET="0",
        TRITON_DEFAULT_FP_FUSION="1",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout.split("\n")
    assert "cubin True" in out, proc.stdout
    stores = int(next(line for line in out if line.startswith("predicated")).split()[1])
    assert stores >= 3, proc.stdout  # the flag, the size and the bad value


@kc.kernel
def _first_plus_rows(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(y)
    for tile_m in kl.tile(y.size(0)):
        first = x[0]
        for tile_n in kl.tile(y.size(1)):
            out[tile_m, tile_n] = y[tile_m, tile_n] + first
    return out


def test_a_literal_index_checked_before_loops() -> None:
    """``x[0]`` outside every loop with a loop after it is recorded at once; its index is the
    literal 0, which has no ``.to`` (Helion's welford example hit it)."""
    x, y = torch.randn(3), torch.randn(5, 40)
    torch.testing.assert_close(_first_plus_rows(x, y), y + x[0])
    with pytest.raises(kc.exc.IndexOutOfBounds):
        _first_plus_rows(torch.randn(0), y)
