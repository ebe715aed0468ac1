"""Shared memory of loads and stores that are not dot operands, and registers of dot results.

On an H100 (Triton 3.6) configs of the memory-bound kernels drawn by the tuner failed with
"out of resource: shared memory" (benchmarks/results/h100/tune-compare-prelim/): a
tensor-descriptor (TMA) load or store stages its whole tile (rows x reduction chunk) in shared
memory, whatever num_stages. ``backends/triton/shared_memory/`` counts them now: each failing config
below is over the limit (and at least Triton's ``Required`` bytes), the space excludes it (the
backend only warns on the interpreter: a given config is Triton's to refuse on a GPU), configs
that compiled there stay in the space, and drawn configs respect the estimate. Attention at BLOCK_M 256 with 16 warps and BLOCK_N >= 256 failed in ptxas
("Insufficient registers"): the ``dot_registers`` constraint keeps it out.

The shapes are the benchmarks' (rows of up to 128256 elements); tensors are ``torch.empty``
(tracing reads no data, and these tests never launch a kernel).
"""

from __future__ import annotations

import random
from typing import Any

import pytest
import torch

import kcompiler as kc
from kcompiler.backends.triton.indexing import supported_modes
from kcompiler.backends.triton.loop_knobs import range_options
from kcompiler.backends.triton.registers import dot_registers_fit
from kcompiler.backends.triton.shared_memory import (
    TRANSIENT_TMA_BUFFERS,
    memory_tiles,
    shared_memory_bytes,
    shared_memory_of_config,
)
from kcompiler.compiler.checks import shared_memory_limit
from kcompiler.exc import SharedMemoryEstimateWarning
from kcompiler.kernels.attention import attention
from kcompiler.kernels.cross_entropy import cross_entropy
from kcompiler.kernels.layer_norm import layer_norm_fwd
from kcompiler.kernels.matmul import matmul
from kcompiler.kernels.rms_norm import rms_norm_fwd
from kcompiler.kernels.softmax import softmax

TD, BP, P = "tensor_descriptor", "block_ptr", "pointer"
BF16, F32 = torch.bfloat16, torch.float32


def _empty(dtype: torch.dtype, *shape: int) -> torch.Tensor:
    return torch.empty(*shape, dtype=dtype)


CASES: dict[str, tuple[kc.Kernel, Any]] = {
    "layer_norm bf16": (
        layer_norm_fwd,
        lambda: (_empty(BF16, 4096, 15872), [15872], _empty(BF16, 15872), _empty(BF16, 15872)),
    ),
    "layer_norm fp32": (
        layer_norm_fwd,
        lambda: (_empty(F32, 4096, 15872), [15872], _empty(F32, 15872), _empty(F32, 15872)),
    ),
    "rms_norm fp32": (rms_norm_fwd, lambda: (_empty(F32, 2048, 32768), _empty(F32, 32768))),
    "softmax fp32": (softmax, lambda: (_empty(F32, 4096, 12544),)),
    "cross_entropy bf16": (
        cross_entropy,
        lambda: (_empty(BF16, 4096, 128256), torch.zeros(4096, dtype=torch.long)),
    ),
}

