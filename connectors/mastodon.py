"""Mastodon: the brand account's statuses, the mentions of it, and the replies to its posts.

Auth: a user access token with `read:accounts read:statuses read:notifications` (`token_env`).
`instance_url:` is the server, `account_id:` the account's numeric id there.

Endpoints: `/api/v1/accounts/{id}` (followers), `/api/v1/accounts/{id}/statuses` (newest first; the
brand's posts, and its replies as comments), `/api/v1/notifications?types[]=mention` (mentions,
incremental with `since_id`) and `/api/v1/statuses/{id}/context` (the replies under a recent brand post,
and the ancestors that tell which conversation a reply belongs to). Pagination follows the `Link` header
(`rel="next"` carries `max_id`). Rate limits: `X-RateLimit-Remaining` / `X-RateLimit-Reset` (an ISO time).

Threads: under a brand post each top-level reply is its own conversation (as on the other platforms); a
member's own status that mentions the brand starts one. Every path computes the same thread for the
same status, so a reply found both as a mention and in a context lands once, unchanged.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from connectors.base import Page
from connectors.http_client import Decision, HttpClient, reset_in, retry_after
from connectors.live import Listing, LiveConnector, parse_time
from connectors.live import account as make_account
from connectors.live import account_metrics as make_account_metrics
from connectors.live import comment as make_comment
from connectors.live import post as make_post
from connectors.live import post_metrics as make_post_metrics

_TAGS = re.compile(r"<[^>]+>")


def next_max_id(resp: httpx.Response) -> str | None:
    """`max_id` of the Link header's rel="next" page, if there is one."""
    link = resp.links.get("next") if resp.headers.get("link") else None
    if not link or not link.get("url"):
        return None
    values = parse_qs(urlsplit(link["url"]).query).get("max_id")
    return values[0] if values else None


def plain(content: str | None) -> str | None:
    if content is None:
        return None
    return html.unescape(_TAGS.sub("", content.replace("</p><p>", "\n\n").replace("<br>", "\n")))


