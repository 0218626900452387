"""Fake Discord REST API (v10): channel messages newest first with `before`/`limit`, active threads,
`Authorization: Bot <token>`, errors as `{"message", "code"}`, 429 with `retry_after` in the body and
the `X-RateLimit-*` headers on every answer."""

from __future__ import annotations

import datetime as dt
import re

from fakes.api_server import FakeApi, Reply, Request

DISCORD_EPOCH_MS = 1420070400000


def snowflake(t: dt.datetime, seq: int) -> str:
    return str(((int(t.timestamp() * 1000) - DISCORD_EPOCH_MS) << 22) | (seq & 0xFFF))


class FakeDiscord(FakeApi):
    platform = "discord"

    def __init__(self, page_limit: int = 100) -> None:
        super().__init__()
        self.token = "discord-bot-token-0123456789"
        self.guild_id = "900000000000000001"
        self.bot_id = "900000000000000002"
        self.page_limit = page_limit  # the server's own cap on `limit`, to force paging in tests
        self.channels: dict[str, list[dict]] = {}
        self.threads: list[dict] = []  # active threads: {"id", "parent_id"}
        self.users: dict[str, dict] = {}
        self.remaining_zero_once = False
        self._seq = 0

    def source_config(self, channels: list[str] | None = None) -> dict:
        return {
            "platform": "discord",
            "base_url": self.base_url,
            "guild_id": self.guild_id,
            "channel_ids": channels or list(self.channels),
            "bot_user_id": self.bot_id,
            "brand_user_ids": ["700000000000000001"],
            "bot_token_env": "TEST_DISCORD_TOKEN",
        }

    def env(self) -> dict[str, str]:
        return {"TEST_DISCORD_TOKEN": self.token}

    def add_channel(self, channel_id: str) -> None:
        self.channels.setdefault(channel_id, [])

    def add_thread(self, thread_id: str, parent_id: str) -> None:
        self.channels.setdefault(thread_id, [])
        self.threads.append({"id": thread_id, "parent_id": parent_id, "type": 11, "guild_id": self.guild_id})

    def add_message(
        self,
        channel_id: str,
        at: dt.datetime,
        author: str,
        text: str,
        *,
        reply_to: str | None = None,
        type_: int | None = None,
        name: str | None = None,
        message_id: str | None = None,
    ) -> str:
        self._seq += 1
        mid = message_id or snowflake(at, self._seq)
        user = self.users.setdefault(author, {"id": author, "username": name or f"user{author[-3:]}",
                                              "global_name": name, "bot": author == self.bot_id})  # fmt: skip
        msg = {
            "id": mid,
            "channel_id": channel_id,
            "author": user,
            "content": text,
            "timestamp": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "edited_timestamp": None,
            "type": type_ if type_ is not None else (19 if reply_to else 0),
            "reactions": [],
        }
        if reply_to:
            msg["message_reference"] = {
                "message_id": reply_to,
                "channel_id": channel_id,
                "guild_id": self.guild_id,
            }
            ref = self._find(reply_to)
            if ref is not None:
                msg["referenced_message"] = {k: v for k, v in ref.items() if k != "referenced_message"}
        self.channels.setdefault(channel_id, []).append(msg)
        return mid

    def edit(self, message_id: str, at: dt.datetime, text: str) -> None:
        m = self._find(message_id)
        assert m is not None
        m["content"], m["edited_timestamp"] = text, at.astimezone(dt.UTC).isoformat(timespec="microseconds")

    def react(self, message_id: str, count: int) -> None:
        m = self._find(message_id)
        assert m is not None
        m["reactions"] = [{"count": count, "emoji": {"name": "👍"}}]

    def _find(self, message_id: str) -> dict | None:
        return next((m for ms in self.channels.values() for m in ms if m["id"] == message_id), None)

    def _headers(self) -> dict[str, str]:
        remaining = "0" if self.remaining_zero_once else "4"
        self.remaining_zero_once = False
        return {"X-RateLimit-Limit": "5", "X-RateLimit-Remaining": remaining, "X-RateLimit-Reset-After": "0.25",
                "X-RateLimit-Bucket": "fake-bucket"}  # fmt: skip

    def route(self, req: Request) -> Reply:
        if req.headers.get("authorization") != f"Bot {self.token}":
            return Reply(401, {"message": "401: Unauthorized", "code": 0})
        path = req.path.removeprefix("/api/v10")
        m = re.fullmatch(r"/channels/(\d+)/messages", path)
        if m:
            channel = m.group(1)
            if channel not in self.channels:
                return Reply(404, {"message": "Unknown Channel", "code": 10003})
            limit = min(int(req.arg("limit", "50")), 100, self.page_limit)
            before = req.arg("before")
            newest_first = sorted(self.channels[channel], key=lambda x: int(x["id"]), reverse=True)
            if before:
                newest_first = [x for x in newest_first if int(x["id"]) < int(before)]
            return Reply(200, newest_first[:limit], self._headers())
        m = re.fullmatch(r"/guilds/(\d+)/threads/active", path)
        if m:
            if m.group(1) != self.guild_id:
                return Reply(404, {"message": "Unknown Guild", "code": 10004})
            return Reply(200, {"threads": self.threads, "members": []}, self._headers())
        return Reply(404, {"message": "404: Not Found", "code": 0})