# (case, config, Triton's ``Required`` bytes on the H100): every OutOfResources of the
# tune_compare runs (tune-compare-prelim/tune_compare.md and cross_entropy/).
FAILED = [
    ("layer_norm bf16", dict(block_sizes=[128], indexing=[TD] * 6, num_stages=3, num_warps=8,
                             reduction_loops=[2048]), 1049608),
    ("layer_norm fp32", dict(block_sizes=[64], indexing=[BP, P, P, TD, BP, TD], num_stages=2,
                             num_warps=2, reduction_loops=[1024]), 262400),
    ("rms_norm fp32", dict(block_sizes=[4], indexing=[TD, BP, P, TD], num_stages=4,
                           num_warps=16, reduction_loops=[16384]), 262168),
    ("rms_norm fp32", dict(block_sizes=[8], indexing=[TD, BP, P, TD], num_stages=4,
                           num_warps=16, reduction_loops=[16384]), 524328),
    ("rms_norm fp32", dict(block_sizes=[8], indexing=[TD, BP, P, TD], num_stages=4,
                           num_warps=32, reduction_loops=[16384]), 524328),
    ("rms_norm fp32", dict(block_sizes=[8], indexing=[TD, BP, P, TD], num_stages=4,
                           num_warps=16, reduction_loops=[8192]), 262184),
    ("rms_norm fp32", dict(block_sizes=[8], indexing=[TD, P, P, TD], num_stages=4,
                           num_warps=16, reduction_loops=[16384]), 524328),
    ("softmax fp32", dict(block_sizes=[64], indexing=[TD, P], num_stages=3, num_warps=8,
                          reduction_loops=[1024]), 262152),
    ("softmax fp32", dict(block_sizes=[64], indexing=[TD, P], num_stages=4, num_warps=4,
                          reduction_loops=[1024]), 262152),
    ("softmax fp32", dict(block_sizes=[64], indexing=[TD, P], num_stages=3, num_warps=4,
                          reduction_loops=[1024]), 262152),
    ("softmax fp32", dict(block_sizes=[32], indexing=[TD, TD], num_stages=2, num_warps=32,
                          reduction_loops=[2048]), 524296),
    ("softmax fp32", dict(block_sizes=[32], indexing=[TD, BP], num_stages=4, num_warps=16,
                          reduction_loops=[4096]), 524296),
    ("softmax fp32", dict(block_sizes=[64], indexing=[TD, BP], num_stages=1, num_warps=32,
                          reduction_loops=[4096]), 1048584),
    ("softmax fp32", dict(block_sizes=[16], indexing=[P, TD], num_stages=2, num_warps=16,
                          reduction_loops=[8192]), 524288),
    ("cross_entropy bf16", dict(block_sizes=[8], indexing=[BP, P, TD, P], num_stages=2,
                                num_warps=8, reduction_loops=[32768]), 524296),
    ("cross_entropy bf16", dict(block_sizes=[4], indexing=[BP, P, TD, P], num_stages=2,
                                num_warps=4, reduction_loops=[32768]), 262152),
    ("cross_entropy bf16", dict(block_sizes=[8], indexing=[BP, P, TD, P], num_stages=2,
                                num_warps=4, reduction_loops=[16384]), 262152),
    ("cross_entropy bf16", dict(block_sizes=[8], indexing=[P, P, TD, BP], num_stages=1,
                                num_warps=16, reduction_loops=[16384]), 262152),
]  # fmt: skip

# Configs that compiled and ran on the H100: cross_entropy's hand-checked ones (pointer
# indexing, num_stages 1), the tuned configs of tune_compare, and its slow-but-compiled
# tensor-descriptor configs.
TUNED = [
    ("cross_entropy bf16", dict(block_sizes=[1], num_warps=8, reduction_loops=[4096])),
    ("cross_entropy bf16", dict(block_sizes=[8], num_warps=4, reduction_loops=[1024])),
    ("cross_entropy bf16", dict(block_sizes=[4], num_warps=8, reduction_loops=[2048])),
    ("cross_entropy bf16", dict(block_sizes=[2], num_warps=4, reduction_loops=[2048])),
    ("rms_norm fp32", dict(block_sizes=[1], indexing=[P] * 4, num_stages=2, num_warps=32,
                           reduction_loops=[None])),
    ("rms_norm fp32", dict(block_sizes=[1], indexing=[P] * 4, num_stages=1, num_warps=32,
                           reduction_loops=[None])),
    ("softmax fp32", dict(block_sizes=[1], indexing=[P, BP], num_stages=1, num_warps=16,
                          reduction_loops=[None])),
    ("softmax fp32", dict(block_sizes=[1], indexing=[P, P], num_stages=2, num_warps=16,
                          reduction_loops=[None])),
    ("layer_norm fp32", dict(block_sizes=[1], indexing=[P, P, P, BP, P, P], num_stages=1,
                             num_warps=32, reduction_loops=[None])),
    ("layer_norm fp32", dict(block_sizes=[1], indexing=[TD, BP, TD, BP, BP, BP], num_stages=3,
                             num_warps=32, reduction_loops=[None])),
    ("cross_entropy bf16", dict(block_sizes=[1], indexing=[BP, P, P, P], num_stages=2,
                                num_warps=32, reduction_loops=[None])),
    ("cross_entropy bf16", dict(block_sizes=[8], indexing=[P, P, P, TD], num_stages=1,
                                num_warps=4, reduction_loops=[1024])),
    ("cross_entropy bf16", dict(block_sizes=[8], indexing=[P, P, P, TD], num_stages=2,
                                num_warps=4, reduction_loops=[1024])),
    ("cross_entropy bf16", dict(block_sizes=[8], indexing=[BP, P, P, TD], num_stages=1,
                                num_warps=4, reduction_loops=[1024])),
]  # fmt: skip
COMPILED = TUNED + [
    ("cross_entropy bf16", dict(block_sizes=[2], indexing=[TD, P, TD, BP], num_stages=3,
                                num_warps=4, reduction_loops=[32768])),
    ("cross_entropy bf16", dict(block_sizes=[8], indexing=[BP, P, TD, TD], num_stages=3,
                                num_warps=32, reduction_loops=[8192])),
    ("cross_entropy bf16", dict(block_sizes=[8], indexing=[BP, P, P, TD], num_stages=2,
                                num_warps=4, reduction_loops=[2048])),
    ("cross_entropy bf16", dict(block_sizes=[1], indexing=[P, P, P, BP], num_stages=1,
                                num_warps=16, reduction_loops=[None])),
]  # fmt: skip

