"""What every live (API) connector shares: its settings, credentials, window and brand identity.

A platform module subclasses `LiveConnector`, declares `platform`, `default_base_url`, how to classify
its errors and read its rate-limit headers, and writes `fetch`. State is a plain dict per stream:

    {"high": <newest timestamp landed>, "walk": {"next": <page token>, "start": <iso>, "new_high": <iso>}}

A *walk* reads a newest-first listing down to `start` (the cursor's high-water mark minus the look-back
window, or `--since`). Its progress is in the cursor of every page, so a walk cut short by the page budget
or an error resumes where it stopped; only when it reaches `start` does the high-water mark move.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from connectors.base import Page, SourceError
from connectors.http_client import Decision, HttpClient, RetryPolicy, mask_secrets
from tertulia.config import Config, ConnectorSource
from tertulia.contract import ENTITIES

DEFAULT_INITIAL_DAYS = 30
# Keys of sources.<name> every live connector reads (beyond ConnectorSource's typed fields).
COMMON_SETTINGS = ("account", "handle", "initial_days", "start_date")
# How community.yml names a credential: an environment variable or a Prefect Secret block, never the value.
CREDENTIAL_SUFFIXES = ("_env", "_secret_block")


def iso(t: dt.datetime) -> str:
    """The contract's timestamp form: ISO 8601 with an explicit UTC offset."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).isoformat(timespec="seconds")


def as_utc(t: dt.datetime) -> dt.datetime:
    """A naive datetime is UTC (the warehouse's convention); an aware one is converted."""
    return t.astimezone(dt.UTC) if t.tzinfo else t.replace(tzinfo=dt.UTC)


