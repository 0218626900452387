"""YouTube Data API v3: a channel's statistics, its videos and their statistics, comment threads and replies.

Endpoints: `channels.list` (statistics, uploads playlist), `playlistItems.list` (the uploads playlist,
newest first), `videos.list` (statistics of up to 50 videos a call), `commentThreads.list` with
`allThreadsRelatedToChannelId` (newest first) and `comments.list` with `parentId` for threads with more
replies than the thread resource embeds. Pagination by `pageToken`/`nextPageToken`.

Quota: every call costs units from a daily quota; `quotaExceeded` stops the source for this run (the next
run resumes from its cursor), it is not retried.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx

from connectors.base import Page, SourceError
from connectors.http_client import Decision, HttpClient, retry_after
from connectors.live import LiveConnector, iso, parse_time, text_or_none
from connectors.live import comment as make_comment


def _reason(body: Any) -> str:
    try:
        errors = body["error"].get("errors") or []
        return str(errors[0].get("reason", "")) if errors else str(body["error"].get("status", ""))
    except (TypeError, KeyError, AttributeError):
        return ""


class YouTubeConnector(LiveConnector):
    platform = "youtube"
    default_base_url = "https://www.googleapis.com/youtube/v3"
    own_id_key = "channel_id"
    credentials = ("api_key", "token")  # an API key for public data, or the owner's OAuth token

    def make_client(self) -> HttpClient:
        # An OAuth token (owner's view) if one is named, else an API key (public data is enough).
        if self.opt("token_env") or self.opt("token_secret_block"):
            return self.new_client(self.base_url, headers={"Authorization": f"Bearer {self.secret('token')}"})
        return self.new_client(self.base_url, params={"key": self.secret("api_key")})

    def classify(self, resp: httpx.Response, body: Any) -> Decision | None:
        reason = _reason(body)
        where = f"{self.name} (YouTube channel {self.opt('channel_id')})"
        if reason in ("quotaExceeded", "dailyLimitExceeded"):
            return Decision(
                "stop",
                fatal=False,
                message=f"{where}: the YouTube Data API daily quota is used up (it resets at midnight Pacific "
                "time). Stopped for this run; the next run resumes from the last landed page. If this happens "
                "every day, lower max_pages_per_run or ask Google for more quota.",
            )
        if reason in ("rateLimitExceeded", "userRateLimitExceeded"):
            return Decision("retry", wait=retry_after(resp))
        if resp.status_code == 401:
            return Decision(
                "stop",
                message=f"{where}: YouTube rejected the credentials (HTTP 401 {reason or 'authError'}): the OAuth "
                "token expired or was revoked. Refresh it and update the environment variable or Secret block "
                "named by token_env/token_secret_block.",
            )
        if resp.status_code == 400 and reason in ("keyInvalid", "badRequest") and "key" in resp.text.lower():
            return Decision(
                "stop",
                message=f"{where}: the API key is not valid (HTTP 400 keyInvalid). Create a key with the YouTube "
                "Data API v3 enabled and put it in the variable named by api_key_env.",
            )
        if resp.status_code == 403:
            return Decision(
                "stop",
                message=f"{where}: YouTube refused access (HTTP 403 {reason or 'forbidden'}). Check that the key "
                "or token belongs to a project with the YouTube Data API v3 enabled and the "
                "youtube.force-ssl (or youtube.readonly) scope.",
            )
        if resp.status_code == 404:
            return Decision(
                "stop",
                message=f"{where}: YouTube found no such resource (HTTP 404 {reason}). Check channel_id.",
            )
        return None

    def streams(self) -> list[tuple[str, Callable[[], Iterator[Page]]]]:
        channel_id = self.require("channel_id", "the channel's id (UC…)")
        return [
            ("channel", lambda: iter([self._channel_page(channel_id)])),
            ("videos", lambda: self._videos(channel_id)),
            ("comments", lambda: self._threads(channel_id)),
        ]

    def _channel_page(self, channel_id: str) -> Page:
        body, _ = self.client.get_json(
            "channels", {"part": "snippet,statistics,contentDetails", "id": channel_id}, what="channels.list"
        )
        items = (body or {}).get("items")
        if not isinstance(items, list):
            raise self.malformed("channels.list", "no `items` list")
        if not items:
            raise SourceError(
                f"source {self.name}: YouTube has no channel {channel_id}; check sources.{self.name}.channel_id."
            )
        ch = items[0]
        try:
            stats = ch.get("statistics") or {}
            self.stream("channel")["uploads"] = ch["contentDetails"]["relatedPlaylists"]["uploads"]
            snippet = ch.get("snippet") or {}
        except (KeyError, TypeError) as exc:
            raise self.malformed("channels.list", f"missing {exc}") from None
        account = {
            "platform": "youtube",
            "account_id": self.account_id,
            "handle": text_or_none(snippet.get("customUrl")),
            "name": text_or_none(snippet.get("title")),
        }
        metrics = {
            "platform": "youtube",
            "account_id": self.account_id,
            "date": self.now.date().isoformat(),
            "followers": text_or_none(stats.get("subscriberCount")),
            "impressions": None,
            "reach": None,
        }
        return self.page({"accounts": [account], "account_metrics": [metrics]})

    def _videos(self, channel_id: str) -> Iterator[Page]:
        walk = self.begin_walk("videos")
        start = parse_time(walk["start"])
        uploads = self.stream("channel")["uploads"]
        while True:
            params = {"part": "contentDetails,snippet", "playlistId": uploads, "maxResults": 50}
            if walk["next"]:
                params["pageToken"] = walk["next"]
            body, _ = self.client.get_json(
                "playlistItems", params, what=f"playlistItems.list page {walk['next'] or 1}"
            )
            items = (body or {}).get("items")
            if not isinstance(items, list):
                raise self.malformed(f"playlistItems.list page {walk['next'] or 1}", "no `items` list")
            ids, done = [], False
            for it in items:
                try:
                    published = parse_time(
                        it["contentDetails"].get("videoPublishedAt") or it["snippet"]["publishedAt"]
                    )
                    vid = it["contentDetails"]["videoId"]
                except (KeyError, TypeError, ValueError) as exc:
                    raise self.malformed(
                        f"playlistItems.list page {walk['next'] or 1}", f"bad item: {exc}"
                    ) from None
                if published < start:
                    done = True
                    break
                self.see(walk, published)
                ids.append(vid)
            posts, metrics = self._video_details(ids) if ids else ([], [])
            walk["next"] = None if done else body.get("nextPageToken")
            if not walk["next"]:
                self.end_walk("videos")
            yield self.page({"posts": posts, "post_metrics": metrics})
            if not walk["next"]:
                return

    def _video_details(self, ids: list[str]) -> tuple[list[dict], list[dict]]:
        body, _ = self.client.get_json(
            "videos", {"part": "snippet,statistics", "id": ",".join(ids)}, what="videos.list"
        )
        items = (body or {}).get("items")
        if not isinstance(items, list):
            raise self.malformed("videos.list", "no `items` list")
        posts, metrics = [], []
        for v in items:
            try:
                sn, st = v["snippet"], v.get("statistics") or {}
                posts.append(
                    {
                        "platform": "youtube",
                        "post_id": v["id"],
                        "account_id": self.account_id,
                        "published_at": iso(parse_time(sn["publishedAt"])),
                        "message": text_or_none(sn.get("title")),
                        "content_type": "video",
                        "permalink": f"https://www.youtube.com/watch?v={v['id']}",
                    }
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise self.malformed("videos.list", f"bad video: {exc}") from None
            metrics.append(
                {
                    "platform": "youtube",
                    "post_id": v["id"],
                    "captured_at": iso(self.now),
                    "impressions": None,
                    "reach": None,
                    "reactions": text_or_none(st.get("likeCount")),
                    "comments": text_or_none(st.get("commentCount")),
                    "shares": None,
                    "video_views": text_or_none(st.get("viewCount")),
                }
            )
        return posts, metrics

    def _comment(self, c: dict[str, Any], *, parent: str | None, thread: str, video: str | None) -> dict:
        sn = c["snippet"]
        author = (sn.get("authorChannelId") or {}).get("value") or sn.get("authorDisplayName")
        return make_comment(
            "youtube",
            comment_id=c["id"],
            post_id=sn.get("videoId") or video,
            parent_id=parent,
            thread_id=thread,
            author_id=self.author_id(author),
            author_name=sn.get("authorDisplayName"),
            created_at=parse_time(sn["publishedAt"]),
            updated_at=parse_time(sn.get("updatedAt") or sn["publishedAt"]),
            message=sn.get("textOriginal") if sn.get("textOriginal") is not None else sn.get("textDisplay"),
            channel="reply" if parent else "comment",
            like_count=sn.get("likeCount"),
        )

    def _threads(self, channel_id: str) -> Iterator[Page]:
        walk = self.begin_walk("comments")
        start = parse_time(walk["start"])
        while True:
            params = {
                "part": "snippet,replies",
                "allThreadsRelatedToChannelId": channel_id,
                "order": "time",
                "maxResults": 100,
                "textFormat": "plainText",
            }
            if walk["next"]:
                params["pageToken"] = walk["next"]
            what = f"commentThreads.list page {walk['next'] or 1}"
            body, _ = self.client.get_json("commentThreads", params, what=what)
            items = (body or {}).get("items")
            if not isinstance(items, list):
                raise self.malformed(what, "no `items` list")
            rows, done = [], False
            for th in items:
                try:
                    top = th["snippet"]["topLevelComment"]
                    published = parse_time(top["snippet"]["publishedAt"])
                    if published < start:
                        done = True
                        break
                    self.see(walk, published)
                    video = th["snippet"].get("videoId")
                    rows.append(self._comment(top, parent=None, thread=top["id"], video=video))
                    replies = (th.get("replies") or {}).get("comments") or []
                    if int(th["snippet"].get("totalReplyCount", 0)) > len(replies):
                        replies = self._all_replies(top["id"])
                    rows += [
                        self._comment(r, parent=top["id"], thread=top["id"], video=video) for r in replies
                    ]
                except (KeyError, TypeError, ValueError) as exc:
                    raise self.malformed(what, f"bad comment thread: {exc}") from None
            walk["next"] = None if done else body.get("nextPageToken")
            if not walk["next"]:
                self.end_walk("comments")
            yield self.page({"comments": rows})
            if not walk["next"]:
                return

    def _all_replies(self, parent_id: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        token = None
        while True:
            params = {"part": "snippet", "parentId": parent_id, "maxResults": 100, "textFormat": "plainText"}
            if token:
                params["pageToken"] = token
            body, _ = self.client.get_json("comments", params, what=f"comments.list parentId={parent_id}")
            items = (body or {}).get("items")
            if not isinstance(items, list):
                raise self.malformed(f"comments.list parentId={parent_id}", "no `items` list")
            out += items
            token = body.get("nextPageToken")
            if not token:
                return out