_MODULES: dict[str, Any] = {}
_SPACES: dict[str, Any] = {}


def _module(case: str):
    if case not in _MODULES:
        kernel, make = CASES[case]
        _MODULES[case] = kernel.traced_modules(make(), {})[0]
    return _MODULES[case]


def _space(case: str):
    if case not in _SPACES:
        kernel, make = CASES[case]
        _SPACES[case] = kernel.config_space(*make())
    return _SPACES[case]


def _here(config: dict) -> dict:
    """The config with block_ptr entries as pointer where this Triton has no block_ptr (3.9
    removed it); both keep their tiles in registers, so the estimate is the same."""
    if BP in supported_modes() or not config.get("indexing"):
        return config
    return {**config, "indexing": [P if m == BP else m for m in config["indexing"]]}


@pytest.mark.parametrize("case,config,required", FAILED)
def test_failed_configs_are_over_the_limit(case: str, config: dict, required: int) -> None:
    est = shared_memory_of_config(_module(case), config)
    assert required > shared_memory_limit()
    # ``required`` is Triton 3.6's figure; Triton 3.9 reuses descriptor buffers that 3.6 kept
    # (``TRANSIENT_TMA_BUFFERS``), so there the estimate only has to exclude the config.
    assert est > shared_memory_limit() if TRANSIENT_TMA_BUFFERS else est >= required, est
    assert est == shared_memory_of_config(_module(case), _here(config))
    # ... so the derived space excludes them.
    space = _space(case)
    check = next(c for c in space.constraints if c.name == "shared_memory")
    assert check.check(space.to_flat(space.complete(_here(config)))) is not None


def _distinct_here(rows: list[Any]) -> list[Any]:
    """Rows whose config differs here (``_here``): a variant warns once, when it compiles."""
    seen: set[tuple[str, str]] = set()
    out = []
    for case, config, required in rows:
        key = (case, repr(_here(config)))
        if key not in seen:
            seen.add(key)
            out.append((case, config, required))
    return out


@pytest.mark.parametrize("case,config,required", _distinct_here(FAILED[::3]))
def test_failed_configs_warn_on_the_interpreter(case: str, config: dict, required) -> None:
    """The interpreter has no shared memory: the code is generated, with a warning naming the
    knobs (on a GPU, Triton's OutOfResources at the first launch becomes InvalidConfig)."""
    kernel, make = CASES[case]
    with pytest.warns(SharedMemoryEstimateWarning) as caught:
        code = kernel.to_triton_code(*make(), config=kc.Config(**_here(config)))
    assert "@triton.jit" in code
    msg = str(caught[0].message)
    need = shared_memory_of_config(_module(case), config)
    assert "shared memory" in msg and f"{need:,} bytes" in msg, msg
    assert f"num_stages={config['num_stages']}" in msg and "block_sizes" in msg, msg
    assert f"{shared_memory_limit():,} bytes" in msg and "tensor_descriptor" in msg, msg


