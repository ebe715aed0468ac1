"""A compile job whose module takes 0.8 s to import (like torch + triton in a fresh worker)."""

import time

time.sleep(0.8)


def compile_fast() -> None:
    pass
