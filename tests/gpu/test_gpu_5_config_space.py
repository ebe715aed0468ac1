"""Issues 4 and 8 on CUDA: configs drawn from each kernel's derived space (``config_space``,
the space the autotuner searches) compile with Triton for the GPU and match torch; so do the
knobs only a GPU really exercises: ``indexing="tensor_descriptor"`` (TMA on Hopper), ``pid_type``
``persistent_blocked`` / ``persistent_interleaved`` and ``l2_groupings`` of the matmuls.

Kernels and shapes come from test_gpu_1_kernels.CASES (the direct kernel calls). A handful of
draws per kernel: each config is a Triton compile (about a second on the GPU machine).
The ``cpu`` cases run a few of the same checks on the interpreter.
"""

from __future__ import annotations

import random
import warnings
from typing import Any

import pytest
import torch
from gpu_support import DEVICES
from test_gpu_2_custom_op import DIRECT, _direct, _tolerances

import kcompiler as kc
from kcompiler.backends.triton import indexing
from kcompiler.testing import assert_matches_torch

DRAWS = 2  # per kernel on the GPU: one at the realistic shape (fp32), one at the odd (bf16)


@pytest.fixture(autouse=True)
def _quiet_masked_lanes():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _case(name: str, device: str, dtype: torch.dtype, odd: bool):
    return _direct(name, device, dtype, odd=odd, seed=7 if odd else 11)


def _check(kernel: kc.Kernel, config: kc.Config, args: tuple, reference, tol, dtype) -> None:
    device = next(a.device.type for a in args if isinstance(a, torch.Tensor))

    def run(*a: Any) -> Any:
        return kernel.bind(*a).run(config)

    try:
        assert_matches_torch(run, reference, *args, **_tolerances(dtype, tol, device))
    except Exception as e:
        raise AssertionError(f"{kernel.__name__} with {config}: {e}") from e


# -- persistent schedules, L2 grouping ------------------------------------------------------------

PID_KERNELS = ["vector_add", "sum", "softmax", "layer_norm", "matmul", "attention"]


@pytest.mark.parametrize("pid_type", ["persistent_blocked", "persistent_interleaved"])
@pytest.mark.parametrize("name", PID_KERNELS)
@pytest.mark.parametrize("device", DEVICES)
def test_persistent_pid_types(device, name, pid_type) -> None:
    if device == "cpu" and name not in ("vector_add", "softmax"):
        pytest.skip("a few on the interpreter")
    odd = device == "cpu"
    kernel, args, reference, tol = _case(name, device, torch.float32, odd=odd)
    space = kernel.config_space(*args)
    for multiplier in (1, 2):
        config = space.default().replace(pid_type=pid_type, num_sm_multiplier=multiplier)
        _check(kernel, config, args, reference, tol, torch.float32)
        if odd:
            break


@pytest.mark.parametrize("group", [4, 16])
@pytest.mark.parametrize("name", ["matmul", "matmul_dot"])
@pytest.mark.parametrize("device", DEVICES)
def test_l2_groupings(device, name, group) -> None:
    dtype = torch.bfloat16
    kernel, args, reference, tol = _case(name, device, dtype, odd=device == "cpu")
    space = kernel.config_space(*args)
    assert "l2_groupings[0]" in space.names
    flat = space.to_flat(space.default())
    flat["l2_groupings[0]"] = group
    config = space.to_config(flat)
    _check(kernel, config, args, reference, tol, dtype)
    # with a persistent schedule too
    _check(kernel, config.replace(pid_type="persistent_interleaved"), args, reference, tol, dtype)


# -- drawn configs ---------------------------------------------------------------------------------


def _draw_params() -> list:
    cpu, cuda = DEVICES
    out = []
    for name in DIRECT:
        for i in range(DRAWS):
            dtype, odd = (torch.bfloat16, True) if i == DRAWS - 1 else (torch.float32, False)
            out.append(pytest.param("cuda", name, i, dtype, odd, marks=cuda.marks))
        if name in ("softmax", "matmul"):
            out.append(pytest.param("cpu", name, 0, torch.float32, True, marks=cpu.marks))
    return out


@pytest.mark.parametrize("device,name,draw,dtype,odd", _draw_params())
def test_drawn_config_matches_torch(device, name, draw, dtype, odd) -> None:
    kernel, args, reference, tol = _case(name, device, dtype, odd)
    space = kernel.config_space(*args)
    config = space.sample(random.Random(1000 * draw + sum(map(ord, name))))
    space.validate(config)
    _check(kernel, config, args, reference, tol, dtype)


# -- tensor descriptors (TMA) ---------------------------------------------------------------------


def _tma_config(space, seed: int) -> kc.Config | None:
    """A valid config of ``space`` with every access that may use a descriptor using one: the
    default config so (the descriptors alone are under test), else a drawn one."""
    rng = random.Random(seed)
    for i in range(50):
        flat = space.to_flat(space.default() if i == 0 else space.sample(rng))
        for n in space.names:
            if n.startswith("indexing[") and "tensor_descriptor" in space.knob(n).values:
                flat[n] = "tensor_descriptor"
        if not space.violations(flat):
            return space.to_config(flat)
    return None


TMA_KERNELS = [n for n in DIRECT if n not in ("embedding", "jagged_mean", "fp8_gemm")]


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
@pytest.mark.parametrize("name", TMA_KERNELS)
@pytest.mark.parametrize("device", DEVICES[1:])
def test_tensor_descriptor_configs(device, name, dtype, descriptor_checks) -> None:
    if "tensor_descriptor" not in indexing.supported_modes():
        pytest.fail("this Triton has no tensor descriptors (Triton 3.6 on the H100 has)")
    kernel, args, reference, tol = _case(name, device, dtype, odd=False)
    if name.startswith("attention"):
        # K is read through k.transpose(2, 3): a descriptor needs that view's last dim to have
        # stride 1, i.e. k stored as [B, H, D, S_k] (else the launcher falls back to pointers).
        q, k, v, causal = args
        args = (q, k.transpose(2, 3).contiguous().transpose(2, 3), v, causal)
    space = kernel.config_space(*args)
    modes = [space.knob(n).values for n in space.names if n.startswith("indexing[")]
    if not any("tensor_descriptor" in m for m in modes):
        pytest.skip(f"{name}: no access may use a tensor descriptor (gathers, jagged loops)")
    config = _tma_config(space, seed=sum(map(ord, name)))
    assert config is not None, f"{name}: no valid config with tensor descriptors in {space}"
    _check(kernel, config, args, reference, tol, dtype)
    assert descriptor_checks and all(descriptor_checks), (
        f"{name}: aligned realistic inputs fell back to pointers: {descriptor_checks}"
    )
