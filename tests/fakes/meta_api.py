"""Fake Meta Graph API (v21.0): a Facebook Page and an Instagram professional account.

Shapes follow the Graph API reference: `{"data": [...], "paging": {"cursors": {"before", "after"},
"next"}}`, insights `{"name", "period", "values": [{"value", "end_time"}]}`, field expansion for
summaries and insights, errors `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`,
and the `X-App-Usage` / `X-Business-Use-Case-Usage` headers on every answer.

Conversations (Messenger, or Instagram through the linked Page): `/{page-id}/conversations?platform=`
lists `{id, updated_time}` newest first; `/{conversation-id}/messages` lists `{id, created_time, from,
to: {data: [...]}, message}` newest first (Instagram's `from` has `username`, Messenger's `name` and
`email`). Ratings: `/{page-id}/ratings` lists recommendations `{created_time, recommendation_type,
review_text, rating, has_review, reviewer: {id, name}, open_graph_story: {id}}` newest first; a
review's replies are the comments of its story.
"""

from __future__ import annotations

import datetime as dt
import json

from fakes.api_server import FakeApi, Reply, Request, paginate


def fb_time(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def graph_error(code: int, message: str, subcode: int | None = None, kind: str = "OAuthException") -> dict:
    err = {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEf123"}
    if subcode:
        err["error_subcode"] = subcode
    return {"error": err}


class FakeMeta(FakeApi):
    """`kind="facebook"` serves a Page, `kind="instagram"` an Instagram account."""

    def __init__(self, kind: str = "facebook", page_size: int = 2) -> None:
        super().__init__()
        self.platform = kind
        self.page_size = page_size
        self.token = "EAAG-test-page-token-9876"
        self.node = "1001" if kind == "facebook" else "17841400000000001"
        self.brand_platform_id = self.node
        self.posts: dict[str, dict] = {}
        self.comments: dict[str, list[dict]] = {}  # post id -> comments and replies
        self.expired = False
        self.app_usage = {"call_count": 10, "total_cputime": 5, "total_time": 7}
        self.ids: dict[str, str] = {}
        # The Facebook Page holding the conversations (for Instagram, the Page linked to the account).
        self.page_id = "1001"
        self.conversations: dict[str, list[dict]] = {}  # conversation id -> messages
        self.ratings: list[dict] = []
        self.stories: set[str] = set()

    def source_config(self) -> dict:
        key = "page_id" if self.platform == "facebook" else "ig_user_id"
        return {
            "platform": self.platform,
            "base_url": self.base_url,
            key: self.node,
            "token_env": "TEST_META_TOKEN",
        }

    def source_config_with_inbox(self) -> dict:
        """The source with conversations (and, for a Page, ratings) turned on."""
        extra = {"read_messages": True}
        if self.platform == "facebook":
            extra["read_ratings"] = True
        else:
            extra["page_id"] = self.page_id
        return {**self.source_config(), **extra}

    def env(self) -> dict[str, str]:
        return {"TEST_META_TOKEN": self.token}

    def record_id(self, cid: str) -> str:
        return cid

    def add_post(self, post_id: str, at: dt.datetime, views: int = 10) -> None:
        self.posts[post_id] = {"id": post_id, "at": at, "views": views}
        self.comments[post_id] = []

    def set_views(self, post_id: str, views: int) -> None:
        self.posts[post_id]["views"] = views

    def add_member_comment(
        self, cid: str, post_id: str, at: dt.datetime, text: str, author: str = "2002"
    ) -> None:
        self.comments[post_id].append({"id": cid, "at": at, "text": text, "author": author, "parent": None})

    def add_reply(self, cid: str, parent: str, at: dt.datetime, text: str, author: str | None = None) -> None:
        post = next(p for p, cs in self.comments.items() if any(c["id"] == parent for c in cs))
        self.comments[post].append(
            {"id": cid, "at": at, "text": text, "author": author or self.node, "parent": parent}
        )

    def add_message(
        self, mid: str, conversation: str, at: dt.datetime, text: str, author: str = "2002"
    ) -> None:
        """A message in a conversation; `author` is a member's id, or `self.node` for the brand."""
        self.conversations.setdefault(conversation, []).append(
            {"id": mid, "at": at, "text": text, "author": author}
        )

    def add_rating(
        self, story: str, at: dt.datetime, text: str | None, positive: bool = True, reviewer: str = "3003"
    ) -> None:
        self.ratings.append(
            {"story": story, "at": at, "text": text, "positive": positive, "reviewer": reviewer}
        )
        self.stories.add(story)
        self.comments[story] = []

    def add_review_reply(
        self, cid: str, story: str, at: dt.datetime, text: str, author: str | None = None
    ) -> None:
        """A comment under a review's story (by default the Page's own answer)."""
        self.comments[story].append(
            {"id": cid, "at": at, "text": text, "author": author or self.node, "parent": None}
        )

    def expire_credentials(self) -> None:
        self.expired = True

    comments_path = "/comments"

    def rate_limit(self, retry_after: str) -> None:
        # Graph throttling: HTTP 400/403 with code 4 (app) or 32 (page), not 429; X-App-Usage at 100 %.
        self.fail(
            "/comments",
            403,
            graph_error(4, "(#4) Application request limit reached", kind="OAuthException"),
            {
                "X-App-Usage": json.dumps({"call_count": 100, "total_cputime": 20, "total_time": 30}),
                "Retry-After": retry_after,
            },
        )

    # -- API ------------------------------------------------------------------------------------
    def _usage(self) -> dict[str, str]:
        return {"X-App-Usage": json.dumps(self.app_usage)}

    def _page(self, items: list, req: Request) -> dict:
        chunk, nxt = paginate(items, req.arg("after"), min(self.page_size, int(req.arg("limit", "25"))))
        body = {"data": chunk, "paging": {"cursors": {"before": "QVFIUb4", "after": nxt or "QVFIUend"}}}
        if nxt:
            body["paging"]["next"] = f"{self.base_url}{req.path}?after={nxt}&limit={req.arg('limit', '25')}"
        return body

    def route(self, req: Request) -> Reply:
        if req.arg("access_token") != self.token or self.expired:
            return Reply(
                400,
                graph_error(
                    190,
                    "Error validating access token: Session has expired on Sunday, 22-Nov-26 10:00:00 PST.",
                    463,
                ),
                {"WWW-Authenticate": "OAuth"},
            )
        parts = req.path.strip("/").split("/")[1:]  # drop the version
        h = self._usage()
        if parts == [self.node]:
            if self.platform == "facebook":
                return Reply(
                    200,
                    {
                        "id": self.node,
                        "name": "Café Tertulia Quito",
                        "username": "CafeTertuliaQuito",
                        "followers_count": 3400,
                        "fan_count": 3300,
                    },
                    h,
                )
            return Reply(
                200,
                {
                    "id": self.node,
                    "username": "cafetertulia",
                    "name": "Café Tertulia",
                    "followers_count": 5100,
                    "media_count": len(self.posts),
                },
                h,
            )
        if parts == [self.node, "insights"]:
            since = dt.datetime.fromtimestamp(int(req.arg("since")), dt.UTC).date()
            until = dt.datetime.fromtimestamp(int(req.arg("until")), dt.UTC).date()
            days = [since + dt.timedelta(days=i) for i in range((until - since).days + 1)]
            data = []
            for m in (req.arg("metric") or "").split(","):
                base = {
                    "page_follows": 3400,
                    "page_impressions": 900,
                    "page_impressions_unique": 600,
                    "reach": 700,
                }[m]
                data.append(
                    {
                        "name": m,
                        "period": "day",
                        "title": m,
                        "description": m,
                        "id": f"{self.node}/insights/{m}/day",
                        "values": [
                            {
                                "value": base + d.day,
                                "end_time": fb_time(
                                    dt.datetime(d.year, d.month, d.day, 8, tzinfo=dt.UTC)
                                    + dt.timedelta(days=1)
                                ),
                            }
                            for d in days
                        ],
                    }
                )
            return Reply(200, {"data": data, "paging": {"previous": "x", "next": "y"}}, h)
        if parts in ([self.node, "posts"], [self.node, "media"]):
            posts = sorted(self.posts.values(), key=lambda p: p["at"], reverse=True)
            return Reply(200, self._page([self._post(p) for p in posts], req), h)
        if parts == [self.page_id, "conversations"]:
            want = "messenger" if self.platform == "facebook" else "instagram"
            if req.arg("platform") != want:
                return Reply(
                    400, graph_error(100, "(#100) Param platform must be one of {MESSENGER, INSTAGRAM}"), h
                )
            convs = sorted(
                ((max(m["at"] for m in ms), cid) for cid, ms in self.conversations.items()), reverse=True
            )
            rows = [{"id": cid, "updated_time": fb_time(at)} for at, cid in convs]
            return Reply(200, self._page(rows, req), h)
        if len(parts) == 2 and parts[1] == "messages" and parts[0] in self.conversations:
            msgs = sorted(self.conversations[parts[0]], key=lambda m: m["at"], reverse=True)
            return Reply(200, self._page([self._message(m, parts[0]) for m in msgs], req), h)
        if parts == [self.node, "ratings"] and self.platform == "facebook":
            rows = [
                {
                    "created_time": fb_time(r["at"]),
                    "recommendation_type": "positive" if r["positive"] else "negative",
                    "has_rating": False,
                    "has_review": r["text"] is not None,
                    **({"review_text": r["text"]} if r["text"] is not None else {}),
                    "reviewer": {"id": r["reviewer"], "name": f"User {r['reviewer']}"},
                    "open_graph_story": {"id": r["story"]},
                }
                for r in sorted(self.ratings, key=lambda r: r["at"], reverse=True)
            ]
            return Reply(200, self._page(rows, req), h)
        if (
            len(parts) == 2
            and parts[1] == "comments"
            and (parts[0] in self.posts or parts[0] in self.stories)
        ):
            cs = self.comments[parts[0]]
            if self.platform == "facebook":
                rows = [
                    {
                        "id": c["id"],
                        "message": c["text"],
                        "created_time": fb_time(c["at"]),
                        "like_count": 0,
                        "is_hidden": False,
                        "from": {"id": c["author"], "name": f"User {c['author']}"},
                        **({"parent": {"id": c["parent"]}} if c["parent"] else {}),
                    }
                    for c in sorted(cs, key=lambda c: c["at"], reverse=True)
                ]
            else:
                rows = []
                for c in sorted([c for c in cs if not c["parent"]], key=lambda c: c["at"], reverse=True):
                    reps = [self._ig_comment(r) for r in cs if r["parent"] == c["id"]]
                    row = self._ig_comment(c)
                    if reps:
                        row["replies"] = {"data": reps}
                    rows.append(row)
            return Reply(200, self._page(rows, req), h)
        return Reply(
            400,
            graph_error(
                100,
                "Unsupported get request. Object with ID does not exist, cannot be loaded "
                "due to missing permissions, or does not support this operation",
                33,
                "GraphMethodException",
            ),
            h,
        )

    def _message(self, m: dict, conversation: str) -> dict:
        brand = m["author"] == self.node
        member = next(
            (x["author"] for x in self.conversations[conversation] if x["author"] != self.node), "0"
        )

        def who(pid: str) -> dict:
            if self.platform == "facebook":
                return {"id": pid, "name": f"User {pid}", "email": f"{pid}@facebook.com"}
            return {"id": pid, "username": "cafetertulia" if pid == self.node else f"user{pid}"}

        return {
            "id": m["id"],
            "created_time": fb_time(m["at"]),
            "from": who(m["author"]),
            "to": {"data": [who(member if brand else self.node)]},
            "message": m["text"],
        }

    def _ig_comment(self, c: dict) -> dict:
        name = "cafetertulia" if c["author"] == self.node else f"user{c['author']}"
        return {
            "id": c["id"],
            "text": c["text"],
            "timestamp": fb_time(c["at"]),
            "username": name,
            "from": {"id": c["author"], "username": name},
            "like_count": 0,
        }

    def _post(self, p: dict) -> dict:
        n = len(self.comments[p["id"]])
        if self.platform == "facebook":
            return {
                "id": p["id"],
                "message": f"Post {p['id']}",
                "created_time": fb_time(p["at"]),
                "permalink_url": f"https://www.facebook.com/{p['id']}",
                "status_type": "added_photos",
                "shares": {"count": 1},
                "reactions": {"data": [], "summary": {"total_count": 5}},
                "comments": {
                    "data": [],
                    "summary": {"order": "ranked", "total_count": n, "can_comment": True},
                },
                "insights": {
                    "data": [
                        {"name": "post_impressions", "period": "lifetime", "values": [{"value": p["views"]}]},
                        {
                            "name": "post_impressions_unique",
                            "period": "lifetime",
                            "values": [{"value": p["views"] // 2}],
                        },
                        {"name": "post_clicks", "period": "lifetime", "values": [{"value": 3}]},
                    ]
                },
            }
        return {
            "id": p["id"],
            "caption": f"Post {p['id']}",
            "media_type": "IMAGE",
            "media_product_type": "FEED",
            "permalink": f"https://www.instagram.com/p/{p['id']}/",
            "timestamp": fb_time(p["at"]),
            "like_count": 5,
            "comments_count": n,
            "insights": {
                "data": [
                    {"name": n_, "period": "lifetime", "values": [{"value": v}]}
                    for n_, v in (
                        ("reach", p["views"] // 2),
                        ("saved", 1),
                        ("shares", 1),
                        ("views", p["views"]),
                    )
                ]
            },
        }
