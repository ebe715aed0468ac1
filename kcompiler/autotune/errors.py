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