class MastodonConnector(LiveConnector):
    platform = "mastodon"
    default_base_url = ""
    own_id_key = "account_id"
    settings = ("instance_url", "page_size", "recent_post_days")
    credentials = ("token",)

    @property
    def base_url(self) -> str:
        return (
            self.source.base_url or self.require("instance_url", "the server's address, https://…")
        ).rstrip("/")

    def make_client(self) -> HttpClient:
        return self.new_client(self.base_url, headers={"Authorization": f"Bearer {self.secret('token')}"})

    def classify(self, resp: httpx.Response, body: Any) -> Decision | None:
        error = body.get("error") if isinstance(body, dict) else None
        if resp.status_code == 401:
            return Decision(
                "stop",
                message=f"{self.name}: the server rejected the access token (HTTP 401: {error or 'unauthorized'}). "
                f"Create a new token (Preferences → Development) with read scopes and put it in "
                f"{self.opt('token_env') or 'token_env'}.",
            )
        if resp.status_code == 403:
            return Decision(
                "stop",
                message=f"{self.name}: the token lacks a scope (HTTP 403: {error}); it needs read:accounts, "
                "read:statuses and read:notifications.",
            )
        if resp.status_code == 404:
            return Decision("stop", message=f"{self.name}: not found (HTTP 404: {error}); check account_id.")
        if resp.status_code == 429:
            wait = retry_after(resp)
            return Decision(
                "retry", wait=wait if wait is not None else reset_in(resp.headers.get("x-ratelimit-reset"))
            )
        return None

    def pace(self, resp: httpx.Response) -> float:
        remaining = resp.headers.get("x-ratelimit-remaining")
        try:
            if remaining is not None and int(float(remaining)) <= 0:
                return reset_in(resp.headers.get("x-ratelimit-reset")) or 0.0
        except ValueError:
            return 0.0
        return 0.0

    # --- threads ------------------------------------------------------------------------------
    def _is_brand(self, status: dict[str, Any]) -> bool:
        return str((status.get("account") or {}).get("id")) == str(self.own_id)

    def _placement(self, status: dict[str, Any], ancestors: list[dict[str, Any]]) -> tuple[str | None, str]:
        """(post_id, thread_id) of a status given its ancestors (oldest first)."""
        chain = [*ancestors, status]
        root = chain[0]
        if self._is_brand(root) and len(chain) > 1:
            return str(root["id"]), str(chain[1]["id"])
        return None, str(root["id"])

    def _row(self, s: dict[str, Any], ancestors: list[dict[str, Any]], *, mention: bool) -> dict[str, Any]:
        post_id, thread = self._placement(s, ancestors)
        created = parse_time(s["created_at"])
        acct = s.get("account") or {}
        parent = s.get("in_reply_to_id")
        if post_id is not None and str(parent) == post_id:
            parent = None  # a top-level reply to a brand post: the post is post_id, not a parent comment
        channel = "reply" if parent else ("mention" if mention and post_id is None else "comment")
        return make_comment(
            "mastodon",
            comment_id=s["id"],
            post_id=post_id,
            parent_id=parent,
            thread_id=thread,
            author_id=self.author_id(acct.get("id")),
            author_name=acct.get("acct") or acct.get("username"),
            created_at=created,
            updated_at=parse_time(s["edited_at"]) if s.get("edited_at") else created,
            message=plain(s.get("content")),
            channel=channel,
            like_count=s.get("favourites_count"),
        )

    def _ancestors(self, status: dict[str, Any]) -> list[dict[str, Any]]:
        if not status.get("in_reply_to_id"):
            return []
        body, _ = self.client.get_json(
            f"api/v1/statuses/{status['id']}/context", what=f"/api/v1/statuses/{status['id']}/context"
        )
        if not isinstance(body, dict) or not isinstance(body.get("ancestors"), list):
            raise self.malformed(f"/api/v1/statuses/{status['id']}/context", "no `ancestors` list")
        return body["ancestors"]

    # --- pages --------------------------------------------------------------------------------
    def streams(self) -> list[tuple[str, Callable[[], Iterator[Page]]]]:
        acct_id = self.require("account_id", "the account's numeric id on the server")
        return [
            ("account", lambda: self._account(acct_id)),
            ("statuses", lambda: self._statuses(acct_id)),
            ("mentions", self._mentions),
        ]

    def _account(self, acct_id: str) -> Iterator[Page]:
        body, _ = self.client.get_json(f"api/v1/accounts/{acct_id}", what=f"/api/v1/accounts/{acct_id}")
        if not isinstance(body, dict) or "id" not in body:
            raise self.malformed(f"/api/v1/accounts/{acct_id}", "no `id`")
        yield self.page(
            {
                "accounts": [
                    make_account(
                        "mastodon",
                        account_id=self.account_id,
                        handle=body.get("acct"),
                        name=body.get("display_name"),
                    )
                ],
                "account_metrics": [
                    make_account_metrics(
                        "mastodon",
                        account_id=self.account_id,
                        date=self.now.date().isoformat(),
                        followers=body.get("followers_count"),
                    )
                ],
            }
        )

    def _time_of(self, kind: str) -> Callable[[Any, str], dt.datetime]:
        def time_of(item: Any, what: str) -> dt.datetime:
            try:
                return parse_time(item["created_at"])
            except (KeyError, TypeError, ValueError) as exc:
                raise self.malformed(what, f"bad {kind}: {exc}") from None

        return time_of

    def _newest_first(self, path: str, params: dict[str, Any], max_id: str | None, kind: str) -> Listing:
        """One page of a Mastodon timeline; the Link header's `max_id` is the next, older one."""
        if max_id:
            params["max_id"] = max_id
        what = f"/{path} max_id {max_id or '(latest)'}"
        body, resp = self.client.get_json(path, params, what=what)
        if not isinstance(body, list):
            raise self.malformed(what, f"not a list of {kind}")
        return Listing(body, next_max_id(resp) if body else None, what)

    def _statuses(self, acct_id: str) -> Iterator[Page]:
        recent = self.now - dt.timedelta(days=int(self.opt("recent_post_days", 7)))
        path = f"api/v1/accounts/{acct_id}/statuses"

        def read(max_id: str | None) -> Listing:
            params = {"limit": int(self.opt("page_size", 40)), "exclude_reblogs": "true"}
            return self._newest_first(path, params, max_id, "statuses")

        time_of = self._time_of("status")
        for statuses, _walk, what in self.walk_newest_first("statuses", read, time_of, floor=recent):
            records: dict[str, list[dict[str, Any]]] = {"posts": [], "post_metrics": [], "comments": []}
            for s in statuses:
                try:
                    created = parse_time(s["created_at"])
                    if s.get("in_reply_to_id"):
                        records["comments"].append(self._row(s, self._ancestors(s), mention=False))
                        continue
                    records["posts"].append(
                        make_post(
                            "mastodon",
                            post_id=str(s["id"]),
                            account_id=self.account_id,
                            published_at=created,
                            message=plain(s.get("content")),
                            content_type="status",
                            permalink=s.get("url"),
                        )
                    )
                    records["post_metrics"].append(
                        make_post_metrics(
                            "mastodon",
                            post_id=str(s["id"]),
                            captured_at=self.now,
                            reactions=s.get("favourites_count"),
                            comments=s.get("replies_count"),
                            shares=s.get("reblogs_count"),
                        )
                    )
                    if created >= recent and s.get("replies_count"):
                        records["comments"] += self._replies_under(s)
                except (KeyError, TypeError, ValueError) as exc:
                    raise self.malformed(what, f"bad status: {exc}") from None
            yield self.page(records)

    def _replies_under(self, post: dict[str, Any]) -> list[dict[str, Any]]:
        what = f"/api/v1/statuses/{post['id']}/context"
        body, _ = self.client.get_json(f"api/v1/statuses/{post['id']}/context", what=what)
        if not isinstance(body, dict) or not isinstance(body.get("descendants"), list):
            raise self.malformed(what, "no `descendants` list")
        by_id = {str(post["id"]): post, **{str(d["id"]): d for d in body["descendants"]}}
        rows = []
        for d in body["descendants"]:
            if self._is_brand(d) and not d.get("in_reply_to_id"):
                continue
            chain, cur = [], by_id.get(str(d.get("in_reply_to_id")))
            while cur is not None:
                chain.insert(0, cur)
                cur = by_id.get(str(cur.get("in_reply_to_id"))) if cur.get("in_reply_to_id") else None
            mentions_brand = any(str(m.get("id")) == str(self.own_id) for m in d.get("mentions") or [])
            rows.append(self._row(d, chain, mention=mentions_brand))
        return rows

    def _mentions(self) -> Iterator[Page]:
        st = self.stream("mentions")

        def read(max_id: str | None) -> Listing:
            params: dict[str, Any] = {"types[]": "mention", "limit": int(self.opt("page_size", 40))}
            if st.get("high_id") and self.since is None and not self.source.lookback_days:
                params["since_id"] = st["high_id"]
            return self._newest_first("api/v1/notifications", params, max_id, "notifications")

        time_of = self._time_of("notification")
        for notifications, walk, what in self.walk_newest_first("mentions", read, time_of):
            rows = []
            for n in notifications:
                try:
                    walk["new_high_id"] = max(int(n["id"]), int(walk.get("new_high_id") or 0))
                    s = n.get("status")
                    if n.get("type") != "mention" or not isinstance(s, dict):
                        continue
                    rows.append(self._row(s, self._ancestors(s), mention=True))
                except (KeyError, TypeError, ValueError) as exc:
                    raise self.malformed(what, f"bad notification: {exc}") from None
            if not walk["next"] and walk.get("new_high_id"):  # the walk reached its start
                st["high_id"] = str(walk["new_high_id"])
            yield self.page({"comments": rows})
