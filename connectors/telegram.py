"""Telegram: the messages of the community's group (or a channel's discussion group), read by the brand's bot.

Auth: a bot token from @BotFather (`bot_token_env`); the API's address carries it
(`/bot<token>/getUpdates`), so it is masked in every message. `chat_ids:` are the groups to keep (a
bot added elsewhere is ignored there), `brand_user_ids:` the team's Telegram user ids: their messages
are the brand answering.

Endpoint: `getUpdates` with `offset` (the last update id + 1, kept as the source's cursor) and
`allowed_updates=["message","edited_message"]`. Calling it with a higher offset confirms the updates
before it, so an update is confirmed only by the call after the page that holds it has landed: a run
that fails before landing reads the same updates again.

What the Bot API cannot give (docs/connectors.md says how to set the bot up):
- history before the bot joined, and updates older than 24 hours that no run fetched: Telegram keeps
  unconfirmed updates for 24 hours only, so schedule the source more often than that;
- the bot's own messages (bots do not receive them): answers sent through the bot are not seen;
- with privacy mode on (the default), only commands and replies to the bot: turn it off in @BotFather
  (`/setprivacy` → Disable) or make the bot an admin of the group;
- `getUpdates` does not work while a webhook is set (HTTP 409): the source stops and says so.

Threads: in a forum group every topic is a conversation (`message_thread_id`); elsewhere a message that
answers another (`reply_to_message`) joins that message's conversation, and any other starts its own.
A channel's post forwarded into its discussion group (`is_automatic_forward`) is the brand's post, and
the comments under it are each their own conversation, as under a post on the other platforms.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from connectors.base import Page
from connectors.http_client import Decision, HttpClient
from connectors.live import LiveConnector
from connectors.live import comment as make_comment
from connectors.live import post as make_post

PAGE_SIZE = 100
# The conversation each recent message belongs to, kept in the cursor so a reply in a later run still
# finds it; bounded, because a reply to an older message falls back to that message as its thread.
REMEMBERED_MESSAGES = 2000


def _when(unix: Any) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(unix), dt.UTC)


class TelegramConnector(LiveConnector):
    platform = "telegram"
    default_base_url = "https://api.telegram.org"
    settings = ("chat_ids", "brand_user_ids", "page_size")
    credentials = ("bot_token",)

    def make_client(self) -> HttpClient:
        # The token is part of the path: the client's base URL holds it, and it is masked like any secret.
        return self.new_client(f"{self.base_url}/bot{self.secret('bot_token')}")

    @property
    def chat_ids(self) -> set[str]:
        ids = self.opt("chat_ids") or []
        if isinstance(ids, str | int):
            ids = [ids]
        if not ids:
            self.require("chat_ids", "the group ids to read (negative numbers, e.g. -1001234567890)")
        return {str(i) for i in ids}

    @property
    def brand_ids(self) -> set[str]:
        return {str(i) for i in (self.opt("brand_user_ids") or [])}

    def classify(self, resp: httpx.Response, body: Any) -> Decision | None:
        description = body.get("description") if isinstance(body, dict) else None
        if resp.status_code == 429:
            wait = (
                ((body or {}).get("parameters") or {}).get("retry_after") if isinstance(body, dict) else None
            )
            return Decision("retry", wait=float(wait) if wait is not None else None)
        if resp.status_code in (401, 404):
            # Telegram answers 404 for a malformed token and 401 for a revoked one.
            return Decision(
                "stop",
                message=f"{self.name}: Telegram refused the bot token (HTTP {resp.status_code}: {description}). "
                f"Get the token again from @BotFather (/token) and put it in "
                f"{self.opt('bot_token_env') or 'bot_token_env'}.",
            )
        if resp.status_code == 409:
            return Decision(
                "stop",
                message=f"{self.name}: a webhook is set for this bot, so getUpdates is refused (HTTP 409: "
                f"{description}). Remove it with deleteWebhook, or use another bot for Tertulia.",
            )
        return None

    def streams(self) -> list[tuple[str, Callable[[], Iterator[Page]]]]:
        return [("updates", self._updates)]

    def _message(self, m: dict[str, Any], roots: dict[str, str]) -> tuple[dict[str, Any] | None, dict | None]:
        """(comment, post) for one message: a forwarded channel post is a post, anything else a comment."""
        chat = str(m["chat"]["id"])
        mid = f"{chat}:{m['message_id']}"
        created = _when(m["date"])
        if m.get("is_automatic_forward"):
            post = make_post(
                "telegram",
                post_id=mid,
                account_id=self.account_id,
                published_at=created,
                message=m.get("text") or m.get("caption"),
                content_type="channel_post",
                permalink=None,
            )
            roots[mid] = "post"
            return None, post
        reply = m.get("reply_to_message") or {}
        parent = f"{chat}:{reply['message_id']}" if reply.get("message_id") else None
        post_id = None
        if m.get("is_topic_message") and m.get("message_thread_id"):
            # Telegram marks every message of a topic as a reply to the topic's opening; only an answer to
            # another message of the topic is a reply here.
            thread = f"{chat}:{m['message_thread_id']}"
            parent = None if parent == thread else parent
        elif parent and (roots.get(parent) == "post" or reply.get("is_automatic_forward")):
            post_id, thread, parent = parent, mid, None  # a comment under the brand's channel post
        elif parent:
            thread = roots.get(parent) or parent
        else:
            thread = mid
        roots[mid] = thread
        author = m.get("from") or {}
        name = " ".join(p for p in (author.get("first_name"), author.get("last_name")) if p) or author.get(
            "username"
        )
        author_id = str(author.get("id")) if author.get("id") is not None else None
        if author_id in self.brand_ids:
            author_id = self.account_id
        edited = _when(m["edit_date"]) if m.get("edit_date") else created
        return (
            make_comment(
                "telegram",
                comment_id=mid,
                post_id=post_id or chat,
                parent_id=parent,
                thread_id=thread,
                author_id=author_id,
                author_name=name,
                created_at=created,
                updated_at=max(edited, created),
                message=m.get("text") or m.get("caption"),
                channel="reply" if parent else "comment",
            ),
            None,
        )

    def _updates(self) -> Iterator[Page]:
        st = self.stream("updates")
        roots: dict[str, str] = dict(st.get("roots") or {})
        size = int(self.opt("page_size", PAGE_SIZE))
        while True:
            params: dict[str, Any] = {
                "limit": size,
                "timeout": 0,
                "allowed_updates": json.dumps(["message", "edited_message"]),
            }
            if st.get("offset"):
                params["offset"] = st["offset"]
            what = f"getUpdates offset {st.get('offset') or '(first)'}"
            body, _ = self.client.get_json("getUpdates", params, what=what)
            if (
                not isinstance(body, dict)
                or body.get("ok") is not True
                or not isinstance(body.get("result"), list)
            ):
                raise self.malformed(what, "no `ok: true` with a `result` list")
            comments, posts = [], []
            for update in body["result"]:
                try:
                    st["offset"] = max(int(st.get("offset") or 0), int(update["update_id"]) + 1)
                    m = update.get("message") or update.get("edited_message")
                    if not isinstance(m, dict) or str((m.get("chat") or {}).get("id")) not in self.chat_ids:
                        continue  # another chat the bot is in, or an update kind Tertulia does not read
                    comment, post = self._message(m, roots)
                    if comment:
                        comments.append(comment)
                    if post:
                        posts.append(post)
                except (KeyError, TypeError, ValueError) as exc:
                    raise self.malformed(
                        what,
                        f"bad update {update.get('update_id') if isinstance(update, dict) else update!r}: {exc}",
                    ) from None
            st["roots"] = dict(list(roots.items())[-REMEMBERED_MESSAGES:])
            yield self.page({"comments": comments, "posts": posts})
            if len(body["result"]) < size:
                return
