"""The HTTP layer every live connector shares: retries, backoff, rate limits and secret masking.

A platform plugs in two small functions: `classify` turns an error response into a decision (retry after
a wait, stop the source for good, stop it for this run only) and `pace` reads the platform's rate-limit
headers on a good response and says how long to wait before the next call. Everything else (which
status codes are worth retrying, the floor under every wait, the bound on attempts) lives here once.

Waits go through an injectable `sleep`, so tests record them instead of sleeping.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from connectors.base import SourceError

# Query parameters that carry credentials; they are masked in every message and log line.
SECRET_PARAMS = ("access_token", "key", "client_secret", "api_key", "token", "password")


class RateLimited(SourceError):
    """The platform asks for a wait longer than a run should block; the source resumes next run."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


class MalformedResponse(SourceError):
    """A response is not in the shape the platform documents; nothing from it is landed."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


@dataclass(frozen=True)
class Decision:
    """What to do with an error response: `retry` after `wait` seconds, or stop with `message`.

    `fatal` stops the source until a person acts (token, permission); otherwise the source stops for
    this run only and resumes from its cursor on the next one (quota, long throttling).
    """

    action: str  # "retry" | "stop"
    wait: float | None = None
    message: str = ""
    fatal: bool = True


@dataclass
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 1.0  # first backoff wait; doubles each attempt
    max_delay: float = 60.0  # cap of one backoff wait
    min_wait: float = 1.0  # floor under every wait, so a zero or missing Retry-After never spins
    max_wait: float = 300.0  # a platform asking for longer stops the source for this run instead


@dataclass
class HttpClient:
    """GET/POST JSON with the shared policy. `source` names the source in every message."""

    source: str
    base_url: str
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)  # sent on every request (e.g. an API key)
    secrets: tuple[str, ...] = ()
    classify: Callable[[httpx.Response, Any], Decision | None] | None = None
    pace: Callable[[httpx.Response], float] | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    timeout: float = 30.0
    transport: httpx.BaseTransport | None = None
    rng: random.Random = field(default_factory=random.Random)
    requests_made: int = 0
    waits: list[float] = field(default_factory=list)  # every wait taken, for reports and tests
    # Set when the platform asks for a long pause after a good response: stop after landing this page.
    stop_reason: str | None = None

    def __post_init__(self) -> None:
        self._client = httpx.Client(
            base_url=self.base_url.rstrip("/") + "/" if self.base_url else "",
            headers=self.headers,
            timeout=self.timeout,
            transport=self.transport,
            follow_redirects=True,
        )

    def __repr__(self) -> str:  # never show headers or params: they hold credentials
        return f"HttpClient(source={self.source!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        self._client.close()

    def mask(self, text: str) -> str:
        return mask_secrets(text, self.secrets)

    def add_secret(self, value: str | None) -> None:
        if value:
            self.secrets = (*self.secrets, value)

    def _wait(self, seconds: float) -> None:
        seconds = max(self.policy.min_wait, float(seconds))
        self.waits.append(seconds)
        self.sleep(seconds)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter in its upper half: base * 2^attempt, capped."""
        cap = min(self.policy.max_delay, self.policy.base_delay * (2**attempt))
        return max(self.policy.min_wait, cap / 2 + self.rng.uniform(0, cap / 2))

    def get_json(
        self, url: str, params: dict[str, Any] | None = None, *, what: str = ""
    ) -> tuple[Any, httpx.Response]:
        return self.request_json("GET", url, params=params, what=what)

    def request_json(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        what: str = "",
    ) -> tuple[Any, httpx.Response]:
        """One call, retried within the policy; returns (parsed JSON body, response)."""
        merged = {**self.params, **(params or {})}
        label = what or url
        last_problem = ""
        for attempt in range(self.policy.max_attempts):
            try:
                resp = self._client.request(
                    method,
                    url.lstrip("/") if not url.startswith("http") else url,
                    params=merged,
                    data=data,
                    headers=headers,
                    auth=auth,
                )
                self.requests_made += 1
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                self.requests_made += 1
                last_problem = f"{type(exc).__name__}: {self.mask(str(exc))}"
                if attempt + 1 < self.policy.max_attempts:
                    self._wait(self.backoff(attempt))
                continue
            body = _parse_body(resp)
            if resp.status_code < 400:
                if body is _NOT_JSON:
                    raise MalformedResponse(
                        f"source {self.source}: {label} answered HTTP {resp.status_code} with a body that is not "
                        f"JSON ({self.mask(resp.text[:120])!r}) from {self.mask(str(resp.url))}. Nothing from this "
                        "page was landed; the next run retries it. If it persists, check base_url."
                    )
                if self.pace is not None:
                    pause = self.pace(resp)
                    if pause > self.policy.max_wait:
                        # The data is good: return it, and let the runner stop once it has landed.
                        self.stop_reason = self._long_wait_message(label, pause)
                    elif pause > 0:
                        self._wait(pause)
                return body, resp
            decision = self.classify(resp, None if body is _NOT_JSON else body) if self.classify else None
            if decision is None:
                decision = default_decision(resp)
            if decision.action == "retry":
                wait = decision.wait if decision.wait is not None else self.backoff(attempt)
                if wait > self.policy.max_wait:
                    raise RateLimited(self._long_wait_message(label, wait))
                last_problem = f"HTTP {resp.status_code}"
                if attempt + 1 < self.policy.max_attempts:
                    self._wait(wait)
                continue
            message = decision.message or (
                f"{label} failed with HTTP {resp.status_code}: {self.mask(resp.text[:200])}"
            )
            raise SourceError(f"source {self.source}: {self.mask(message)}", retryable=not decision.fatal)
        raise SourceError(
            f"source {self.source}: {label} still failing after {self.policy.max_attempts} attempts "
            f"(last: {last_problem}). The platform may be down; the next run resumes from the last landed page.",
            retryable=True,
        )

    def _long_wait_message(self, label: str, wait: float) -> str:
        return (
            f"source {self.source}: rate limited at {label}; the platform asks to wait {wait:.0f}s, longer than "
            f"{self.policy.max_wait:.0f}s. Stopped this source for this run; the next run resumes from the last "
            "landed page."
        )


