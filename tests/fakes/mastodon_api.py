"""Fake Mastodon API: account, account statuses, mention notifications and status context.

Status and Notification entities as in the Mastodon API reference (ids are numeric strings that grow with
time), `Link: <…?max_id=…>; rel="next", <…?min_id=…>; rel="prev"` pagination, `since_id`, and the
`X-RateLimit-Limit/Remaining/Reset` headers (Reset is an ISO 8601 time).
"""

from __future__ import annotations

import datetime as dt

from fakes.api_server import FakeApi, Reply, Request


def m_time(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class FakeMastodon(FakeApi):
    platform = "mastodon"

    def __init__(self, page_size: int = 2) -> None:
        super().__init__()
        self.page_size = page_size
        self.token = "masto-access-token-abc123"
        self.brand_platform_id = "109000000000000001"
        self.statuses: dict[str, dict] = {}  # status id -> status entity
        self.ids: dict[str, str] = {}  # harness id -> status id
        self.expired = False
        self._seq = 0

    def source_config(self) -> dict:
        return {
            "platform": "mastodon",
            "base_url": self.base_url,
            "account_id": self.brand_platform_id,
            "token_env": "TEST_MASTODON_TOKEN",
        }

    def env(self) -> dict[str, str]:
        return {"TEST_MASTODON_TOKEN": self.token}

    def record_id(self, cid: str) -> str:
        return self.ids[cid]

    def _account(self, acct_id: str) -> dict:
        if acct_id == self.brand_platform_id:
            return {
                "id": acct_id,
                "username": "cafetertulia",
                "acct": "cafetertulia",
                "display_name": "Café Tertulia",
                "followers_count": 800,
                "following_count": 50,
                "statuses_count": 10,
            }
        return {
            "id": acct_id,
            "username": f"user{acct_id}",
            "acct": f"user{acct_id}@example.social",
            "display_name": f"User {acct_id}",
        }

    def _status(
        self, hid: str, at: dt.datetime, author: str, text: str, reply_to: str | None, views: int = 0
    ) -> dict:
        self._seq += 1
        sid = str(int(at.timestamp()) * 1000 + self._seq)
        parent = self.statuses.get(self.ids[reply_to]) if reply_to else None
        mentions = []
        if parent is not None and parent["account"]["id"] != author:
            mentions.append(
                {
                    "id": parent["account"]["id"],
                    "username": parent["account"]["username"],
                    "acct": parent["account"]["acct"],
                    "url": "https://example.social/@x",
                }
            )
        s = {
            "id": sid,
            "created_at": m_time(at),
            "in_reply_to_id": parent["id"] if parent else None,
            "in_reply_to_account_id": parent["account"]["id"] if parent else None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": "public",
            "language": "es",
            "uri": f"https://x/{sid}",
            "url": f"https://example.social/@cafetertulia/{sid}",
            "replies_count": 0,
            "reblogs_count": 1,
            "favourites_count": views,
            "edited_at": None,
            "content": f"<p>{text}</p>",
            "reblog": None,
            "account": self._account(author),
            "media_attachments": [],
            "mentions": mentions,
            "tags": [],
            "emojis": [],
            "card": None,
            "poll": None,
        }
        self.statuses[sid] = s
        self.ids[hid] = sid
        if parent is not None:
            parent["replies_count"] += 1
        return s

    def add_post(self, post_id: str, at: dt.datetime, views: int = 10) -> None:
        self._status(post_id, at, self.brand_platform_id, f"Post {post_id}", None, views)

    def set_views(self, post_id: str, views: int) -> None:
        self.statuses[self.ids[post_id]]["favourites_count"] = views

    def add_member_comment(
        self, cid: str, post_id: str, at: dt.datetime, text: str, author: str = "555"
    ) -> None:
        self._status(cid, at, author, text, post_id)

    def add_mention(self, cid: str, at: dt.datetime, text: str, author: str = "556") -> None:
        s = self._status(cid, at, author, f"@cafetertulia {text}", None)
        s["mentions"].append(
            {
                "id": self.brand_platform_id,
                "username": "cafetertulia",
                "acct": "cafetertulia",
                "url": "https://example.social/@cafetertulia",
            }
        )

    def add_reply(self, cid: str, parent: str, at: dt.datetime, text: str, author: str | None = None) -> None:
        self._status(cid, at, author or self.brand_platform_id, text, parent)

    def edit(self, cid: str, at: dt.datetime, text: str) -> None:
        self.statuses[self.ids[cid]].update(content=f"<p>{text}</p>", edited_at=m_time(at))

    def expire_credentials(self) -> None:
        self.expired = True

    # Replies to the brand's posts are read from each post's context.
    comments_path = "/context"

    def rate_limit(self, retry_after: str) -> None:
        reset = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=float(retry_after))
        self.fail(
            "/notifications",
            429,
            {"error": "Too many requests"},
            {
                "X-RateLimit-Limit": "300",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "Retry-After": retry_after,
            },
        )

    # -- API ------------------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        reset = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "250", "X-RateLimit-Reset": reset}

    def _list(self, req: Request, items: list[dict], key) -> Reply:
        items = sorted(items, key=lambda x: int(x["id"]), reverse=True)
        if req.arg("max_id"):
            items = [x for x in items if int(x["id"]) < int(req.arg("max_id"))]
        if req.arg("since_id"):
            items = [x for x in items if int(x["id"]) > int(req.arg("since_id"))]
        chunk = items[: min(self.page_size, int(req.arg("limit", "20")))]
        h = self._headers()
        if chunk:
            links = []
            if len(items) > len(chunk):
                links.append(f'<{self.base_url}{req.path}?max_id={chunk[-1]["id"]}>; rel="next"')
            links.append(f'<{self.base_url}{req.path}?min_id={chunk[0]["id"]}>; rel="prev"')
            h["Link"] = ", ".join(links)
        return Reply(200, chunk, h)

    def route(self, req: Request) -> Reply:
        if req.headers.get("authorization") != f"Bearer {self.token}" or self.expired:
            return Reply(401, {"error": "The access token is invalid"})
        b = self.brand_platform_id
        if req.path == f"/api/v1/accounts/{b}":
            return Reply(200, self._account(b), self._headers())
        if req.path == f"/api/v1/accounts/{b}/statuses":
            return self._list(req, [s for s in self.statuses.values() if s["account"]["id"] == b], None)
        if req.path == "/api/v1/notifications":
            if req.query.get("types[]") != ["mention"]:
                return Reply(422, {"error": "this fake serves mentions only"})
            notes = [
                {
                    "id": s["id"],
                    "type": "mention",
                    "created_at": s["created_at"],
                    "group_key": f"ungrouped-{s['id']}",
                    "account": s["account"],
                    "status": s,
                }
                for s in self.statuses.values()
                if any(m["id"] == b for m in s["mentions"])
            ]
            return self._list(req, notes, None)
        if req.path.startswith("/api/v1/statuses/") and req.path.endswith("/context"):
            sid = req.path.split("/")[4]
            if sid not in self.statuses:
                return Reply(404, {"error": "Record not found"})
            ancestors, cur = [], self.statuses[sid]
            while cur["in_reply_to_id"]:
                cur = self.statuses[cur["in_reply_to_id"]]
                ancestors.insert(0, cur)
            descendants, frontier = [], [sid]
            while frontier:
                kids = sorted(
                    [s for s in self.statuses.values() if s["in_reply_to_id"] in frontier],
                    key=lambda s: int(s["id"]),
                )
                descendants += kids
                frontier = [k["id"] for k in kids]
            return Reply(200, {"ancestors": ancestors, "descendants": descendants}, self._headers())
        return Reply(404, {"error": "Record not found"})