@pytest.mark.parametrize("case,config", COMPILED)
def test_configs_that_compiled_fit(case: str, config: dict) -> None:
    assert shared_memory_of_config(_module(case), config) <= shared_memory_limit()
    space = _space(case)
    check = next(c for c in space.constraints if c.name == "shared_memory")
    assert check.check(space.to_flat(space.complete(_here(config)))) is None


@pytest.mark.parametrize("case,config", TUNED)
def test_tuned_configs_stay_in_the_space(case: str, config: dict) -> None:
    space = _space(case)
    space.validate(space.complete(_here(config)))
    kernel, make = CASES[case]
    assert kernel.to_triton_code(*make(), config=kc.Config(**_here(config)))


def test_descriptor_tiles_are_counted_per_chunk_loop() -> None:
    """softmax over chunks: two loops (online max/sum, then the store) each load x; the store
    loop's descriptor store keeps its tile next to the load's (at num_stages >= 2 its buffer
    is hoisted out of the loop). One loop counts at a time."""
    mod = _module("softmax fp32")
    tile = 32 * 2048 * 4
    # The load's 8-byte mbarrier, placed right after the tile (a whole number of 128-byte
    # units, so no padding holds it).
    bar = 8
    base = dict(block_sizes=[32], num_stages=2, reduction_loops=[2048])
    assert shared_memory_of_config(mod, {**base, "indexing": [P, P]}) == 0
    assert shared_memory_of_config(mod, {**base, "indexing": [TD, P]}) == tile + bar
    assert shared_memory_of_config(mod, {**base, "indexing": [P, TD]}) == tile
    assert shared_memory_of_config(mod, {**base, "indexing": [TD, TD]}) == 2 * tile + bar
    # num_stages does not multiply them (a loop without tl.dot is not pipelined by it) ...
    assert (
        shared_memory_of_config(mod, {**base, "num_stages": 4, "indexing": [TD, P]}) == tile + bar
    )
    # ... and whole rows (reduction_loops None) wider than the tensor (12544 -> 16384) make
    # the launcher take the pointer kernel (``indexing.descriptor_check``): no descriptor.
    whole = dict(block_sizes=[1], num_stages=1, reduction_loops=[None], indexing=[TD, P])
    assert shared_memory_of_config(mod, whole) == 0
    tiles = memory_tiles(mod)
    assert [m.site for m in tiles] == [0, 1] and all(m.descriptor for m in tiles)


def test_reduction_scratch_needs_num_warps() -> None:
    """Whole-row reductions add rows x (warps along the row) x 4 bytes when num_warps is
    given: a margin (no measured allocation showed it)."""
    mod = _module("softmax fp32")
    config = dict(block_sizes=[4], num_stages=1, reduction_loops=[None], indexing=[P, P])
    assert shared_memory_bytes(mod, {"block_0": 4}, 1, reduction_loops=[None]) == 0
    assert shared_memory_of_config(mod, {**config, "num_warps": 8}) == 4 * 8 * 4


def test_pipelined_loads_of_a_loop_with_range_num_stages() -> None:
    """A loop with its own num_stages (range_num_stages >= 2) pipelines every load, pointer
    ones too: (stages - 1) x unroll buffers on Triton 3.9 (sm_90 compiles); Triton 3.6 was
    counted at stages x unroll (+ the remainder loop's when unrolled)."""
    from kcompiler.kernels.softmax import softmax_two_pass

    x = _empty(F32, 1024, 4096)
    mod = softmax_two_pass.traced_modules((x,), {})[0]
    tile = 16 * 256 * 4
    sizes = {"block_0": 16, "block_1": 256}
    assert shared_memory_bytes(mod, sizes, 3) == 0  # no tl.dot: num_stages pipelines nothing
    loop = range_options(mod, {"range_num_stages": [3]})["range_num_stages"]
    # Triton 3.9 keeps stages - 1 copies (one stage is in registers), per unrolled copy.
    copies, more = (2, 0) if TRANSIENT_TMA_BUFFERS else (3, 1)
    assert loop and shared_memory_bytes(mod, sizes, 1, loop) == copies * tile
    unroll = {sym: 2 for sym in loop}
    assert shared_memory_bytes(mod, sizes, 1, loop, unroll) == (copies * 2 + more) * tile