_NOT_JSON = object()


def _parse_body(resp: httpx.Response) -> Any:
    if not resp.content:
        return None
    try:
        return json.loads(resp.content)
    except ValueError:
        return _NOT_JSON


def default_decision(resp: httpx.Response) -> Decision:
    """429 and 5xx are worth retrying (honouring Retry-After); any other 4xx is not."""
    if resp.status_code == 429 or resp.status_code >= 500:
        return Decision("retry", wait=retry_after(resp))
    return Decision("stop", fatal=True)


def retry_after(resp: httpx.Response, now: dt.datetime | None = None) -> float | None:
    """Seconds from `Retry-After` (delta-seconds or an HTTP date); None when absent or unreadable."""
    value = resp.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


def reset_in(value: str | None, now: dt.datetime | None = None) -> float | None:
    """An `X-RateLimit-Reset` value as seconds from now: seconds (Reddit) or an ISO time (Mastodon)."""
    if not value:
        return None
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        try:
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        now = now or dt.datetime.now(dt.UTC)
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return max(0.0, (when - now).total_seconds())
    # An epoch timestamp rather than a delta (some servers send one).
    if number > 10**9:
        now = now or dt.datetime.now(dt.UTC)
        return max(0.0, number - now.timestamp())
    return max(0.0, number)


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, "***")
    pattern = "|".join(re.escape(p) for p in SECRET_PARAMS)
    return re.sub(rf"(?i)([?&](?:{pattern})=)[^&\s'\"]+", r"\1***", text)
