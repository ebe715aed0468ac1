"""The tuning progress bar: configs tried, failed, best time, elapsed.

Shown on a terminal (or when asked); everywhere else the tuner's `logging` records carry the
same events, so CI logs are not filled with bar redraws. rich is imported only when a bar is
actually shown.
"""

from __future__ import annotations

from typing import Any


class TuningProgress:
    """A context manager; ``update`` is a no-op when disabled."""

    def __init__(self, name: str, total: int, enabled: bool, console: Any = None) -> None:
        self.enabled = enabled
        self._bar: Any = None
        self._task: Any = None
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._bar = Progress(
            TextColumn(f"autotune [bold]{name}[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("failed {task.fields[failed]}"),
            TextColumn("best {task.fields[best]}"),
            TimeElapsedColumn(),
            console=console if console is not None else Console(stderr=True),
        )
        self._task = self._bar.add_task("tune", total=total, failed=0, best="-")

    def __enter__(self) -> TuningProgress:
        if self._bar is not None:
            self._bar.start()
        return self

    def update(self, tried: int, failed: int, best_ms: float | None) -> None:
        if self._bar is not None:
            best = "-" if best_ms is None else f"{best_ms:.4f} ms"
            self._bar.update(self._task, completed=tried, failed=failed, best=best)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
