"""Fake Reddit OAuth API: `/api/v1/access_token` and the `/r/{sub}/new`, `/r/{sub}/comments` Listings.

Listing shape: `{"kind": "Listing", "data": {"after", "before", "dist", "children": [{"kind": "t3"|"t1",
"data": {...}}]}}`; rate-limit headers `X-Ratelimit-Used`, `X-Ratelimit-Remaining`, `X-Ratelimit-Reset`.
"""

from __future__ import annotations

import base64
import datetime as dt

from fakes.api_server import FakeApi, Reply, Request


class FakeReddit(FakeApi):
    platform = "reddit"

    def __init__(self, page_size: int = 2) -> None:
        super().__init__()
        self.page_size = page_size
        self.client_id, self.client_secret = "abcClientId", "s3cr3t-client-secret"
        self.brand_platform_id = "CafeTertulia"
        self.sub = "cafetertulia"
        self.tokens: set[str] = set()
        self.things: list[dict] = []  # t3 and t1 data, any order
        self.remaining = 99.0
        self.expired = False

    def source_config(self) -> dict:
        return {
            "platform": "reddit",
            "base_url": self.base_url,
            "subreddit": self.sub,
            "username": self.brand_platform_id,
            "client_id_env": "TEST_REDDIT_ID",
            "client_secret_env": "TEST_REDDIT_SECRET",
            "user_agent": "test:tertulia:0.1 (by /u/CafeTertulia)",
        }

    def env(self) -> dict[str, str]:
        return {"TEST_REDDIT_ID": self.client_id, "TEST_REDDIT_SECRET": self.client_secret}

    def record_id(self, cid: str) -> str:
        kind = next(t["kind"] for t in self.things if t["id"] == cid)
        return f"{kind}_{cid}"

    def add_post(self, post_id: str, at: dt.datetime, views: int = 10, author: str | None = None) -> None:
        self.things.append(
            {
                "kind": "t3",
                "id": post_id,
                "at": at,
                "author": author or self.brand_platform_id,
                "title": f"Post {post_id}",
                "text": "",
                "score": views,
                "parent": None,
                "link": None,
            }
        )

    def set_views(self, post_id: str, views: int) -> None:
        next(t for t in self.things if t["id"] == post_id)["score"] = views

    def add_member_comment(
        self, cid: str, post_id: str, at: dt.datetime, text: str, author: str = "member_1"
    ) -> None:
        self.things.append(
            {
                "kind": "t1",
                "id": cid,
                "at": at,
                "author": author,
                "text": text,
                "score": 1,
                "parent": f"t3_{post_id}",
                "link": post_id,
            }
        )

    def add_reply(self, cid: str, parent: str, at: dt.datetime, text: str, author: str | None = None) -> None:
        p = next(t for t in self.things if t["id"] == parent)
        self.things.append(
            {
                "kind": "t1",
                "id": cid,
                "at": at,
                "author": author or self.brand_platform_id,
                "text": text,
                "score": 1,
                "parent": f"{p['kind']}_{parent}",
                "link": p["link"] or parent,
            }
        )

    def delete(self, cid: str) -> None:
        t = next(t for t in self.things if t["id"] == cid)
        t.update(author="[deleted]", text="[deleted]")

    def expire_credentials(self) -> None:
        self.expired = True

    comments_path = "/comments"

    def rate_limit(self, retry_after: str) -> None:
        self.fail(
            "/comments",
            429,
            {"message": "Too Many Requests", "error": 429},
            {
                "Retry-After": retry_after,
                "X-Ratelimit-Remaining": "0",
                "X-Ratelimit-Reset": retry_after,
                "X-Ratelimit-Used": "100",
            },
        )

    # -- API ------------------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        self.remaining = max(0.0, self.remaining - 1)
        return {
            "X-Ratelimit-Used": str(int(100 - self.remaining)),
            "X-Ratelimit-Remaining": f"{self.remaining:.1f}",
            "X-Ratelimit-Reset": "120",
        }

    def route(self, req: Request) -> Reply:
        if req.path == "/api/v1/access_token" and req.method == "POST":
            expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
            if (
                req.headers.get("authorization") != f"Basic {expected}"
                or req.form.get("grant_type") != "client_credentials"
            ):
                return Reply(401, {"message": "Unauthorized", "error": 401})
            token = f"tok-{len(self.tokens) + 1}-xyz"
            self.tokens.add(token)
            return Reply(
                200, {"access_token": token, "token_type": "bearer", "expires_in": 86400, "scope": "*"}
            )
        auth = req.headers.get("authorization", "")
        if not auth.startswith("bearer ") or auth[7:] not in self.tokens or self.expired:
            return Reply(
                401,
                {"message": "Unauthorized", "error": 401},
                {"www-authenticate": 'Bearer realm="reddit", error="invalid_token"'},
            )
        if not req.headers.get("user-agent", "").startswith("test:tertulia"):
            return Reply(429, {"message": "Too Many Requests", "error": 429})
        if req.path == f"/r/{self.sub}/new":
            kind = "t3"
        elif req.path == f"/r/{self.sub}/comments":
            kind = "t1"
        else:
            return Reply(404, {"message": "Not Found", "error": 404})
        items = sorted([t for t in self.things if t["kind"] == kind], key=lambda t: t["at"], reverse=True)
        after = req.arg("after")
        start = next((i + 1 for i, t in enumerate(items) if f"{kind}_{t['id']}" == after), 0)
        chunk = items[start : start + min(self.page_size, int(req.arg("limit", "25")))]
        more = start + len(chunk) < len(items)
        children = [{"kind": kind, "data": self._data(t)} for t in chunk]
        return Reply(
            200,
            {
                "kind": "Listing",
                "data": {
                    "after": f"{kind}_{chunk[-1]['id']}" if more and chunk else None,
                    "dist": len(chunk),
                    "modhash": "",
                    "geo_filter": "",
                    "children": children,
                    "before": None,
                },
            },
            self._headers(),
        )

    def _data(self, t: dict) -> dict:
        common = {
            "id": t["id"],
            "name": f"{t['kind']}_{t['id']}",
            "author": t["author"],
            "subreddit": self.sub,
            "created_utc": t["at"].timestamp(),
            "score": t["score"],
            "edited": False,
            "author_fullname": f"t2_{t['author']}",
        }
        if t["kind"] == "t3":
            n = len([c for c in self.things if c["kind"] == "t1" and c["link"] == t["id"]])
            return {
                **common,
                "title": t["title"],
                "selftext": t["text"],
                "is_self": True,
                "num_comments": n,
                "permalink": f"/r/{self.sub}/comments/{t['id']}/post/",
                "url": "https://reddit.com/x",
            }
        link = next(x for x in self.things if x["id"] == t["link"])
        return {
            **common,
            "body": t["text"],
            "link_id": f"t3_{t['link']}",
            "parent_id": t["parent"],
            "link_author": link["author"],
            "permalink": f"/r/{self.sub}/comments/{t['link']}/post/{t['id']}/",
        }
