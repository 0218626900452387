"""Discord: the messages of a community server's channels and of their threads, read by the brand's bot.

Auth: a bot token (`bot_token_env`), sent as `Authorization: Bot <token>`. The bot needs the View Channel
and Read Message History permissions on the channels named in `channel_ids:` and the Message Content
intent (without it Discord sends empty `content` for messages that do not mention the bot).
`guild_id:` is the server's id; `bot_user_id:` the bot's own user id, and `brand_user_ids:` the
team's Discord user ids: their messages are the brand answering.

Endpoints (API v10): `GET /channels/{id}/messages` (newest first, up to 100 a page, paged with
`before=<message id>`) for each configured channel, and `GET /guilds/{id}/threads/active` for the
threads and forum posts under those channels, whose messages are read the same way.

Threads: a message in a thread (or forum post) belongs to that thread, whose id is its starter
message's id; in a channel, a message answering another (`message_reference`) joins the conversation of
the message it answers, and any other message starts its own. The channel is the `post_id` (Discord
has no posts), every message is a comment (channel `comment`, or `reply` when it answers a message).

Rate limits: HTTP 429 with `retry_after` (seconds) in the body and `X-RateLimit-Reset-After` headers;
`X-RateLimit-Remaining: 0` paces the next call. Edits are seen on re-read within the look-back window
(`edited_timestamp` becomes `updated_at`); a message deleted after it landed is not returned by Discord
any more, so it stays as it landed (the gateway's delete events are not read).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from connectors.base import Page, SourceError
from connectors.http_client import Decision, HttpClient, retry_after
from connectors.live import Listing, LiveConnector, parse_time
from connectors.live import comment as make_comment

DISCORD_EPOCH_MS = 1420070400000
PAGE_SIZE = 100
# Message types that are people talking (0 default, 19 reply, 21 thread starter); joins, pins and
# boosts are system notices, not conversation.
CONVERSATION_TYPES = {0, 19, 21}


def snowflake_time(snowflake: str | int) -> dt.datetime:
    """When a Discord id was made: its top 42 bits are milliseconds since 2015-01-01."""
    return dt.datetime.fromtimestamp(((int(snowflake) >> 22) + DISCORD_EPOCH_MS) / 1000, dt.UTC)


def time_snowflake(t: dt.datetime) -> str:
    """The smallest id made at `t`: messages before it are older than `t`."""
    return str((int(t.timestamp() * 1000) - DISCORD_EPOCH_MS) << 22)


class DiscordConnector(LiveConnector):
    platform = "discord"
    default_base_url = "https://discord.com/api/v10"
    own_id_key = "bot_user_id"
    settings = ("guild_id", "channel_ids", "brand_user_ids", "page_size")
    credentials = ("bot_token",)

    def make_client(self) -> HttpClient:
        return self.new_client(self.base_url, headers={"Authorization": f"Bot {self.secret('bot_token')}"})

    @property
    def channel_ids(self) -> list[str]:
        ids = self.opt("channel_ids") or []
        if isinstance(ids, str | int):
            ids = [ids]
        if not ids:
            self.require("channel_ids", "the list of channel ids to read (right click → Copy Channel ID)")
        return [str(i) for i in ids]

    @property
    def brand_ids(self) -> set[str]:
        return {str(i) for i in (self.opt("brand_user_ids") or [])} | ({self.own_id} - {None})

    def author_id(self, platform_id: Any, *, handle: Any = None) -> str:
        return self.account_id if str(platform_id) in self.brand_ids else str(platform_id)

    def classify(self, resp: httpx.Response, body: Any) -> Decision | None:
        message = body.get("message") if isinstance(body, dict) else None
        if resp.status_code == 429:
            wait = body.get("retry_after") if isinstance(body, dict) else None
            if wait is None:
                wait = retry_after(resp)
            return Decision("retry", wait=float(wait) if wait is not None else None)
        if resp.status_code == 401:
            return Decision(
                "stop",
                message=f"{self.name}: Discord rejected the bot token (HTTP 401: {message or 'Unauthorized'}). "
                f"Reset the token in the Developer Portal (Bot → Reset Token) and put it in "
                f"{self.opt('bot_token_env') or 'bot_token_env'}.",
            )
        if resp.status_code == 403:
            return Decision(
                "stop",
                message=f"{self.name}: the bot may not read {resp.request.url.path} (HTTP 403: {message}). Give it "
                "View Channel and Read Message History on that channel, or remove the channel from channel_ids.",
            )
        if resp.status_code == 404:
            return Decision(
                "stop",
                message=f"{self.name}: {resp.request.url.path} does not exist (HTTP 404: {message}); check "
                "guild_id and channel_ids.",
            )
        return None

    def pace(self, resp: httpx.Response) -> float:
        try:
            if int(resp.headers.get("x-ratelimit-remaining", "1")) <= 0:
                return max(0.0, float(resp.headers.get("x-ratelimit-reset-after", "0")))
        except ValueError:
            return 0.0
        return 0.0

    def streams(self) -> list[tuple[str, Callable[[], Iterator[Page]]]]:
        # One stream per channel (its own cursor), then the threads under them, each its own stream
        # named at run time: a thread found later starts from the look-back window like any channel.
        channels = [(f"channel:{c}", self._reader(c)) for c in self.channel_ids]
        return channels + ([("threads", self._threads)] if self.opt("guild_id") else [])

    def _reader(self, channel_id: str) -> Callable[[], Iterator[Page]]:
        return lambda: self._messages(channel_id, parent=None)

    def _threads(self) -> Iterator[Page]:
        guild = str(self.opt("guild_id"))
        what = f"/guilds/{guild}/threads/active"
        body, _ = self.client.get_json(f"guilds/{guild}/threads/active", what=what)
        threads = body.get("threads") if isinstance(body, dict) else None
        if not isinstance(threads, list):
            raise self.malformed(what, "no `threads` list")
        wanted = set(self.channel_ids)
        for t in threads:
            if isinstance(t, dict) and str(t.get("parent_id")) in wanted and t.get("id"):
                yield from self._messages(str(t["id"]), parent=str(t["parent_id"]))

    def _row(
        self, m: dict[str, Any], channel_id: str, *, parent_channel: str | None, roots: dict[str, str]
    ) -> dict[str, Any]:
        """One message; `parent_channel` is set when `channel_id` is a thread under that channel."""
        thread = parent_channel is not None
        created = parse_time(m["timestamp"])
        edited = parse_time(m["edited_timestamp"]) if m.get("edited_timestamp") else created
        reference = m.get("message_reference") or {}
        # A reference to another channel is a forward or a crosspost, not an answer in this conversation.
        same_channel = str(reference.get("channel_id", channel_id)) == channel_id
        ref = str(reference["message_id"]) if reference.get("message_id") and same_channel else None
        if thread:
            root = channel_id  # a thread's id is its starter message's id
            parent = ref or (None if str(m["id"]) == channel_id else channel_id)
        elif ref:
            referenced = m.get("referenced_message") or {}
            above = (referenced.get("message_reference") or {}).get("message_id")
            root = roots.get(ref) or (str(above) if above else ref)
            parent = ref
        else:
            root, parent = str(m["id"]), None
        roots[str(m["id"])] = root
        author = m.get("author") or {}
        likes = sum(int(r.get("count") or 0) for r in m.get("reactions") or [] if isinstance(r, dict))
        return make_comment(
            "discord",
            comment_id=m["id"],
            post_id=parent_channel or channel_id,
            parent_id=parent,
            thread_id=root,
            author_id=self.author_id(author.get("id")),
            author_name=author.get("global_name") or author.get("username"),
            created_at=created,
            updated_at=max(edited, created),
            message=m.get("content"),
            channel="reply" if parent else "comment",
            like_count=likes,
        )

    def _messages(self, channel_id: str, *, parent: str | None) -> Iterator[Page]:
        roots: dict[str, str] = {}

        def bad(what: str, m: Any, exc: Exception) -> SourceError:
            return self.malformed(what, f"bad message {m.get('id') if isinstance(m, dict) else m!r}: {exc}")

        def read(before: str | None) -> Listing:
            size = int(self.opt("page_size", PAGE_SIZE))
            params: dict[str, Any] = {"limit": size}
            if before:
                params["before"] = before
            what = f"/channels/{channel_id}/messages before {before or '(latest)'}"
            body, _ = self.client.get_json(f"channels/{channel_id}/messages", params, what=what)
            if not isinstance(body, list):
                raise self.malformed(what, "not a list of messages")
            # Oldest first within the page, so a reply finds the conversation of the message it answers.
            ordered = sorted(body, key=lambda x: int(x.get("id", 0)) if isinstance(x, dict) else 0)
            # The next page: the messages before the lowest id of this one (read whole: see time_of).
            lowest = str(ordered[0]["id"]) if ordered and isinstance(ordered[0], dict) else None
            return Listing(ordered, None if len(body) < size else lowest, what)

        def time_of(m: Any, what: str) -> dt.datetime:
            try:
                int(m["id"])
                return parse_time(m["timestamp"])
            except (KeyError, TypeError, ValueError) as exc:
                raise bad(what, m, exc) from None

        key = f"channel:{channel_id}"
        for messages, _walk, what in self.walk_newest_first(key, read, time_of, newest_first=False):
            rows = []
            for m in messages:
                if m.get("type", 0) not in CONVERSATION_TYPES:
                    continue
                try:
                    rows.append(self._row(m, channel_id, parent_channel=parent, roots=roots))
                except (KeyError, TypeError, ValueError) as exc:
                    raise bad(what, m, exc) from None
            yield self.page({"comments": rows})
