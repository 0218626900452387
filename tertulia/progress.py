"""Progress for long work (a big import, an API backfill, enrichment of a long history, the Prefect
server starting), shown on a terminal only.

A run under a scheduler, in CI or piped to a file shows nothing here: its log lines say the same once per
step. `TERTULIA_PROGRESS=off` silences it on a terminal too, `on` shows it even without one.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any


class Steps:
    """What a step reports: how far it got. Kept even when nothing is shown, so callers never branch."""

    def __init__(self, bar: Any = None, task: Any = None) -> None:
        self._bar, self._task = bar, task
        self.completed = 0

    def advance(self, amount: int = 1, description: str | None = None) -> None:
        self.completed += amount
        if self._bar is not None:
            self._bar.update(
                self._task, advance=amount, **({"description": description} if description else {})
            )


def shown() -> bool:
    setting = os.environ.get("TERTULIA_PROGRESS", "auto").lower()
    if setting in ("off", "0", "false", "no"):
        return False
    return setting in ("on", "1", "true", "yes") or sys.stderr.isatty()


@contextlib.contextmanager
def progress(description: str, total: int | None = None) -> Iterator[Steps]:
    """`with progress("Enriching comments") as p: ... p.advance(n)`; a bar when `total` is known, else a
    spinner with the count so far."""
    if not shown():
        yield Steps()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    columns += [BarColumn(), MofNCompleteColumn()] if total else [TextColumn("{task.completed:,.0f}")]
    columns.append(TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield Steps(bar, task)
