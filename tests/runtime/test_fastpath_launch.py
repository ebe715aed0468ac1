"""The direct launch (backends/triton/launch.py) honours Triton's launch hooks however a
profiler installs them: added to the chains after the launch was made, or replacing them."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from kcompiler.backends.triton import launch as launch_mod

knobs = launch_mod._runtime_knobs()
pytestmark = pytest.mark.skipif(knobs is None, reason="this Triton has no runtime knobs")


class FakeCompiled:
    """What the direct launch reads of a CompiledKernel; ``run`` records its arguments."""

    function = "fn"
    packed_metadata = "packed"

    def __init__(self) -> None:
        self.runs: list[tuple[Any, ...]] = []

    def launch_metadata(self, grid: Any, stream: Any, *args: Any) -> Any:
        return ("meta", grid, args)

    def run(self, *args: Any) -> None:
        self.runs.append(args)


@pytest.fixture
def direct(monkeypatch: pytest.MonkeyPatch) -> tuple[Any, FakeCompiled]:
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch._C, "_cuda_getDevice", lambda: 0, raising=False)
    monkeypatch.setattr(torch._C, "_cuda_getCurrentRawStream", lambda d: 7, raising=False)
    compiled = FakeCompiled()
    launch = launch_mod.direct_launcher(compiled)
    assert launch is not None
    return launch, compiled


def test_no_hooks(direct: tuple[Any, FakeCompiled]) -> None:
    launch, compiled = direct
    launch(3, "a", 1)
    assert compiled.runs == [(3, 1, 1, 7, "fn", "packed", None, None, None, "a", 1)]


def test_hooks_added_to_the_chains_later_are_called(direct: tuple[Any, FakeCompiled]) -> None:
    launch, compiled = direct
    seen: list[Any] = []
    hook = seen.append
    knobs.launch_enter_hook.add(hook)
    try:
        launch(2, "a")
    finally:
        knobs.launch_enter_hook.remove(hook)
    (run,) = compiled.runs
    assert run[6] == ("meta", (2, 1, 1), ("a",)) and run[7] is knobs.launch_enter_hook
    assert run[8] is None  # the exit chain is empty
    launch(2, "a")
    assert compiled.runs[-1][6:9] == (None, None, None)


def test_replaced_hooks_are_called(
    direct: tuple[Any, FakeCompiled], monkeypatch: pytest.MonkeyPatch
) -> None:
    launch, compiled = direct

    def enter(meta: Any) -> None:
        pass

    monkeypatch.setattr(knobs, "launch_enter_hook", enter)
    monkeypatch.setattr(knobs, "launch_exit_hook", None)
    launch(1, "b")
    assert compiled.runs[-1][6:9] == (("meta", (1, 1, 1), ("b",)), enter, None)


def test_another_device_raises_wrong_device(
    direct: tuple[Any, FakeCompiled], monkeypatch: pytest.MonkeyPatch
) -> None:
    launch, compiled = direct
    monkeypatch.setattr(torch._C, "_cuda_getDevice", lambda: 1, raising=False)
    # The closure read the function when it was made: make a fresh one on device 0 instead.
    launch = launch_mod.direct_launcher(compiled)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    with pytest.raises(launch_mod.WrongDevice):
        launch(1, "c")
    assert not compiled.runs


def test_a_bound_replay_launches_as_the_launch_does(direct: tuple[Any, FakeCompiled]) -> None:
    launch, compiled = direct
    replay = launch.bind("4", ["env['a']", "16", "env['f']"])
    replay({"a": "A", "f": 0.5})
    assert compiled.runs[-1] == (4, 1, 1, 7, "fn", "packed", None, None, None, "A", 16, 0.5)
    seen: list[Any] = []
    knobs.launch_exit_hook.add(seen.append)
    try:
        replay({"a": "B", "f": 1.5})
    finally:
        knobs.launch_exit_hook.remove(seen.append)
    run = compiled.runs[-1]
    assert run[6:9] == (None, None, knobs.launch_exit_hook) and run[9:] == ("B", 16, 1.5)


def test_each_launch_reads_the_current_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    """``torch.cuda.graph`` makes its capture stream current after the launch was made and
    its replay bound: both must launch on that stream, so that the launch is captured
    (runtime/capture.py), and on the previous one again after the capture."""
    stream = {"now": 7}
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch._C, "_cuda_getDevice", lambda: 0, raising=False)
    monkeypatch.setattr(
        torch._C, "_cuda_getCurrentRawStream", lambda d: stream["now"], raising=False
    )
    compiled = FakeCompiled()
    launch = launch_mod.direct_launcher(compiled)
    assert launch is not None
    replay = launch.bind("4", ["env['a']"])
    launch(3, "a")
    stream["now"] = 99  # the capture stream
    launch(3, "a")
    replay({"a": "A"})
    stream["now"] = 7
    replay({"a": "A"})
    assert [run[3] for run in compiled.runs] == [7, 99, 99, 7]
