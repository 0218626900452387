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
    name: str  # source name as in community.yml `sources:`

    def fetch(self, cursor: dict[str, Any] | None) -> Iterator[Page]:
        """Yield pages of new or changed records since `cursor` (None: from the configured start)."""
        ...


class SourceError(RuntimeError):
    """A source cannot go on this run (expired token, missing permission...); the message says what to do.

    `retryable` is False for errors retrying cannot fix; the runner stops that source only.
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
