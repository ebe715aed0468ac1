"""Launching an already compiled Triton kernel without going through ``JITFunction.run``.

The JIT binds and specializes every argument on every call (tens of µs of host time). Once the
runtime has launched a kernel through the JIT for one argument signature, later calls with the
same signature (same dtypes, shapes, strides, alignment, scalar values: the runtime's fast-path
key) may call the compiled kernel's launcher directly, as the JIT itself does at its end.

Both launches read the current stream at each call, never a stream saved earlier: under CUDA
graph capture (``torch.cuda.graph`` makes its capture stream current) the launch is captured
into the graph, and a replay of the graph launches the same binary with the same arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch


class WrongDevice(Exception):
    """The current CUDA device is not the one the kernel was loaded on: use the JIT."""


def _runtime_knobs() -> Any:
    try:
        from triton import knobs
    except ImportError:  # Triton < 3.4 keeps hooks elsewhere: no direct launch there
        return None
    return getattr(knobs, "runtime", None)


def direct_launcher(compiled: Any) -> Callable[..., None] | None:
    """``launch(grid_0, *args)`` for a ``CompiledKernel`` returned by a JIT launch, or None when
    this Triton does not expose what the JIT's own launch uses."""
    knobs = _runtime_knobs()
    run = getattr(compiled, "run", None)
    function = getattr(compiled, "function", None)
    packed = getattr(compiled, "packed_metadata", None)
    metadata = getattr(compiled, "launch_metadata", None)
    if knobs is None or run is None or function is None or packed is None or metadata is None:
        return None
    device = torch.cuda.current_device()
    get_device = torch._C._cuda_getDevice
    get_stream = torch._C._cuda_getCurrentRawStream

    # Triton's hooks are HookChains, empty unless a profiler (proton) adds to them or replaces
    # them: a launch checks that they are still these two and still empty, else takes the
    # general path.
    enter0, leave0 = knobs.launch_enter_hook, knobs.launch_exit_hook
    chains = isinstance(getattr(enter0, "calls", None), list) and isinstance(
        getattr(leave0, "calls", None), list
    )

    def launch(grid_0: int, *args: Any) -> None:
        if get_device() != device:
            raise WrongDevice
        enter, leave = knobs.launch_enter_hook, knobs.launch_exit_hook
        if chains and enter is enter0 and leave is leave0 and not enter.calls and not leave.calls:
            run(grid_0, 1, 1, get_stream(device), function, packed, None, None, None, *args)
            return
        stream = get_stream(device)
        if enter is not None and not getattr(enter, "calls", True):
            enter = None  # an empty HookChain: nothing to call, no metadata to build
        if leave is not None and not getattr(leave, "calls", True):
            leave = None
        # Profilers (proton) hook launches: build their metadata as the JIT does.
        meta = metadata((grid_0, 1, 1), stream, *args) if enter is not None else None
        run(grid_0, 1, 1, stream, function, packed, meta, enter, leave, *args)

    def bind(
        grid: str, args: Sequence[str], constants: dict[str, Any] | None = None
    ) -> Callable[[dict[str, Any]], None]:
        """``replay(env)``: this launch of grid ``grid`` with arguments ``args``, Python
        expressions over ``env`` and the names in ``constants``, written out in one function
        (the fast path's replay)."""
        given = ", ".join([grid, *args])
        run_args = ", ".join([grid, "1, 1, get_stream(device), function, packed, None, None, None"])
        source = (
            "def replay(env):\n"
            "    if get_device() != device:\n"
            "        raise WrongDevice\n"
            "    enter, leave = knobs.launch_enter_hook, knobs.launch_exit_hook\n"
            "    if chains and enter is enter0 and leave is leave0 and not enter.calls "
            "and not leave.calls:\n"
            f"        return run({', '.join([run_args, *args])})\n"
            f"    return launch({given})\n"
        )
        scope = dict(
            get_device=get_device,
            device=device,
            WrongDevice=WrongDevice,
            knobs=knobs,
            chains=chains,
            enter0=enter0,
            leave0=leave0,
            run=run,
            get_stream=get_stream,
            function=function,
            packed=packed,
            launch=launch,
            **(constants or {}),
        )
        exec(compile(source, "<kcompiler direct replay>", "exec"), scope)
        return scope["replay"]

    launch.bind = bind  # type: ignore[attr-defined]
    return launch
