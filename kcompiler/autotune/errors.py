"""Exceptions shared by the autotuner's modules (kept apart so none imports another for them)."""

from __future__ import annotations


class ConfigError(ValueError):
    """A config is outside its space: a knob off its domain, or a constraint violated.

    The message names the knob and its allowed domain (or the constraint), because the user
    who wrote ``config=Config(...)`` by hand needs to know which value to change.
    """


class WrongResult(Exception):
    """Raised by a target's ``benchmark`` when a config's output differs from the reference.

    The tuner treats it as a failure, so a fast but wrong config can never win.
    """


class AutotuneError(RuntimeError):
    """Tuning could not produce any working config (every candidate failed)."""


class DeviceFault(AutotuneError):
    """A candidate left the GPU unusable for this process (an illegal address, a device-side
    assert: CUDA errors that are sticky), so no later candidate can be measured here.

    The tuner stops at once instead of failing every remaining config; the fault and every
    measurement are already in the cache, so a new process resumes without that config.
    """

    def __init__(self, message: str, config: object) -> None:
        super().__init__(message)
        self.config = config


# Messages of CUDA errors after which the context is unusable (cudaGetLastError cannot clear
# them): a benchmark that raises one of these has poisoned the process, not just failed.
_STICKY_CUDA_ERRORS = (
    "illegal memory access",
    "device-side assert",
    "unspecified launch failure",
    "misaligned address",
    "illegal instruction",
    "an illegal address",
)


def is_device_fault(error: BaseException) -> bool:
    text = str(error)
    return "CUDA error" in text and any(m in text for m in _STICKY_CUDA_ERRORS)
