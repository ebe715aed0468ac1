"""Fake spaces, costs and tuning targets for the autotuner tests (no GPU, no compiler).

Compile jobs live in fake_compile_jobs (standard library only) so workers start fast.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable

from fake_compile_jobs import compile_abort, compile_hang, compile_ok, compile_raise

from kcompiler.autotune import (
    ChoiceKnob,
    ConfigSpace,
    IntKnob,
    MaxProduct,
    PowerOfTwoKnob,
    Predicate,
    WrongResult,
)
from kcompiler.config import Config

BLOCKS = ("block_sizes[0]", "block_sizes[1]")


def kernel_space() -> ConfigSpace:
    """A space shaped like a 2-D reduction kernel's: ~150k raw configs, ~95k valid."""
    return ConfigSpace(
        [
            PowerOfTwoKnob("block_sizes[0]", 1, 4096, 64),
            PowerOfTwoKnob("block_sizes[1]", 16, 4096, 1024),
            PowerOfTwoKnob("num_warps", 1, 32, 4),
            IntKnob("num_stages", 1, 7, 3),
            ChoiceKnob("indexing", ["pointer", "tensor_descriptor"], "pointer"),
            ChoiceKnob(
                "pid_type", ["flat", "persistent_blocked", "persistent_interleaved"], "flat"
            ),
            IntKnob("range_unroll_factors[0]", 0, 4, 0),
        ],
        [
            MaxProduct(BLOCKS, 1 << 20, "Triton's max numel", name="numel"),
            Predicate(
                "registers",
                lambda f: f[BLOCKS[0]] * f[BLOCKS[1]] <= 256 * 32 * f["num_warps"],
                "at most 256 elements per thread",
                (*BLOCKS, "num_warps"),
            ),
        ],
    )


OPTIMUM = {
    "block_sizes[0]": 16,
    "block_sizes[1]": 512,
    "num_warps": 8,
    "num_stages": 4,
    "indexing": "tensor_descriptor",
    "pid_type": "persistent_blocked",
    "range_unroll_factors[0]": 2,
}


def kernel_cost(space: ConfigSpace, config: Config) -> float:
    """A smooth, mostly separable synthetic run time (ms) whose unique minimum 1.0 is OPTIMUM."""
    f = space.to_flat(config)
    cost = 1.0
    for k in ("block_sizes[0]", "block_sizes[1]", "num_warps"):
        cost += (math.log2(f[k]) - math.log2(OPTIMUM[k])) ** 2
    cost += 0.5 * (f["num_stages"] - OPTIMUM["num_stages"]) ** 2
    cost += 0.3 * (f["range_unroll_factors[0]"] - OPTIMUM["range_unroll_factors[0]"]) ** 2
    cost += 0.0 if f["indexing"] == OPTIMUM["indexing"] else 1.0
    cost += {"flat": 1.5, "persistent_blocked": 0.0, "persistent_interleaved": 0.7}[f["pid_type"]]
    return cost


def small_space() -> ConfigSpace:
    """36 raw, 33 valid configs: small enough to tune exhaustively in a test."""
    return ConfigSpace(
        [
            PowerOfTwoKnob("block_sizes[0]", 16, 128, 32),
            PowerOfTwoKnob("num_warps", 1, 4, 2),
            ChoiceKnob("indexing", ["pointer", "block_ptr", "tensor_descriptor"], "pointer"),
        ],
        [MaxProduct(["block_sizes[0]", "num_warps"], 256, "register budget", name="regs")],
    )


def small_cost(config: Config) -> float:
    """Bigger blocks are faster; unique minimum at block 128, 2 warps, tensor_descriptor."""
    bonus = {"pointer": 0.0, "block_ptr": 0.05, "tensor_descriptor": 0.1}[config["indexing"]]
    return 1.0 / config["block_sizes"][0] + abs(config["num_warps"] - 2) * 0.001 + 0.2 - bonus


# -- a fake target ---------------------------------------------------------------------


class FakeTarget:
    """A TuningTarget whose compile behaviour and cost are chosen per config.

    ``behaviour(config)`` returns "ok", "hang", "raise", "abort", "wrong" (compiles, but
    benchmark raises WrongResult) or "fault" (benchmark raises a sticky CUDA error). ``interrupt_at``: raise KeyboardInterrupt on that
    benchmark call (1-based), as a Ctrl-C would.
    """

    def __init__(
        self,
        space: ConfigSpace,
        cost: Callable[[Config], float],
        key: str = "fake-key",
        behaviour: Callable[[Config], str] = lambda c: "ok",
        interrupt_at: int | None = None,
        bench_sleep: float = 0.0,
        log_path: str | None = None,
    ) -> None:
        self.space = space
        self.cache_key = key
        self.name = "fake"
        self.cost = cost
        self.behaviour = behaviour
        self.interrupt_at = interrupt_at
        self.bench_sleep = bench_sleep
        self.log_path = log_path
        self.precompiled: list[Config] = []
        self.benchmarked: list[Config] = []

    def precompile_job(self, config: Config):
        self.precompiled.append(config)
        kind = self.behaviour(config)
        if kind == "hang":
            return compile_hang, (60.0,)
        if kind == "raise":
            return compile_raise, (f"cannot compile {config}",)
        if kind == "abort":
            return compile_abort, ()
        return compile_ok, (config.to_json(), self.log_path)

    def benchmark(self, config: Config) -> float:
        self.benchmarked.append(config)
        if self.interrupt_at is not None and len(self.benchmarked) == self.interrupt_at:
            raise KeyboardInterrupt
        assert self.behaviour(config) not in ("hang", "raise", "abort"), "failed compile ran"
        start = time.time()
        if self.bench_sleep:
            time.sleep(self.bench_sleep)
        if self.log_path:
            with open(self.log_path, "a") as f:
                f.write(json.dumps(["bench", start, time.time()]) + "\n")
        if self.behaviour(config) == "wrong":
            raise WrongResult("max abs error 0.5 vs reference")
        if self.behaviour(config) == "fault":  # what torch raises after a kernel's bad access
            raise RuntimeError("CUDA error: an illegal memory access was encountered\nmore")
        return self.cost(config)
