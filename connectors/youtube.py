"""YouTube Data API v3: a channel's statistics, its videos and their statistics, comment threads and replies.

Endpoints: `channels.list` (statistics, uploads playlist), `playlistItems.list` (the uploads playlist,
newest first), `videos.list` (statistics of up to 50 videos a call), `commentThreads.list` with
`allThreadsRelatedToChannelId` (newest first) and `comments.list` with `parentId` for threads with more
replies than the thread resource embeds. Pagination by `pageToken`/`nextPageToken`.

Quota: every call costs units from a daily quota; `quotaExceeded` stops the source for this run (the next
run resumes from its cursor), it is not retried.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from connectors.base import Page, SourceError
from connectors.http_client import Decision, HttpClient, retry_after
from connectors.live import Listing, LiveConnector, parse_time
from connectors.live import account as make_account
from connectors.live import account_metrics as make_account_metrics
from connectors.live import comment as make_comment
from connectors.live import post as make_post
from connectors.live import post_metrics as make_post_metrics


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
        account = make_account(
            "youtube", account_id=self.account_id, handle=snippet.get("customUrl"), name=snippet.get("title")
        )
        metrics = make_account_metrics(
            "youtube",
            account_id=self.account_id,
            date=self.now.date().isoformat(),
            followers=stats.get("subscriberCount"),
        )
        return self.page({"accounts": [account], "account_metrics": [metrics]})

    def _page(self, resource: str, params: dict[str, Any], token: str | None) -> Listing:
        """One page of a `*.list` call, newest first; `nextPageToken` is the next, older one."""
        if token:
            params["pageToken"] = token
        what = f"{resource}.list page {token or 1}"
        body, _ = self.client.get_json(resource, params, what=what)
        items = (body or {}).get("items")
        if not isinstance(items, list):
            raise self.malformed(what, "no `items` list")
        return Listing(items, body.get("nextPageToken"), what)

    def _videos(self, channel_id: str) -> Iterator[Page]:
        uploads = self.stream("channel")["uploads"]

        def read(token: str | None) -> Listing:
            params = {"part": "contentDetails,snippet", "playlistId": uploads, "maxResults": 50}
            return self._page("playlistItems", params, token)

        def time_of(it: Any, what: str) -> dt.datetime:
            try:
                it["contentDetails"]["videoId"]
                return parse_time(
                    it["contentDetails"].get("videoPublishedAt") or it["snippet"]["publishedAt"]
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise self.malformed(what, f"bad item: {exc}") from None

        for items, _walk, _what in self.walk_newest_first("videos", read, time_of):
            ids = [it["contentDetails"]["videoId"] for it in items]
            posts, metrics = self._video_details(ids) if ids else ([], [])
            yield self.page({"posts": posts, "post_metrics": metrics})

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
                    make_post(
                        "youtube",
                        post_id=v["id"],
                        account_id=self.account_id,
                        published_at=parse_time(sn["publishedAt"]),
                        message=sn.get("title"),
                        content_type="video",
                        permalink=f"https://www.youtube.com/watch?v={v['id']}",
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise self.malformed("videos.list", f"bad video: {exc}") from None
            metrics.append(
                make_post_metrics(
                    "youtube",
                    post_id=v["id"],
                    captured_at=self.now,
                    reactions=st.get("likeCount"),
                    comments=st.get("commentCount"),
                    video_views=st.get("viewCount"),
                )
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
        def read(token: str | None) -> Listing:
            params = {
                "part": "snippet,replies",
                "allThreadsRelatedToChannelId": channel_id,
                "order": "time",
                "maxResults": 100,
                "textFormat": "plainText",
            }
            return self._page("commentThreads", params, token)

        def time_of(th: Any, what: str) -> dt.datetime:
            try:
                return parse_time(th["snippet"]["topLevelComment"]["snippet"]["publishedAt"])
            except (KeyError, TypeError, ValueError) as exc:
                raise self.malformed(what, f"bad comment thread: {exc}") from None

        for threads, _walk, what in self.walk_newest_first("comments", read, time_of):
            rows = []
            for th in threads:
                try:
                    top = th["snippet"]["topLevelComment"]
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
            yield self.page({"comments": rows})

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
