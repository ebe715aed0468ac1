"""Tuner: failures are contained and never retried, wrong results never win, Ctrl-C and
the cache behave as the design says. Fake targets, real worker processes."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from autotune_fakes import FakeTarget, small_cost, small_space

from kcompiler.autotune import (
    AutotuneError,
    DeviceFault,
    NullCache,
    SQLiteCache,
    Tuner,
    TuningTarget,
    register_strategy,
)
from kcompiler.autotune.strategies.random_search import RandomSearch
from kcompiler.config import Config

SPACE = small_space()
ALL = sorted(SPACE.iter_valid(), key=small_cost)
BEST = ALL[0]


@pytest.fixture
def cache(tmp_path):
    c = SQLiteCache(tmp_path / "autotune.sqlite")
    yield c
    c.close()


def tuner(target, cache, **kw) -> Tuner:
    kw.setdefault("workers", 2)
    kw.setdefault("compile_timeout_s", 2.0)
    kw.setdefault("progress", False)
    return Tuner(target, cache=cache, **kw)


def _compile_workers() -> set[int] | None:
    """Pids of this process's compile workers (Linux), None where /proc cannot tell."""
    path = Path(f"/proc/self/task/{os.getpid()}/children")
    if not path.exists():
        return None
    out = set()
    for pid in path.read_text().split():
        try:
            if b"compile_pool.py" in Path(f"/proc/{pid}/cmdline").read_bytes():
                out.add(int(pid))
        except OSError:
            pass
    return out


def test_fake_target_satisfies_the_protocol():
    assert isinstance(FakeTarget(SPACE, small_cost), TuningTarget)


def test_exhaustive_tuning_finds_the_fastest_config(cache):
    target = FakeTarget(SPACE, small_cost)
    result = tuner(target, cache).tune(strategy="random", effort="full")
    assert result.config == BEST
    assert result.time_ms == pytest.approx(small_cost(BEST))
    assert result.tried == SPACE.size() and result.failed == 0
    assert len(target.benchmarked) == len(set(target.benchmarked)) == SPACE.size()
    assert not result.interrupted and not result.from_cache
    assert cache.get_best(target.cache_key).config == BEST


def test_hanging_raising_and_crashing_compiles_are_failed_once(cache):
    hang = SPACE.default().replace(block_sizes=[64], indexing="tensor_descriptor")
    boom = SPACE.default().replace(block_sizes=[16])
    abort = BEST  # the would-be winner segfaults (os.abort) in its compile worker
    kinds = {hang: "hang", boom: "raise", abort: "abort"}
    target = FakeTarget(SPACE, small_cost, behaviour=lambda c: kinds.get(c, "ok"))

    result = tuner(target, cache).tune(strategy="random", effort="full")

    errors = {f.config: f.error for f in result.failures}
    assert set(errors) == {hang, boom, abort}
    assert "timed out after 2s" in errors[hang]
    assert "ValueError: cannot compile" in errors[boom]
    assert "SIGABRT" in errors[abort] or "died" in errors[abort]
    assert result.config == ALL[1]  # the best config that compiles
    assert result.tried == SPACE.size()
    # never retried, never benchmarked
    assert all(target.precompiled.count(c) == 1 for c in kinds)
    assert not set(kinds) & set(target.benchmarked)
    stored = {r.config: r for r in cache.results_for(target.cache_key)}
    assert len(stored) == SPACE.size()
    assert stored[hang].time_ms is None and "timed out" in stored[hang].error


def test_wrong_result_never_wins(cache):
    target = FakeTarget(SPACE, small_cost, behaviour=lambda c: "wrong" if c == BEST else "ok")
    result = tuner(target, cache).tune(strategy="random", effort="full")
    assert result.config == ALL[1]
    assert [f.config for f in result.failures] == [BEST]
    assert "wrong result" in result.failures[0].error


def test_second_tune_hits_the_cache_and_benchmarks_nothing(cache):
    first = tuner(FakeTarget(SPACE, small_cost), cache).tune(strategy="pattern")
    again = FakeTarget(SPACE, small_cost)
    result = tuner(again, cache).tune(strategy="pattern")
    assert result.from_cache and result.config == first.config
    assert again.benchmarked == [] and again.precompiled == []
    # a different key (other shapes / device / versions) is tuned again
    other = FakeTarget(SPACE, small_cost, key="other-key")
    assert not tuner(other, cache).tune(strategy="pattern").from_cache
    assert other.benchmarked


