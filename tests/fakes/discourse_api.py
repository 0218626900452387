"""Fake Discourse API: `/posts.json` (latest posts, `before=`), `/latest.json` (topics), `/t/{id}.json`.

Auth with `Api-Key` and `Api-Username` headers; errors `{"errors": [...], "error_type": ...}`; rate
limits as HTTP 429 with `Retry-After` and `extras.wait_seconds`.
"""

from __future__ import annotations

import datetime as dt

from fakes.api_server import FakeApi, Reply, Request


def d_time(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class FakeDiscourse(FakeApi):
    platform = "discourse"

    def __init__(self, page_size: int = 2) -> None:
        super().__init__()
        self.page_size = page_size
        self.key = "d1sc0urse-api-key-42"
        self.brand_platform_id = "cafetertulia"
        self.topics: dict[int, dict] = {}
        self.posts: list[dict] = []  # by id
        self.topic_of: dict[str, int] = {}  # harness post id -> topic id
        self.ids: dict[str, str] = {}  # harness comment id -> "<topic>-<n>"
        self.users = {"cafetertulia": 1, "maria": 2, "member_1": 3}
        self.expired = False

    def source_config(self) -> dict:
        return {
            "platform": "discourse",
            "base_url": self.base_url,
            "api_username": self.brand_platform_id,
            "api_key_env": "TEST_DISCOURSE_KEY",
        }

    def env(self) -> dict[str, str]:
        return {"TEST_DISCOURSE_KEY": self.key}

    def record_id(self, cid: str) -> str:
        return self.ids[cid]

    def _new_post(self, topic: int, at: dt.datetime, user: str, text: str, reply_to: int | None) -> dict:
        self.users.setdefault(user, len(self.users) + 1)
        number = len([p for p in self.posts if p["topic_id"] == topic]) + 1
        p = {
            "id": 100 + len(self.posts) + 1,
            "topic_id": topic,
            "post_number": number,
            "username": user,
            "at": at,
            "raw": text,
            "reply_to": reply_to,
            "deleted_at": None,
            "updated": at,
        }
        self.posts.append(p)
        return p

    def add_topic(self, post_id: str, at: dt.datetime, user: str, text: str = "") -> None:
        tid = len(self.topics) + 10
        self.topics[tid] = {"id": tid, "title": f"Topic {post_id}", "at": at, "user": user, "views": 10}
        self.topic_of[post_id] = tid
        p = self._new_post(tid, at, user, text or f"Topic {post_id}", None)
        self.ids[post_id] = f"{tid}-{p['post_number']}"

    def add_post(self, post_id: str, at: dt.datetime, views: int = 10) -> None:
        self.add_topic(post_id, at, self.brand_platform_id)
        self.topics[self.topic_of[post_id]]["views"] = views

    def set_views(self, post_id: str, views: int) -> None:
        self.topics[self.topic_of[post_id]]["views"] = views

    def add_member_comment(
        self, cid: str, post_id: str, at: dt.datetime, text: str, author: str = "maria"
    ) -> None:
        tid = self.topic_of[post_id]
        p = self._new_post(tid, at, author, text, None)
        self.ids[cid] = f"{tid}-{p['post_number']}"

    def add_reply(self, cid: str, parent: str, at: dt.datetime, text: str, author: str | None = None) -> None:
        tid, number = (int(x) for x in self.ids[parent].split("-"))
        p = self._new_post(tid, at, author or self.brand_platform_id, text, number)
        self.ids[cid] = f"{tid}-{p['post_number']}"

    def delete(self, cid: str, at: dt.datetime) -> None:
        tid, number = (int(x) for x in self.ids[cid].split("-"))
        p = next(p for p in self.posts if p["topic_id"] == tid and p["post_number"] == number)
        p.update(deleted_at=at, updated=at, raw="(post deleted by author)")

    def expire_credentials(self) -> None:
        self.expired = True

    comments_path = "/posts.json"

    def rate_limit(self, retry_after: str) -> None:
        self.fail(
            "/posts.json",
            429,
            {
                "errors": [
                    "You’ve performed this action too many times. Please wait a few "
                    "seconds before trying again."
                ],
                "error_type": "rate_limit",
                "extras": {"wait_seconds": int(float(retry_after)), "time_left": "a few seconds"},
            },
            {"Retry-After": retry_after},
        )

    # -- API ------------------------------------------------------------------------------------
    def route(self, req: Request) -> Reply:
        if (
            req.headers.get("api-key") != self.key
            or req.headers.get("api-username") != self.brand_platform_id
            or self.expired
        ):
            return Reply(
                403,
                {
                    "errors": [
                        "You are not permitted to view the requested resource. The API username or "
                        "key is invalid."
                    ],
                    "error_type": "invalid_access",
                },
            )
        if req.path == "/posts.json":
            before = int(req.arg("before") or 10**9)
            posts = sorted([p for p in self.posts if p["id"] < before], key=lambda p: p["id"], reverse=True)
            return Reply(200, {"latest_posts": [self._post(p) for p in posts[: self.page_size]]})
        if req.path == "/latest.json":
            page = int(req.arg("page") or 0)
            topics = sorted(self.topics.values(), key=lambda t: t["at"], reverse=True)
            chunk = topics[page * self.page_size : (page + 1) * self.page_size]
            more = (page + 1) * self.page_size < len(topics)
            body = {
                "users": [
                    {"id": i, "username": u, "name": u.title(), "avatar_template": "/a/{size}.png"}
                    for u, i in self.users.items()
                ],
                "topic_list": {
                    "can_create_topic": True,
                    "per_page": self.page_size,
                    "topics": [self._topic(t) for t in chunk],
                },
            }
            if more:
                body["topic_list"]["more_topics_url"] = f"/latest?order=created&page={page + 1}"
            return Reply(200, body)
        if req.path.startswith("/t/") and req.path.endswith(".json"):
            t = self.topics.get(int(req.path[3:-5]))
            if t is None:
                return Reply(
                    404,
                    {
                        "errors": ["The requested URL or resource could not be found."],
                        "error_type": "not_found",
                    },
                )
            return Reply(
                200,
                {
                    "id": t["id"],
                    "title": t["title"],
                    "details": {"created_by": {"id": self.users[t["user"]], "username": t["user"]}},
                },
            )
        return Reply(
            404, {"errors": ["The requested URL or resource could not be found."], "error_type": "not_found"}
        )

    def _topic(self, t: dict) -> dict:
        n = len([p for p in self.posts if p["topic_id"] == t["id"]])
        return {
            "id": t["id"],
            "title": t["title"],
            "slug": f"topic-{t['id']}",
            "posts_count": n,
            "reply_count": n - 1,
            "created_at": d_time(t["at"]),
            "last_posted_at": d_time(t["at"]),
            "views": t["views"],
            "like_count": 2,
            "posters": [
                {
                    "extras": "latest",
                    "description": "Original Poster, Most Recent Poster",
                    "user_id": self.users[t["user"]],
                    "primary_group_id": None,
                }
            ],
        }

    def _post(self, p: dict) -> dict:
        t = self.topics[p["topic_id"]]
        return {
            "id": p["id"],
            "name": p["username"].title(),
            "username": p["username"],
            "avatar_template": "/a/{size}.png",
            "created_at": d_time(p["at"]),
            "cooked": f"<p>{p['raw']}</p>",
            "raw": p["raw"],
            "post_number": p["post_number"],
            "post_type": 1,
            "updated_at": d_time(p["updated"]),
            "reply_count": 0,
            "reply_to_post_number": p["reply_to"],
            "quote_count": 0,
            "topic_id": p["topic_id"],
            "topic_slug": f"topic-{t['id']}",
            "topic_title": t["title"],
            "deleted_at": d_time(p["deleted_at"]) if p["deleted_at"] else None,
            "user_deleted": bool(p["deleted_at"]),
            "hidden": False,
            "user_id": self.users[p["username"]],
        }