def parse_time(value: Any) -> dt.datetime:
    """A platform timestamp (ISO 8601 with Z, +0000 or +00:00, or epoch seconds) as an aware UTC datetime."""
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(float(value), dt.UTC)
    text = str(value).strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    elif len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit() and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]  # +0000 -> +00:00 (Graph API style)
    t = dt.datetime.fromisoformat(text)
    return (t if t.tzinfo else t.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def read_secret(source_name: str, source: ConnectorSource, key: str) -> str:
    """A credential named in the source's config: `<key>_env` (environment) or `<key>_secret_block`.

    The value itself is never in community.yml and never appears in a message.
    """
    extra = source.model_extra or {}
    env_name = extra.get(f"{key}_env")
    block = extra.get(f"{key}_secret_block")
    if env_name:
        value = os.environ.get(str(env_name))
        if value:
            return value
        if not block:
            raise SourceError(
                f"source {source_name}: environment variable {env_name} (sources.{source_name}.{key}_env) is not "
                f"set; export it with the {key.replace('_', ' ')} and run again."
            )
    if block:
        try:
            from prefect.blocks.system import Secret  # Prefect is heavy: only when a block is named

            return str(Secret.load(str(block)).get())
        except Exception as exc:  # noqa: BLE001 - any failure to read the block means the same to the user
            raise SourceError(
                f"source {source_name}: could not read Prefect Secret block {block!r} "
                f"(sources.{source_name}.{key}_secret_block): {type(exc).__name__}. Create it with "
                f"`Secret(value=...).save({block!r})` or check the Prefect API is reachable."
            ) from None
    raise SourceError(
        f"source {source_name}: no credential configured; set `{key}_env: SOME_ENV_VAR` (or "
        f"`{key}_secret_block: block-name`) under sources.{source_name} in community.yml."
    )


@dataclass
class Listing:
    """One page of a newest-first listing, as a platform's `read` gives it to `walk_newest_first`."""

    items: list[Any]
    next: str | None  # the token of the next (older) page; None: the listing ends with this page
    what: str  # the request, for messages ("/posts.json before 1234")


class LiveConnector:
    """Base of the platform connectors; see the module docstring for the state it keeps."""

    platform: ClassVar[str]
    default_base_url: ClassVar[str]
    # Key under sources.<name> naming the platform's own id of the brand account (e.g. channel_id).
    own_id_key: ClassVar[str | None] = None
    # Keys of sources.<name> this platform reads through opt()/require(), besides COMMON_SETTINGS and
    # own_id_key. community.yml is checked against them on load (tertulia.config), so a misspelt key
    # stops there instead of being ignored; opt() refuses a key not declared, so the list stays true.
    settings: ClassVar[tuple[str, ...]] = ()
    # Credentials read through secret(): each named by `<key>_env` or `<key>_secret_block`.
    credentials: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def setting_keys(cls) -> frozenset[str]:
        """Every key a source of this platform accepts beyond ConnectorSource's typed fields."""
        named = {c + suffix for c in cls.credentials for suffix in CREDENTIAL_SUFFIXES}
        own = {cls.own_id_key} if cls.own_id_key else set()
        return frozenset({*COMMON_SETTINGS, *cls.settings, *named, *own})

    def __init__(
        self,
        name: str,
        source: ConnectorSource,
        config: Config,
        *,
        since: dt.datetime | None = None,
        now: dt.datetime | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.name = name
        self.source = source
        self.config = config
        self.since = as_utc(since) if since else None
        self.now = as_utc(now) if now else dt.datetime.now(dt.UTC)
        self._sleep = sleep
        self._transport = transport
        self._policy = policy or RetryPolicy()
        self.state: dict[str, Any] = {}
        # What a person should know about this run that is not an error (the run's report lists them).
        self.notes: list[str] = []
        self._secrets: list[str] = []
        self.client = self.make_client()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    # --- settings -------------------------------------------------------------------------------
    def opt(self, key: str, default: Any = None) -> Any:
        if key not in self.setting_keys():
            raise KeyError(f"{type(self).__name__} reads sources.<name>.{key}: declare it in `settings`")
        return (self.source.model_extra or {}).get(key, default)

    def require(self, key: str, what: str) -> str:
        value = self.opt(key)
        if value in (None, ""):
            raise SourceError(
                f"source {self.name}: `{key}` is missing under sources.{self.name} in community.yml; "
                f"set it to {what}."
            )
        return str(value)

    def secret(self, key: str = "token") -> str:
        if key not in self.credentials:
            raise KeyError(f"{type(self).__name__} reads credential {key!r}: declare it in `credentials`")
        value = read_secret(self.name, self.source, key)
        self._secrets.append(value)
        if hasattr(self, "client"):
            self.client.add_secret(value)
        return value

    @property
    def base_url(self) -> str:
        return (self.source.base_url or self.default_base_url).rstrip("/")

    def new_client(self, base_url: str, **kwargs: Any) -> HttpClient:
        return HttpClient(
            source=self.name,
            base_url=base_url,
            classify=self.classify,
            pace=self.pace,
            policy=self._policy,
            sleep=self._sleep,
            transport=self._transport,
            secrets=tuple(self._secrets),
            **kwargs,
        )

    def make_client(self) -> HttpClient:
        return self.new_client(self.base_url)

    # --- what the runner reads (connectors.base.Connector) --------------------------------------
    @property
    def stop_reason(self) -> str | None:
        return self.client.stop_reason

    def masked(self, text: str) -> str:
        return mask_secrets(text, self.client.secrets)

    def usage(self) -> tuple[int, list[float]]:
        return self.client.requests_made, list(self.client.waits)

    def close(self) -> None:
        self.client.close()

    # --- platform hooks -------------------------------------------------------------------------
    def classify(self, resp: httpx.Response, body: Any) -> Decision | None:
        return None

    def pace(self, resp: httpx.Response) -> float:
        return 0.0

    # --- brand identity -------------------------------------------------------------------------
    @property
    def own_id(self) -> str | None:
        return str(self.opt(self.own_id_key)) if self.own_id_key and self.opt(self.own_id_key) else None

    @property
    def account_id(self) -> str:
        """The brand account's id in Tertulia: `account:` of the source, else the one configured
        account of this platform, else the platform's own id. Brand replies carry it as author_id, so
        int_comments_authored recognises them."""
        explicit = self.opt("account")
        if explicit:
            return str(explicit)
        mine = [a.account_id for a in self.config.accounts if a.platform == self.platform]
        if len(mine) == 1:
            return mine[0]
        if self.own_id:
            return self.own_id
        raise SourceError(
            f"source {self.name}: cannot tell which {self.platform} account is the brand's; set `account:` "
            f"under sources.{self.name} to one of accounts[].account_id."
        )

    def author_id(self, platform_id: Any, *, handle: Any = None) -> str:
        """The brand's own platform id (or handle) becomes the configured account id."""
        pid = text_or_none(platform_id) or ""
        own = {self.own_id, self.opt("handle")} - {None, ""}
        if pid in own or (handle is not None and str(handle) in own):
            return self.account_id
        return pid

    # --- windows and walks ----------------------------------------------------------------------
    def stream(self, key: str) -> dict[str, Any]:
        return self.state.setdefault(key, {})

    def begin_walk(self, key: str, *, lookback: bool = True) -> dict[str, Any]:
        st = self.stream(key)
        # Resume a walk cut short by the budget (the same --since again resumes its backfill too).
        if st.get("walk") and (self.since is None or st["walk"]["start"] == iso(self.since)):
            return st["walk"]
        if self.since is not None:
            start = self.since
        elif st.get("high"):
            start = parse_time(st["high"]) - dt.timedelta(days=self.source.lookback_days if lookback else 0)
        else:
            start = self.initial_start()
        st["walk"] = {"next": None, "start": iso(start), "new_high": st.get("high")}
        return st["walk"]

    def initial_start(self) -> dt.datetime:
        first = self.opt("start_date")
        if first:
            return parse_time(str(first) + ("" if "T" in str(first) else "T00:00:00+00:00"))
        return self.now - dt.timedelta(days=int(self.opt("initial_days", DEFAULT_INITIAL_DAYS)))

    def lookback_start(self) -> dt.datetime:
        """Start of the metrics re-read: the look-back window (or --since), never later than today."""
        if self.since is not None:
            return self.since
        return self.now - dt.timedelta(days=self.source.lookback_days)

    @staticmethod
    def see(walk: dict[str, Any], t: dt.datetime) -> None:
        if walk.get("new_high") is None or t > parse_time(walk["new_high"]):
            walk["new_high"] = iso(t)

    def end_walk(self, key: str) -> None:
        st = self.stream(key)
        walk = st.pop("walk", None)
        if walk and walk.get("new_high"):
            st["high"] = walk["new_high"]

    def walk_newest_first(
        self,
        key: str,
        read: Callable[[str | None], Listing],
        time_of: Callable[[Any, str], dt.datetime],
        *,
        floor: dt.datetime | None = None,
        newest_first: bool = True,
    ) -> Iterator[tuple[list[Any], dict[str, Any], str]]:
        """Read a listing page by page down to the walk's start (or `floor`, if earlier); yield each
        page's items at or after it, the walk and the page's `what`, once the walk's cursor has moved
        past the page.

        `read(token)` fetches one page (token None: the newest) and says the token of the next, older
        one (None: the listing ends). `time_of(item, what)` is the item's time; it raises the platform's
        `malformed` error for an item it cannot read. The caller turns the items into records and
        yields `self.page(...)` before asking for the next page: the page's cursor then resumes after it.
        A listing whose page is not in time order (`newest_first=False`) is read whole, older items
        skipped; the walk still ends at the page that held one.
        """
        walk = self.begin_walk(key)
        start = parse_time(walk["start"])
        if floor is not None and floor < start:
            start = floor
        while True:
            listing = read(walk["next"])
            items, done = [], listing.next is None
            for item in listing.items:
                t = time_of(item, listing.what)
                if t < start:
                    done = True
                    if newest_first:
                        break
                    continue
                self.see(walk, t)
                items.append(item)
            walk["next"] = None if done else listing.next
            if not walk["next"]:
                self.end_walk(key)
            yield items, walk, listing.what
            if not walk["next"]:
                return

    def page(self, records: dict[str, list[dict[str, Any]]]) -> Page:
        """A page of the records read, each key once (the last copy wins: two endpoints may return the
        same comment), with the state to resume from."""
        out: dict[str, list[dict[str, Any]]] = {}
        for entity, rows in records.items():
            if not rows:
                continue
            key = ENTITIES[entity].key
            out[entity] = list({tuple(r.get(k) for k in key): r for r in rows}.values())
        return Page(records=out, cursor=copy.deepcopy(self.state))

    def fetch(self, cursor: dict[str, Any] | None) -> Iterator[Page]:
        """Run the streams in order, starting at the one a budget-cut run stopped in (`cycle_at`), so a
        long backfill of one stream never starves the streams after it."""
        self.state = copy.deepcopy(cursor or {})
        streams = self.streams()
        keys = [k for k, _ in streams]
        first = keys.index(self.state["cycle_at"]) if self.state.get("cycle_at") in keys else 0
        for i, (key, read) in enumerate(streams[first:], start=first):
            self.state["cycle_at"] = key
            for page in read():
                if "walk" not in page.cursor.get(key, {}):
                    # This stream is done: a run stopped after this page starts with the next one.
                    self.state.pop("cycle_at", None)
                    if i + 1 < len(keys):
                        self.state["cycle_at"] = keys[i + 1]
                    page.cursor = copy.deepcopy(self.state)
                yield page

    def streams(self) -> list[tuple[str, Callable[[], Iterator[Page]]]]:  # pragma: no cover
        """(state key, reader) pairs in reading order; a reader that walks uses its key for the walk."""
        raise NotImplementedError

    def malformed(self, what: str, detail: str) -> SourceError:
        from connectors.http_client import MalformedResponse

        return MalformedResponse(
            f"source {self.name}: {what} is not in the documented shape ({detail}). Nothing from this page was "
            "landed; the next run retries it. If it keeps happening, the platform changed its API: report it."
        )


def comment(
    platform: str,
    *,
    comment_id: Any,
    post_id: Any,
    parent_id: Any,
    thread_id: Any,
    author_id: Any,
    author_name: Any,
    created_at: dt.datetime,
    updated_at: dt.datetime | None,
    message: Any,
    channel: str,
    like_count: Any = None,
    is_deleted: bool = False,
) -> dict[str, str | None]:
    """One comment in the raw contract (all values text)."""
    return {
        "platform": platform,
        "comment_id": text_or_none(comment_id),
        "post_id": text_or_none(post_id),
        "parent_id": text_or_none(parent_id),
        "thread_id": text_or_none(thread_id),
        "author_id": text_or_none(author_id),
        "author_name": text_or_none(author_name),
        "created_at": iso(created_at),
        "updated_at": iso(updated_at or created_at),
        "message": text_or_none(message),
        "channel": channel,
        "like_count": text_or_none(like_count),
        "is_deleted": "true" if is_deleted else "false",
    }


def post(
    platform: str,
    *,
    post_id: Any,
    account_id: Any,
    published_at: dt.datetime,
    message: Any,
    content_type: Any,
    permalink: Any,
) -> dict[str, str | None]:
    """One post in the raw contract (all values text)."""
    return {
        "platform": platform,
        "post_id": text_or_none(post_id),
        "account_id": text_or_none(account_id),
        "published_at": iso(published_at),
        "message": text_or_none(message),
        "content_type": text_or_none(content_type),
        "permalink": text_or_none(permalink),
    }


def post_metrics(
    platform: str,
    *,
    post_id: Any,
    captured_at: dt.datetime,
    impressions: Any = None,
    reach: Any = None,
    reactions: Any = None,
    comments: Any = None,
    shares: Any = None,
    **platform_counts: Any,
) -> dict[str, str | None]:
    """One capture of a post's counters (all values text); `platform_counts` are the contract's optional
    columns one platform reports (`video_views`, `clicks`, `saves`)."""
    return {
        "platform": platform,
        "post_id": text_or_none(post_id),
        "captured_at": iso(captured_at),
        "impressions": text_or_none(impressions),
        "reach": text_or_none(reach),
        "reactions": text_or_none(reactions),
        "comments": text_or_none(comments),
        "shares": text_or_none(shares),
        **{k: text_or_none(v) for k, v in platform_counts.items()},
    }


def account(platform: str, *, account_id: Any, handle: Any, name: Any) -> dict[str, str | None]:
    """The brand account in the raw contract (all values text)."""
    return {
        "platform": platform,
        "account_id": text_or_none(account_id),
        "handle": text_or_none(handle),
        "name": text_or_none(name),
    }


def account_metrics(
    platform: str, *, account_id: Any, date: str, followers: Any, impressions: Any = None, reach: Any = None
) -> dict[str, str | None]:
    """One day of the brand account's counters (all values text)."""
    return {
        "platform": platform,
        "account_id": text_or_none(account_id),
        "date": date,
        "followers": text_or_none(followers),
        "impressions": text_or_none(impressions),
        "reach": text_or_none(reach),
    }