def test_cached_quick_result_does_not_satisfy_full_effort(cache):
    tuner(FakeTarget(SPACE, small_cost), cache).tune(effort="quick", max_configs=5)
    target = FakeTarget(SPACE, small_cost)
    result = tuner(target, cache).tune(effort="full")
    assert not result.from_cache
    assert result.resumed == 5  # the quick run's results are reused, not re-measured
    assert len(target.benchmarked) == SPACE.size() - 5


def test_keyboard_interrupt_returns_best_so_far_and_keeps_results(cache, caplog):
    target = FakeTarget(SPACE, small_cost, interrupt_at=6)
    before = _compile_workers() or set()  # a shared pool's workers, left by earlier tests
    with caplog.at_level(logging.INFO, logger="kcompiler.autotune"):
        result = tuner(target, cache).tune(strategy="random", effort="full")

    assert result.interrupted
    measured = target.benchmarked[:5]
    assert result.tried == 5
    assert result.config == min(measured, key=small_cost)
    lines = [r for r in caplog.records if "interrupted" in r.getMessage()]
    assert len(lines) == 1 and "\n" not in lines[0].getMessage()
    assert {r.config for r in cache.results_for(target.cache_key)} == set(measured)
    assert cache.get_best(target.cache_key) is None  # an interrupted search is not final
    left = _compile_workers()
    assert left is None or not left - before  # every worker this search started was killed

    # The next run resumes: nothing measured before is measured again.
    resumed = FakeTarget(SPACE, small_cost)
    result2 = tuner(resumed, cache).tune(strategy="random", effort="full")
    assert result2.resumed == 5 and not result2.interrupted
    assert not set(measured) & set(resumed.benchmarked)
    assert result2.config == BEST


def test_a_gpu_fault_stops_the_search_and_the_next_process_resumes_without_it(cache):
    """After an illegal address the CUDA context is gone: measuring the remaining configs would
    only fail each one (as the H200 run saw), so the tuner stops, naming the config."""
    order = sorted(SPACE.iter_valid(), key=lambda c: c.to_json())
    bad = order[3]
    target = FakeTarget(SPACE, small_cost, behaviour=lambda c: "fault" if c == bad else "ok")
    with pytest.raises(DeviceFault, match="faulted on the GPU") as info:
        tuner(target, cache).tune(strategy="random", effort="full")
    assert info.value.config == bad
    assert target.benchmarked[-1] == bad  # nothing was measured after the fault
    failed = {r.config for r in cache.results_for(target.cache_key) if r.time_ms is None}
    assert failed == {bad}

    again = FakeTarget(SPACE, small_cost)
    result = tuner(again, cache).tune(strategy="random", effort="full")
    assert bad not in again.benchmarked
    assert result.config == BEST and result.resumed == len(target.benchmarked)


def test_all_failures_raise(cache):
    target = FakeTarget(SPACE, small_cost, behaviour=lambda c: "raise")
    with pytest.raises(AutotuneError, match="all 33 configs failed"):
        tuner(target, cache).tune(strategy="random", effort="full")


def test_effort_none_returns_the_default_without_tuning(cache):
    target = FakeTarget(SPACE, small_cost)
    result = tuner(target, cache).tune(effort="none")
    assert result.config == SPACE.default() and result.time_ms is None
    assert target.benchmarked == [] and target.precompiled == []


