"""kcompiler/target.py: device facts, chosen by the current device."""

from __future__ import annotations

import pytest
import torch

from kcompiler import settings, target


@pytest.mark.skipif(torch.cuda.is_available(), reason="the no-device case")
def test_without_a_device_configs_are_planned_for_the_default_gpu() -> None:
    assert target.cuda_device() is None
    assert target.current() is target.DEFAULT
    assert target.DEFAULT.shared_memory_per_block == 232448
    assert target.sm_count(interpret=False) == settings.Settings.interpreter_sms


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_device_is_described_by_its_properties() -> None:
    props = torch.cuda.get_device_properties(torch.cuda.current_device())
    device = target.current()
    assert device.sm_count == props.multi_processor_count == target.sm_count(interpret=False)
    assert device.shared_memory_per_block == props.shared_memory_per_block_optin


def test_the_interpreter_sizes_persistent_grids_by_the_setting() -> None:
    with settings.override(interpreter_sms=3):
        assert target.sm_count(interpret=True) == 3


def test_get_num_sm_sizes_hand_written_persistent_kernels() -> None:
    from kcompiler import runtime

    with settings.override(interpreter_sms=5):
        assert runtime.get_num_sm(torch.device("cpu")) == 5
        assert runtime.get_num_sm("cpu", reserved_sms=2) == 3
        assert runtime.get_num_sm("cpu", reserved_sms=9) == 1  # never an empty grid
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(torch.cuda.current_device())
        assert runtime.get_num_sm(torch.device("cuda")) == props.multi_processor_count
