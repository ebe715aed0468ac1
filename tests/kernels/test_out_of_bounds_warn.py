"""The opt-in ``KCOMPILER_OUT_OF_BOUNDS=warn`` mode (backends/triton/bounds.py) on the CPU
interpreter: out-of-range lanes read 0 and write nothing, every other lane computes what an
in-bounds program would, and the host warns at the indexing line instead of raising. The
default stays an error (tests/kernels/test_index_bounds.py)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl
from kcompiler import settings
from kcompiler.settings import SettingError, from_environ

HERE = Path(__file__).name


def line(text: str) -> int:
    """The line of this file ending with ``text`` (once)."""
    lines = Path(__file__).read_text().splitlines()
    hits = [i for i, s in enumerate(lines, 1) if s.endswith(text)]
    assert len(hits) == 1, hits
    return hits[0]


@kc.kernel
def take(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    out = torch.empty([idx.size(0)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(idx.size(0)):
        out[tile] = x[idx[tile]]  # the gather
    return out


@kc.kernel
def put(x: torch.Tensor, idx: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    for tile in kl.tile(idx.size(0)):
        out[idx[tile]] = x[tile]  # the scatter
    return out


@kc.kernel
def doubled_groups(x: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    out = torch.zeros_like(x)
    for g in kl.grid(offsets.size(0) - 1):
        start = offsets[g]
        rows = offsets[g + 1] - start
        for tile_m, tile_n in kl.tile([rows, x.size(1)]):
            out[start + tile_m.index, tile_n] = x[start + tile_m.index, tile_n] * 2  # groups
    return out


def warned(run: object) -> tuple[object, list[warnings.WarningMessage]]:
    with settings.override(out_of_bounds="warn"), warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        result = run()  # type: ignore[operator]
    return result, [w for w in got if issubclass(w.category, kc.exc.IndexOutOfBoundsWarning)]


def test_gather_reads_zero_past_the_end_and_warns_at_its_line() -> None:
    base = torch.arange(12, dtype=torch.float32) + 1
    x = base[:10]  # base[10] (11.0) is what an unchecked read of x[10] would return
    idx = torch.tensor([0, 10, 3, -1, 9])
    out, got = warned(lambda: take(x, idx))
    torch.testing.assert_close(out, torch.tensor([1.0, 0.0, 4.0, 0.0, 10.0]))
    assert len(got) == 1, [str(w.message) for w in got]
    w = got[0]
    assert (Path(w.filename).name, w.lineno) == (HERE, line("# the gather"))
    assert "'x' (size 10" in str(w.message) and "KCOMPILER_OUT_OF_BOUNDS=warn" in str(w.message)


def test_scatter_drops_the_lanes_past_the_end() -> None:
    base = torch.zeros(12)
    out = base[:10]
    _, got = warned(lambda: put(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([2, 11, 4]), out))
    assert base.tolist() == [0, 0, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0]
    assert [w.lineno for w in got] == [line("# the scatter")]
    assert "write to those lanes" in str(got[0].message)


def test_a_check_that_would_be_hoisted_stays_per_lane() -> None:
    # Group 1 covers rows 4..10 of a 10-row x: by default the check over the group's whole
    # range fails the group's access at once and the call raises; in warn mode only row 10
    # is dropped and rows 4..9 are computed.
    x = torch.randn(10, 7)
    offs = torch.tensor([0, 4, 11], dtype=torch.int32)
    with pytest.raises(kc.exc.IndexOutOfBounds):
        doubled_groups(x, offs)
    fresh = kc.kernel(doubled_groups.fn)  # a fast-path entry keeps the setting it ran with
    out, got = warned(lambda: fresh(x, offs))
    torch.testing.assert_close(out, x * 2)
    assert {w.lineno for w in got} == {line("* 2  # groups")}
    code = {}
    for mode in ("error", "warn"):
        with settings.override(out_of_bounds=mode):
            code[mode] = kc.kernel(doubled_groups.fn).to_triton_code(x, offs)
    hoisted = re.compile(r"^\s*h\d+ = ", re.M)  # the interval computed before the loops
    assert hoisted.search(code["error"]) and not hoisted.search(code["warn"])
    assert "kc_bad_" in code["warn"]  # checked lane by lane, carried to the kernel's end


def test_a_variant_of_the_other_setting_raises() -> None:
    # The fast path reuses the variant a kernel first ran with, whatever the setting is now:
    # a warn variant run under the default, and a default (hoisted) one run under warn, raise.
    x, idx = torch.randn(5), torch.tensor([7])
    once = kc.kernel(take.fn)
    _, got = warned(lambda: once(x, idx))
    assert len(got) == 1
    with pytest.raises(kc.exc.IndexOutOfBounds, match=r"index 7 .*'x' \(size 5"):
        once(x, idx)
    groups = kc.kernel(doubled_groups.fn)
    offs = torch.tensor([0, 4, 11], dtype=torch.int32)
    with pytest.raises(kc.exc.IndexOutOfBounds):
        groups(torch.randn(10, 7), offs)
    with pytest.raises(kc.exc.IndexOutOfBounds), settings.override(out_of_bounds="warn"):
        groups(torch.randn(10, 7), offs)


def test_the_setting_is_validated() -> None:
    assert from_environ({}).out_of_bounds == "error"
    warn = from_environ({"KCOMPILER_OUT_OF_BOUNDS": "warn"})
    assert warn.out_of_bounds == "warn" and warn.codegen_key()[-1] == "warn"
    assert from_environ({}).codegen_key() == ("ieee", "imprecise_acc", True, True)
    with pytest.raises(SettingError, match="KCOMPILER_OUT_OF_BOUNDS='clamp'"):
        from_environ({"KCOMPILER_OUT_OF_BOUNDS": "clamp"})
    with pytest.raises(SettingError, match="needs the bounds checks"):
        from_environ({"KCOMPILER_OUT_OF_BOUNDS": "warn", "KCOMPILER_INDEX_CHECKS": "0"})
