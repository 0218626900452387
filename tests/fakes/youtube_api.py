"""Fake YouTube Data API v3 (channels, playlistItems, videos, commentThreads, comments).

Responses follow the v3 reference: `kind`/`etag`/`items`, `nextPageToken`, `pageInfo`, and Google's
error envelope `{"error": {"code", "message", "errors": [{"reason", "domain"}], "status"}}`.
"""

from __future__ import annotations

import datetime as dt

from fakes.api_server import FakeApi, Reply, Request, paginate


def ts(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def google_error(code: int, reason: str, message: str, status: str) -> dict:
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [
                {
                    "message": message,
                    "domain": "youtube.quota" if reason == "quotaExceeded" else "global",
                    "reason": reason,
                }
            ],
            "status": status,
        }
    }


class FakeYouTube(FakeApi):
    platform = "youtube"
    brand_platform_id = "UC_brand0001"

    def __init__(self, page_size: int = 2) -> None:
        super().__init__()
        self.page_size = page_size
        self.key = "yt-test-key-1234"
        self.oauth_token = "ya29.test-oauth-token"
        self.subscribers = 1200
        self.videos: dict[str, dict] = {}
        self.threads: list[dict] = []
        self.replies: dict[str, list[dict]] = {}
        self.expired = False

    # -- harness interface (same on every fake) ------------------------------------------------
    def source_config(self) -> dict:
        return {
            "platform": "youtube",
            "base_url": self.base_url,
            "channel_id": self.brand_platform_id,
            "api_key_env": "TEST_YT_KEY",
        }

    def env(self) -> dict[str, str]:
        return {"TEST_YT_KEY": self.key}

    def add_post(self, post_id: str, at: dt.datetime, views: int = 10) -> None:
        self.videos[post_id] = {"id": post_id, "at": at, "views": views, "likes": 1}

    def set_views(self, post_id: str, views: int) -> None:
        self.videos[post_id]["views"] = views

    def _comment(self, cid: str, post_id: str, author: str, at: dt.datetime, text: str, parent: str | None):
        sn = {
            "channelId": self.brand_platform_id,
            "videoId": post_id,
            "textDisplay": text,
            "textOriginal": text,
            "authorDisplayName": author,
            "authorChannelUrl": f"http://www.youtube.com/channel/{author}",
            "authorChannelId": {"value": author},
            "canRate": True,
            "viewerRating": "none",
            "likeCount": 0,
            "publishedAt": ts(at),
            "updatedAt": ts(at),
        }
        if parent:
            sn["parentId"] = parent
        return {"kind": "youtube#comment", "etag": f"e-{cid}", "id": cid, "snippet": sn}

    def add_member_comment(
        self, cid: str, post_id: str, at: dt.datetime, text: str, author: str = "UC_member"
    ) -> None:
        self.threads.append(
            {"id": cid, "video": post_id, "top": self._comment(cid, post_id, author, at, text, None)}
        )
        self.replies[cid] = []

    def add_reply(self, cid: str, parent: str, at: dt.datetime, text: str, author: str | None = None) -> None:
        th = next(t for t in self.threads if t["id"] == parent)
        self.replies[parent].append(
            self._comment(cid, th["video"], author or self.brand_platform_id, at, text, parent)
        )

    def edit_comment(self, cid: str, at: dt.datetime, text: str) -> None:
        for c in [t["top"] for t in self.threads] + [r for rs in self.replies.values() for r in rs]:
            if c["id"] == cid:
                c["snippet"].update(textDisplay=text, textOriginal=text, updatedAt=ts(at))

    def expire_credentials(self) -> None:
        self.expired = True

    comments_path = "/commentThreads"

    def record_id(self, cid: str) -> str:
        return cid

    def rate_limit(self, retry_after: str) -> None:
        # YouTube itself signals per-user rate limits with 403 rateLimitExceeded; 429 can come from Google's front end.
        self.fail(
            "commentThreads",
            429,
            google_error(429, "rateLimitExceeded", "Too many requests", "RESOURCE_EXHAUSTED"),
            {"Retry-After": retry_after},
        )

    def quota_exceeded(self) -> None:
        self.fail(
            "commentThreads",
            403,
            google_error(
                403,
                "quotaExceeded",
                "The request cannot be completed because you have exceeded your quota.",
                "PERMISSION_DENIED",
            ),
            times=10,
        )

    # -- API ------------------------------------------------------------------------------------
    def route(self, req: Request) -> Reply:
        bearer = req.headers.get("authorization", "")
        if bearer.startswith("Bearer "):
            if bearer != f"Bearer {self.oauth_token}" or self.expired:
                return Reply(
                    401,
                    google_error(
                        401,
                        "authError",
                        "Request had invalid authentication credentials. Expected OAuth 2 access token.",
                        "UNAUTHENTICATED",
                    ),
                    {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
                )
        elif req.arg("key") != self.key or self.expired:
            return Reply(
                400,
                google_error(
                    400, "keyInvalid", "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT"
                ),
            )
        name = req.path.rsplit("/", 1)[-1]
        if name == "channels":
            if req.arg("id") != self.brand_platform_id:
                return Reply(
                    200, {"kind": "youtube#channelListResponse", "pageInfo": {"totalResults": 0}, "items": []}
                )
            return Reply(
                200,
                {
                    "kind": "youtube#channelListResponse",
                    "etag": "x",
                    "pageInfo": {"totalResults": 1, "resultsPerPage": 5},
                    "items": [
                        {
                            "kind": "youtube#channel",
                            "id": self.brand_platform_id,
                            "snippet": {"title": "Café Tertulia TV", "customUrl": "@cafetertulia"},
                            "contentDetails": {"relatedPlaylists": {"likes": "", "uploads": "UU_brand0001"}},
                            "statistics": {
                                "viewCount": "5000",
                                "subscriberCount": str(self.subscribers),
                                "hiddenSubscriberCount": False,
                                "videoCount": str(len(self.videos)),
                            },
                        }
                    ],
                },
            )
        if name == "playlistItems":
            vids = sorted(self.videos.values(), key=lambda v: v["at"], reverse=True)
            chunk, nxt = paginate(
                vids, req.arg("pageToken"), min(self.page_size, int(req.arg("maxResults", "5")))
            )
            items = [
                {
                    "kind": "youtube#playlistItem",
                    "id": f"pl-{v['id']}",
                    "snippet": {
                        "publishedAt": ts(v["at"]),
                        "title": f"Video {v['id']}",
                        "resourceId": {"kind": "youtube#video", "videoId": v["id"]},
                    },
                    "contentDetails": {"videoId": v["id"], "videoPublishedAt": ts(v["at"])},
                }
                for v in chunk
            ]
            return Reply(200, self._list("youtube#playlistItemListResponse", items, nxt, len(vids)))
        if name == "videos":
            ids = (req.arg("id") or "").split(",")
            items = [
                {
                    "kind": "youtube#video",
                    "id": i,
                    "snippet": {
                        "publishedAt": ts(self.videos[i]["at"]),
                        "channelId": self.brand_platform_id,
                        "title": f"Video {i}",
                    },
                    "statistics": {
                        "viewCount": str(self.videos[i]["views"]),
                        "likeCount": str(self.videos[i]["likes"]),
                        "favoriteCount": "0",
                        "commentCount": str(len([t for t in self.threads if t["video"] == i])),
                    },
                }
                for i in ids
                if i in self.videos
            ]
            return Reply(200, self._list("youtube#videoListResponse", items, None, len(items)))
        if name == "commentThreads":
            ths = sorted(self.threads, key=lambda t: t["top"]["snippet"]["publishedAt"], reverse=True)
            chunk, nxt = paginate(ths, req.arg("pageToken"), self.page_size)
            items = []
            for t in chunk:
                reps = self.replies[t["id"]]
                item = {
                    "kind": "youtube#commentThread",
                    "id": t["id"],
                    "snippet": {
                        "channelId": self.brand_platform_id,
                        "videoId": t["video"],
                        "topLevelComment": t["top"],
                        "canReply": True,
                        "totalReplyCount": len(reps),
                        "isPublic": True,
                    },
                }
                if reps:
                    # Like the real API, the thread embeds only some replies; the rest come from comments.list.
                    item["replies"] = {"comments": reps[:1]}
                items.append(item)
            return Reply(200, self._list("youtube#commentThreadListResponse", items, nxt, len(ths)))
        if name == "comments":
            reps = self.replies.get(req.arg("parentId") or "", [])
            chunk, nxt = paginate(reps, req.arg("pageToken"), self.page_size)
            return Reply(200, self._list("youtube#commentListResponse", chunk, nxt, len(reps)))
        return Reply(404, google_error(404, "notFound", "Not found", "NOT_FOUND"))

    @staticmethod
    def _list(kind: str, items: list, nxt: str | None, total: int) -> dict:
        body = {
            "kind": kind,
            "etag": "etag",
            "pageInfo": {"totalResults": total, "resultsPerPage": len(items)},
            "items": items,
        }
        if nxt:
            body["nextPageToken"] = nxt
        return body
