"""kcompiler.runtime: the ``Kernel`` object users call, and what it drives per call.

Importing this package (any runtime module) first calls ``settings.default_to_interpreter()``,
before a runtime module can import triton: with no CUDA device it sets ``TRITON_INTERPRET=1``,
the one change to global state that importing kcompiler makes (its docstring says why it must
be the process environment; README, "Settings").
"""

from kcompiler import settings, target

settings.default_to_interpreter()


def get_num_sm(device: object, *, reserved_sms: int = 0) -> int:
    """The number of programs a hand-written persistent kernel should launch on ``device``
    (Helion's ``helion.runtime.get_num_sm``): a CUDA device's SM count less ``reserved_sms``;
    on the CPU (Triton's interpreter runs the programs one after another) the
    ``KCOMPILER_INTERPRETER_SMS`` setting, a few programs that still exercise the kernel's
    loop over tiles."""
    import torch

    dev = torch.device(device)  # type: ignore[call-overload]
    if dev.type == "cuda":
        index = dev.index if dev.index is not None else torch.cuda.current_device()
        count = torch.cuda.get_device_properties(index).multi_processor_count
    else:
        count = target.sm_count(interpret=True)
    return max(1, count - reserved_sms)
