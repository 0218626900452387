"""Fake Telegram Bot API: `/bot<token>/getUpdates` with `offset` confirming what came before, `limit`,
`{"ok": false, "error_code", "description"}` errors, 429 with `parameters.retry_after`, 409 while a
webhook is set."""

from __future__ import annotations

import datetime as dt
import re

from fakes.api_server import FakeApi, Reply, Request


class FakeTelegram(FakeApi):
    platform = "telegram"

    def __init__(self) -> None:
        super().__init__()
        self.token = "123456789:AAH-fake-telegram-token_0123456789ab"
        self.chat_id = -1001234567890
        self.updates: list[dict] = []  # not yet confirmed
        self.confirmed: list[int] = []
        self.webhook = False
        self._next_update = 500
        self._next_message = {}

    def source_config(self) -> dict:
        return {
            "platform": "telegram",
            "base_url": self.base_url,
            "chat_ids": [self.chat_id],
            "brand_user_ids": [7001],
            "bot_token_env": "TEST_TELEGRAM_TOKEN",
        }

    def env(self) -> dict[str, str]:
        return {"TEST_TELEGRAM_TOKEN": self.token}

    def message(
        self,
        at: dt.datetime,
        user: int,
        text: str,
        *,
        reply_to: dict | None = None,
        chat: int | None = None,
        first_name: str = "María",
        **extra,
    ) -> dict:
        chat = chat or self.chat_id
        mid = self._next_message.get(chat, 10) + 1
        self._next_message[chat] = mid
        m = {
            "message_id": mid,
            "from": {"id": user, "is_bot": False, "first_name": first_name},
            "chat": {"id": chat, "type": "supergroup", "title": "Café Tertulia"},
            "date": int(at.timestamp()),
            "text": text,
            **extra,
        }
        if reply_to is not None:
            m["reply_to_message"] = {k: v for k, v in reply_to.items() if k != "reply_to_message"}
        self._push({"message": m})
        return m

    def edit(self, m: dict, at: dt.datetime, text: str) -> None:
        self._push({"edited_message": {**m, "text": text, "edit_date": int(at.timestamp())}})

    def _push(self, update: dict) -> None:
        self._next_update += 1
        self.updates.append({"update_id": self._next_update, **update})

    def route(self, req: Request) -> Reply:
        m = re.fullmatch(r"/bot(.+)/(\w+)", req.path)
        if not m:
            return Reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        if m.group(1) != self.token:
            return Reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        if m.group(2) != "getUpdates":
            return Reply(404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"})
        if self.webhook:
            return Reply(409, {"ok": False, "error_code": 409,
                               "description": "Conflict: can't use getUpdates method while webhook is active; "
                               "use deleteWebhook to delete the webhook first"})  # fmt: skip
        offset = int(req.arg("offset", "0"))
        if offset:  # calling with an offset confirms every update before it
            self.confirmed += [u["update_id"] for u in self.updates if u["update_id"] < offset]
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        limit = min(int(req.arg("limit", "100")), 100)
        return Reply(200, {"ok": True, "result": self.updates[:limit]})