def test_strategy_and_effort_come_from_the_environment(cache, monkeypatch):
    monkeypatch.setenv("KCOMPILER_AUTOTUNE_STRATEGY", "de")
    monkeypatch.setenv("KCOMPILER_AUTOTUNE_EFFORT", "quick")
    result = tuner(FakeTarget(SPACE, small_cost), NullCache()).tune(max_configs=6)
    assert (result.strategy, result.effort, result.tried) == ("de", "quick", 6)
    monkeypatch.setenv("KCOMPILER_AUTOTUNE_EFFORT", "ludicrous")
    with pytest.raises(ValueError, match="ludicrous"):
        tuner(FakeTarget(SPACE, small_cost), NullCache()).tune()
    monkeypatch.setenv("KCOMPILER_AUTOTUNE_EFFORT", "quick")
    monkeypatch.setenv("KCOMPILER_AUTOTUNE_STRATEGY", "annealing")
    with pytest.raises(ValueError, match="unknown search strategy 'annealing'"):
        tuner(FakeTarget(SPACE, small_cost), NullCache()).tune()


def test_time_budget_stops_the_search(cache):
    target = FakeTarget(SPACE, small_cost, bench_sleep=0.1)
    result = tuner(target, cache).tune(strategy="random", effort="full", budget_s=0.8)
    assert 1 <= result.tried < 12
    assert result.wall_s < 3.0
    assert cache.get_best(target.cache_key) is not None


def test_compiles_overlap_benchmarks(tmp_path):
    log_path = tmp_path / "events.jsonl"
    target = FakeTarget(SPACE, small_cost, bench_sleep=0.3, log_path=str(log_path))
    tuner(target, NullCache()).tune(strategy="random", effort="full", max_configs=6)
    events = [json.loads(line) for line in log_path.read_text().splitlines()]
    compiles = [(s, e) for kind, s, e in events if kind == "compile"]
    benches = [(s, e) for kind, s, e in events if kind == "bench"]
    assert len(compiles) == len(benches) == 6
    overlaps = sum(1 for cs, ce in compiles for bs, be in benches if cs < be and bs < ce)
    assert overlaps >= 2


def test_registered_strategy_is_used_by_name(cache):
    calls = []

    @register_strategy("test-recording")
    class Recording(RandomSearch):
        def _observe(self, config: Config, time_ms: float | None) -> None:
            calls.append(config)

    result = tuner(FakeTarget(SPACE, small_cost), cache).tune(
        strategy="test-recording", max_configs=4
    )
    assert result.strategy == "test-recording" and len(calls) == 4


def test_progress_bar_shows_counts(cache):
    from rich.console import Console

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    target = FakeTarget(SPACE, small_cost)
    tuner(target, cache, progress=True, console=console).tune(strategy="random", max_configs=8)
    text = out.getvalue()
    assert "autotune" in text and "8/8" in text and "failed 0" in text and "best" in text


SIGINT_SCRIPT = """
import json, signal, sys
# A terminal's Ctrl-C reaches a process with Python's default handler; a suite started in the
# background by a non-interactive shell (`bash .ci/run &`) passes SIGINT down ignored, so restore it.
signal.signal(signal.SIGINT, signal.default_int_handler)
from autotune_fakes import FakeTarget, small_cost, small_space
from kcompiler.autotune import SQLiteCache, Tuner
target = FakeTarget(small_space(), small_cost, bench_sleep=0.5, log_path=sys.argv[1])
tuner = Tuner(target, cache=SQLiteCache(sys.argv[2]), workers=2, progress=False)
result = tuner.tune(strategy="random", effort="full")
print(json.dumps({"interrupted": result.interrupted, "tried": result.tried}))
"""


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="POSIX signals")
def test_real_ctrl_c_prints_one_line_and_returns(tmp_path):
    events, db = tmp_path / "events.jsonl", tmp_path / "cache.sqlite"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).parent), *sys.path]))
    proc = subprocess.Popen(
        [sys.executable, "-c", SIGINT_SCRIPT, str(events), str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        # A benchmark logs its event before the tuner records its result, so a Ctrl-C right
        # after the third event can leave two results: wait for a fourth.
        if events.exists() and events.read_text().count('"bench"') >= 4:
            break
        time.sleep(0.05)
    benches = events.read_text().count('"bench"') if events.exists() else 0
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert json.loads(out)["interrupted"] is True, (out, err, benches)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "interrupted" in lines[0], err
    assert "Traceback" not in err
    # every counted result is cached (one more if Ctrl-C fell between the two)
    assert len(SQLiteCache(db).results_for("fake-key")) >= json.loads(out)["tried"] >= 3
