"""The one small interface every connector implements.

A connector knows one platform: its endpoints, cursor and keys. It yields `Page`s of records already
in the raw contract (tertulia.contract), each page with the cursor to resume from after it. The shared
runner (connectors.runner) owns state, batching, landing, retries and rate limits, so a new platform
is one file with one class.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Page:
    # entity name (tertulia.contract.ENTITIES) -> records in the raw contract
    records: dict[str, list[dict[str, Any]]]
    # Opaque state to resume from once this page has landed; stored in the warehouse.
    cursor: dict[str, Any] = field(default_factory=dict)


class Connector(Protocol):
    """What the runner (connectors.runner) uses of a connector: nothing else."""

    name: str  # source name as in community.yml `sources:`
    # What a person should know about the run that is not an error (the run's report lists them).
    notes: list[str]

    def fetch(self, cursor: dict[str, Any] | None) -> Iterator[Page]:
        """Yield pages of new or changed records since `cursor` (None: from the configured start)."""
        ...

    @property
    def stop_reason(self) -> str | None:
        """Why the source pauses after the page just landed (a quota, a long throttle); None: go on."""
        ...

    def masked(self, text: str) -> str:
        """`text` with every credential the connector read replaced, for messages and the state table."""
        ...

    def usage(self) -> tuple[int, list[float]]:
        """Requests made and every wait taken so far, for the run's report."""
        ...

    def close(self) -> None:
        """Let go of connections; called once, after the last page."""
        ...


class SourceError(RuntimeError):
    """A source cannot go on this run (expired token, missing permission...); the message says what to do.

    `retryable` is False for errors retrying cannot fix; the runner stops that source only.
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