def _drawn(case: str, n: int):
    rng = random.Random(0)
    space = _space(case)
    return [space.sample(rng) for _ in range(n)]


@pytest.mark.parametrize("case", list(CASES))
def test_drawn_configs_respect_theshared_memory_of_config(case: str) -> None:
    mod = _module(case)
    configs = _drawn(case, 120)
    estimates = [shared_memory_of_config(mod, c) for c in configs]
    assert max(estimates) <= shared_memory_limit()
    if TD in supported_modes():  # the space still has descriptors of chunked rows
        assert any(
            TD in (c.get("indexing") or []) and any(c.get("reduction_loops") or []) for c in configs
        )


# -- registers of dot results --------------------------------------------------------------


def _attention_space(d: int):
    q = torch.empty(2, 4, 2048, d, dtype=torch.float16)
    return attention.config_space(q, q, q), attention.traced_modules((q, q, q), {})[0]


@pytest.mark.parametrize("d", [64, 128])
def test_attention_register_exhaustion_is_out_of_the_space(d: int) -> None:
    """The 4 of 48 attention draws ptxas refused on the H100: BLOCK_M 256, 16 warps,
    BLOCK_N 256 or 512 (128 and 144+ fp32 score elements per thread of 128 registers); and,
    at 8 warps or fewer, tiles whose results take more than half of 256 registers (they
    compile, spilling)."""
    space, mod = _attention_space(d)
    check = next(c for c in space.constraints if c.name == "dot_registers")
    base = space.to_flat(space.default())
    for bm, bn, warps, ok in [
        (256, 256, 16, False),
        (256, 512, 16, False),
        (512, 256, 16, False),
        (2048, 64, 32, False),
        # Compiled on the H100 (D = 64), but spills on sm_90: 4 B (D = 64), 104 B (D = 128),
        # 128 registers; 8 query rows a warp make each warp hold a copy of P.
        (128, 128, 16, False),
        (256, 256, 8, False),  # compiled on the H100, spilling: out since the sm_90 spill data
        (128, 64, 8, True),  # a tuned H100/H200 winner (benchmarks/recorded_winners.py)
        (64, 64, 16, True),
        (256, 32, 32, d == 64),  # D=64: 32 per thread of 64
    ]:
        flat = {**base, "block_sizes[2]": bm, "block_sizes[3]": bn, "num_warps": warps}
        assert (check.check(flat) is None) == ok, (bm, bn, warps)
        sizes = {"block_0": 1, "block_1": 1, "block_2": bm, "block_3": bn}
        assert dot_registers_fit(mod, sizes, warps) == ok
    rng = random.Random(1)
    for _ in range(200):
        c = space.sample(rng)
        bm, bn = c["block_sizes"][2], c["block_sizes"][3]
        assert not (bm >= 256 and bn >= 256 and c["num_warps"] >= 16), c


def test_matmul_register_bound_keeps_the_usual_tiles() -> None:
    a = torch.empty(2048, 2048, dtype=torch.float16)
    space = matmul.config_space(a, a)
    check = next(c for c in space.constraints if c.name == "dot_registers")
    base = space.to_flat(space.default())
    for bm, bn, warps, ok in [
        (128, 128, 8, True),
        (256, 128, 8, True),
        (128, 256, 8, True),
        (128, 256, 16, True),  # compiled on the H100
        (128, 256, 32, True),  # compiled on the H100
        (256, 256, 16, False),  # ptxas: Insufficient registers (128)
        (512, 512, 32, False),
    ]:
        flat = {**base, "block_sizes[0]": bm, "block_sizes[1]": bn, "num_warps": warps}
        assert (check.check(flat) is None) == ok, (bm, bn, warps)
