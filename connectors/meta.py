"""Meta Graph API: a Facebook Page and an Instagram professional account.

Facebook Page (`platform: facebook`, `page_id`): `/{page-id}` (followers), `/{page-id}/insights` (daily
follows, impressions, reach over the look-back window), `/{page-id}/posts` (newest first, with reaction,
comment and share totals and lifetime post insights by field expansion) and `/{post-id}/comments` with
`filter=stream` (comments and replies in one list, `parent` marks a reply).

Instagram (`platform: instagram`, `ig_user_id`): `/{ig-user-id}` (followers), `/{ig-user-id}/insights`
(daily reach), `/{ig-user-id}/media` (newest first, like and comment counts, media insights) and
`/{media-id}/comments` with embedded replies (more replies through `/{comment-id}/replies`).

Opt-in streams, each needing a permission of its own (docs/connectors.md):
- `read_messages: true`: Messenger (Facebook) or Instagram conversations through `/{page-id}/conversations`
  with `platform=messenger|instagram` (Instagram uses the Facebook Page linked to the account, `page_id`)
  and `/{conversation-id}/messages`, as `channel: dm`; a conversation is a thread and the Page's or
  account's own messages are the brand's.
- `read_ratings: true` (Facebook): `/{page-id}/ratings` (recommendations) as `channel: review`, and the
  comments under each review's story as replies in the review's thread.
A permission refused on an opt-in stream (codes 10, 200-299) stops that stream only, with a note naming
the permission; the other streams still land.

Both page with `paging.cursors.after` / `paging.next`. Throttling (codes 4, 17, 32, 613 and the
business-use-case 800xx codes) waits as the usage headers say; usage above `slow_down_at_percent` of
`X-App-Usage` / `X-Business-Use-Case-Usage` slows the next call down. Comments are read for every post
of the last `recent_post_days` days (default 7) at each run, so new comments on recent posts are found.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from connectors.base import Page, SourceError
from connectors.http_client import Decision, HttpClient, retry_after
from connectors.live import Listing, LiveConnector, iso, parse_time
from connectors.live import account as make_account
from connectors.live import account_metrics as make_account_metrics
from connectors.live import comment as make_comment
from connectors.live import post as make_post
from connectors.live import post_metrics as make_post_metrics

THROTTLE_CODES = {4, 17, 32, 613} | set(range(80001, 80015))
PERMISSION_CODES = {10} | set(range(200, 300))
# Opt-in streams and the setting that turns each on.
OPTIONAL_STREAMS = {"dms": "read_messages", "reviews": "read_ratings"}


class StreamRefused(Exception):
    """An opt-in stream the token may not read: the connector skips it and says which permission to grant."""


def _usage_percent(resp: httpx.Response) -> tuple[float, float]:
    """(highest usage percentage, minutes until access is regained) from Meta's usage headers."""
    highest, regain = 0.0, 0.0
    for header in ("x-app-usage", "x-ad-account-usage", "x-business-use-case-usage"):
        raw = resp.headers.get(header)
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        entries: list[dict[str, Any]] = []
        if isinstance(data, dict) and any(isinstance(v, list) for v in data.values()):
            for v in data.values():
                entries += [e for e in v if isinstance(e, dict)] if isinstance(v, list) else []
        elif isinstance(data, dict):
            entries.append(data)
        for e in entries:
            for k in ("call_count", "total_cputime", "total_time", "acc_id_util_pct"):
                if isinstance(e.get(k), int | float):
                    highest = max(highest, float(e[k]))
            if isinstance(e.get("estimated_time_to_regain_access"), int | float):
                regain = max(regain, float(e["estimated_time_to_regain_access"]))
    return highest, regain


class _MetaConnector(LiveConnector):
    post_fields: str  # the Graph API fields of a post (page) or media object (Instagram) to read
    default_base_url = "https://graph.facebook.com"
    permissions = ""
    settings = (
        "api_version",
        "slow_down_at_percent",
        "page_size",
        "recent_post_days",
        "reach_metric",
        "read_messages",
    )
    credentials = ("token",)
    # `platform=` of /{page-id}/conversations, and the permissions it needs (Meta's Conversations API).
    messaging_platform: str = ""
    messaging_permissions: str = ""
    # Set while an opt-in stream reads: a permission error then stops that stream only.
    _optional_stream: tuple[str, str] | None = None  # (stream, permission it needs)

    @property
    def base_url(self) -> str:
        root = (self.source.base_url or self.default_base_url).rstrip("/")
        return f"{root}/{self.opt('api_version', 'v21.0')}"

    def make_client(self) -> HttpClient:
        return self.new_client(self.base_url, params={"access_token": self.secret("token")})

    def classify(self, resp: httpx.Response, body: Any) -> Decision | None:
        err = (body or {}).get("error") if isinstance(body, dict) else None
        if not isinstance(err, dict):
            return None
        code, sub = err.get("code"), err.get("error_subcode")
        detail = f"Meta error {code}" + (f"/{sub}" if sub else "") + f": {err.get('message', '')}"
        cred = self.opt("token_env") or self.opt("token_secret_block") or "token_env"
        if code == 190:
            return Decision(
                "stop",
                message=f"{self.name}: the access token expired or was invalidated ({detail}). Generate a new "
                f"long-lived Page access token and put it in {cred}; the next run resumes where this one stopped.",
            )
        if code in PERMISSION_CODES and self._optional_stream:
            stream, permission = self._optional_stream
            setting = OPTIONAL_STREAMS[stream]
            raise StreamRefused(
                f"{self.name}: the token may not read {stream} ({detail}). Grant {permission} to the app and "
                f"regenerate the token in {cred}, or set {setting}: false under sources.{self.name}; the other "
                "streams were read."
            )
        if code in PERMISSION_CODES:
            return Decision(
                "stop",
                message=f"{self.name}: the token lacks a permission ({detail}). Grant {self.permissions} to the "
                f"app and regenerate the token in {cred}.",
            )
        if code == 100 and sub == 33:
            return Decision(
                "stop",
                message=f"{self.name}: the object is missing or unreadable with this token ({detail}). If the "
                f"page or account was deleted or moved, edit sources.{self.name} or turn it off with enabled: false.",
            )
        if code == 100 and "metric" in str(err.get("message", "")).lower():
            return Decision(
                "stop",
                message=f"{self.name}: Meta refused an insights metric ({detail}); Meta renames metrics now and then. "
                f"Set followers_metric / impressions_metric / reach_metric under sources.{self.name} to current names.",
            )
        if code in THROTTLE_CODES:
            _, regain = _usage_percent(resp)
            return Decision("retry", wait=regain * 60 if regain else retry_after(resp))
        if code in (1, 2) or resp.status_code >= 500:
            return Decision("retry")
        return Decision("stop", message=f"{self.name}: the Graph API refused a request ({detail}).")

    def pace(self, resp: httpx.Response) -> float:
        pct, regain = _usage_percent(resp)
        if regain:
            return regain * 60
        slow_at = float(self.opt("slow_down_at_percent", 80))
        # Above the threshold, wait more the closer usage gets to 100 %: 5 s at the threshold, ~1 min at 100 %.
        return 5 + (pct - slow_at) * 60 / max(1.0, 100 - slow_at) if pct >= slow_at else 0.0

    def _data(self, body: Any, what: str) -> list[dict[str, Any]]:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise self.malformed(what, "no `data` list")
        return data

    @staticmethod
    def _after(body: dict[str, Any]) -> str | None:
        paging = body.get("paging") or {}
        if not paging.get("next"):
            return None
        return (paging.get("cursors") or {}).get("after")

    def _insight_values(self, insights: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for m in (insights or {}).get("data", []) if isinstance(insights, dict) else []:
            values = m.get("values") or []
            if values:
                out[m.get("name")] = values[-1].get("value")
            elif "total_value" in m:
                out[m.get("name")] = (m.get("total_value") or {}).get("value")
        return out

    def _daily_insights(self, node: str, metrics: list[str]) -> dict[str, dict[str, Any]]:
        """{date: {metric: value}} for the look-back window; a day's `end_time` is the next midnight (Pacific)."""
        start = self.lookback_start()
        params = {
            "metric": ",".join(metrics),
            "period": "day",
            "since": int(start.timestamp()),
            "until": int(self.now.timestamp()),
        }
        body, _ = self.client.get_json(f"{node}/insights", params, what=f"/{node}/insights")
        days: dict[str, dict[str, Any]] = {}
        for m in self._data(body, f"/{node}/insights"):
            for v in m.get("values") or []:
                try:
                    day = (parse_time(v["end_time"]) - dt.timedelta(days=1)).date().isoformat()
                except (KeyError, ValueError) as exc:
                    raise self.malformed(f"/{node}/insights", f"bad value {exc}") from None
                days.setdefault(day, {})[m.get("name")] = v.get("value")
        return days

    def _walk(
        self,
        key: str,
        edge: str,
        fields: str,
        *,
        start_floor: dt.datetime | None = None,
        time_field: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Iterator[tuple[list[dict[str, Any]], dict[str, Any]]]:
        """Newest-first listing `edge` down to the walk's start (or `start_floor` if earlier)."""
        field = time_field or ("created_time" if self.platform == "facebook" else "timestamp")

        def read(after: str | None) -> Listing:
            params = {**(extra or {}), "fields": fields, "limit": int(self.opt("page_size", 25))}
            if after:
                params["after"] = after
            what = f"/{edge} page after {after or '(first)'}"
            body, _ = self.client.get_json(edge, params, what=what)
            return Listing(self._data(body, what), self._after(body), what)

        def time_of(it: Any, what: str) -> dt.datetime:
            try:
                return parse_time(it[field])
            except (KeyError, ValueError) as exc:
                raise self.malformed(what, f"item without a readable {field}: {exc}") from None

        for items, walk, _what in self.walk_newest_first(key, read, time_of, floor=start_floor):
            yield items, walk

    # --- opt-in streams ---------------------------------------------------------------------------
    def _optional(self, key: str, permission: str, read: Callable[[], Iterator[Page]]) -> Iterator[Page]:
        """Run an opt-in stream; a permission Meta refuses stops this stream only, with a note."""
        self._optional_stream = (key, permission)
        try:
            yield from read()
        except StreamRefused as exc:
            self.notes.append(str(exc))
            # Forget a half-done walk: once the permission is granted the stream starts from its cursor.
            self.stream(key).pop("walk", None)
            # An empty page carries the state on, so the next run does not start at this stream.
            yield self.page({})
        finally:
            self._optional_stream = None

    def _enabled(self, key: str) -> bool:
        value = self.opt(key, False)
        if isinstance(value, bool):
            return value
        raise SourceError(f"source {self.name}: `{key}` under sources.{self.name} must be true or false.")

    def _messaging_streams(self) -> list[tuple[str, Callable[[], Iterator[Page]]]]:
        if not self._enabled("read_messages"):
            return []
        page_id = self.require(
            "page_id", "the id of the Facebook Page (linked to the account) that holds its conversations"
        )
        return [
            ("dms", lambda: self._optional("dms", self.messaging_permissions, lambda: self._dms(page_id)))
        ]

    def _dms(self, page_id: str) -> Iterator[Page]:
        """Conversations updated since the walk's start, newest first; in each, the messages since then."""
        for conversations, walk in self._walk(
            "dms",
            f"{page_id}/conversations",
            "id,updated_time",
            time_field="updated_time",
            extra={"platform": self.messaging_platform},
        ):
            start = parse_time(walk["start"])
            rows: list[dict[str, Any]] = []
            for conv in conversations:
                rows += self._conversation_messages(str(conv["id"]), start)
            yield self.page({"comments": rows})

    def _conversation_messages(self, conversation_id: str, start: dt.datetime) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        after = None
        while True:
            params: dict[str, Any] = {"fields": "id,created_time,from,to,message", "limit": 100}
            if after:
                params["after"] = after
            what = f"/{conversation_id}/messages page after {after or '(first)'}"
            body, _ = self.client.get_json(f"{conversation_id}/messages", params, what=what)
            for msg in self._data(body, what):  # newest first
                try:
                    created = parse_time(msg["created_time"])
                    if created < start:
                        return rows
                    author = msg.get("from") or {}
                    rows.append(
                        make_comment(
                            self.platform,
                            comment_id=msg["id"],
                            post_id=None,
                            parent_id=None,
                            thread_id=conversation_id,
                            author_id=self.author_id(author["id"], handle=author.get("username")),
                            author_name=author.get("name") or author.get("username"),
                            created_at=created,
                            updated_at=created,
                            message=msg.get("message"),
                            channel="dm",
                        )
                    )
                except (KeyError, TypeError, ValueError) as exc:
                    raise self.malformed(what, f"bad message: {exc}") from None
            after = self._after(body)
            if not after:
                return rows

    def comment_start(self) -> dt.datetime:
        st = self.stream("comments")
        if self.since is not None:
            return self.since
        if st.get("high"):
            return parse_time(st["high"]) - dt.timedelta(days=self.source.lookback_days)
        return self.initial_start()

    def _account_page(self, body: dict[str, Any], account_metrics: list[dict[str, Any]]) -> Page:
        """The account (a page or an Instagram user: both name their handle `username`) and its metrics."""
        account = make_account(
            self.platform, account_id=self.account_id, handle=body.get("username"), name=body.get("name")
        )
        return self.page({"accounts": [account], "account_metrics": account_metrics})

    def _post_pages(
        self,
        edge: str,
        records: Callable[[dict[str, Any], dict[str, Any]], tuple[dict[str, Any], dict[str, Any]]],
        comments_of: Callable[[str, dt.datetime], list[dict[str, Any]]],
    ) -> Iterator[Page]:
        """The brand's posts newest first, down to `recent_post_days` ago (their counters still move), each
        with its metrics snapshot (`records(item, insights)` builds both) and its comments since the
        comments' start: the walk a Facebook page and an Instagram account share."""
        recent = self.now - dt.timedelta(days=int(self.opt("recent_post_days", 7)))
        comment_start = self.comment_start()
        for items, _walk in self._walk("posts", edge, self.post_fields, start_floor=recent):
            posts, metrics, comments = [], [], []
            for item in items:
                post, snapshot = records(item, self._insight_values(item.get("insights")))
                posts.append(post)
                metrics.append(snapshot)
                comments += comments_of(item["id"], comment_start)
            self._note_comment_high(comments)
            yield self.page({"posts": posts, "post_metrics": metrics, "comments": comments})

    def _note_comment_high(self, rows: list[dict[str, Any]]) -> None:
        st = self.stream("comments")
        for r in rows:
            t = parse_time(r["created_at"])
            if not st.get("high") or t > parse_time(st["high"]):
                st["high"] = iso(t)


class FacebookPageConnector(_MetaConnector):
    platform = "facebook"
    post_fields = (
        "id,message,created_time,permalink_url,status_type,shares,"
        "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0),"
        "insights.metric(post_impressions,post_impressions_unique,post_clicks)"
    )
    own_id_key = "page_id"
    settings = (*_MetaConnector.settings, "followers_metric", "impressions_metric", "read_ratings")
    permissions = "pages_show_list, pages_read_engagement, pages_read_user_content and read_insights"
    messaging_platform = "messenger"
    messaging_permissions = "pages_messaging (with pages_manage_metadata and pages_read_engagement)"
    ratings_permissions = "pages_read_user_content"

    def streams(self) -> list[tuple[str, Callable[[], Iterator[Page]]]]:
        page_id = self.require("page_id", "the Facebook Page id (numbers)")
        streams = [
            ("account", lambda: self._account(page_id)),
            ("posts", lambda: self._post_pages(f"{page_id}/posts", self._post_records, self._post_comments)),
        ]
        streams += self._messaging_streams()
        if self._enabled("read_ratings"):
            streams.append(
                (
                    "reviews",
                    lambda: self._optional(
                        "reviews", self.ratings_permissions, lambda: self._ratings(page_id)
                    ),
                )
            )
        return streams

    def _ratings(self, page_id: str) -> Iterator[Page]:
        """Recommendations newest first; the replies under each (its story's comments) join its thread.

        A recommendation has no id of its own: its story's id is, else the reviewer and the time."""
        fields = "created_time,recommendation_type,review_text,rating,has_review,reviewer{id,name},open_graph_story{id}"
        for items, walk in self._walk("reviews", f"{page_id}/ratings", fields, time_field="created_time"):
            start = parse_time(walk["start"])
            rows: list[dict[str, Any]] = []
            what = f"/{page_id}/ratings"
            for r in items:
                try:
                    created = parse_time(r["created_time"])
                    reviewer = r.get("reviewer") or {}
                    story = (r.get("open_graph_story") or {}).get("id")
                    reviewer_id = reviewer.get("id")
                    review_id = story or f"rating:{reviewer_id or 'hidden'}:{int(created.timestamp())}"
                    rows.append(
                        make_comment(
                            "facebook",
                            comment_id=review_id,
                            post_id=None,
                            parent_id=None,
                            thread_id=review_id,
                            # `reviewer` needs pages_read_user_content and may be hidden by privacy.
                            author_id=self.author_id(reviewer_id or f"hidden:{review_id}"),
                            author_name=reviewer.get("name"),
                            created_at=created,
                            updated_at=created,
                            message=r.get("review_text"),
                            channel="review",
                        )
                    )
                except (KeyError, TypeError, ValueError) as exc:
                    raise self.malformed(what, f"bad recommendation: {exc}") from None
                if story:
                    for c in self._post_comments(story, start):
                        # Every answer under a review belongs to the review's thread.
                        c.update(post_id=None, thread_id=review_id, channel="reply")
                        c["parent_id"] = c["parent_id"] or review_id
                        rows.append(c)
            yield self.page({"comments": rows})

    def _account(self, page_id: str) -> Iterator[Page]:
        body, _ = self.client.get_json(
            page_id, {"fields": "id,name,username,followers_count,fan_count"}, what=f"/{page_id}"
        )
        if not isinstance(body, dict) or "id" not in body:
            raise self.malformed(f"/{page_id}", "no `id`")
        metrics_names = [
            self.opt("followers_metric", "page_follows"),
            self.opt("impressions_metric", "page_impressions"),
            self.opt("reach_metric", "page_impressions_unique"),
        ]
        days = self._daily_insights(page_id, metrics_names)
        today = self.now.date().isoformat()
        days.setdefault(today, {})[metrics_names[0]] = body.get("followers_count", body.get("fan_count"))
        account_metrics = [
            make_account_metrics(
                "facebook",
                account_id=self.account_id,
                date=day,
                followers=v.get(metrics_names[0]),
                impressions=v.get(metrics_names[1]),
                reach=v.get(metrics_names[2]),
            )
            for day, v in sorted(days.items())
        ]
        yield self._account_page(body, account_metrics)

    def _post_records(self, p: dict[str, Any], ins: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        post = make_post(
            "facebook",
            post_id=p["id"],
            account_id=self.account_id,
            published_at=parse_time(p["created_time"]),
            message=p.get("message"),
            content_type=p.get("status_type"),
            permalink=p.get("permalink_url"),
        )
        snapshot = make_post_metrics(
            "facebook",
            post_id=p["id"],
            captured_at=self.now,
            impressions=ins.get("post_impressions"),
            reach=ins.get("post_impressions_unique"),
            reactions=((p.get("reactions") or {}).get("summary") or {}).get("total_count"),
            comments=((p.get("comments") or {}).get("summary") or {}).get("total_count"),
            shares=(p.get("shares") or {}).get("count", 0),
            clicks=ins.get("post_clicks"),
        )
        return post, snapshot

    def _post_comments(self, post_id: str, start: dt.datetime) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        after = None
        while True:
            params = {
                "filter": "stream",
                "order": "reverse_chronological",
                "fields": "id,message,created_time,from{id,name},parent{id},like_count,is_hidden",
                "limit": 100,
            }
            if after:
                params["after"] = after
            what = f"/{post_id}/comments page after {after or '(first)'}"
            body, _ = self.client.get_json(f"{post_id}/comments", params, what=what)
            for c in self._data(body, what):
                try:
                    created = parse_time(c["created_time"])
                    if created < start:
                        return rows
                    author = c.get("from") or {}
                    parent = (c.get("parent") or {}).get("id")
                    rows.append(
                        make_comment(
                            "facebook",
                            comment_id=c["id"],
                            post_id=post_id,
                            parent_id=parent,
                            thread_id=parent or c["id"],
                            # `from` is missing when a member's privacy hides it; the comment still counts.
                            author_id=self.author_id(author.get("id") or f"hidden:{c['id']}"),
                            author_name=author.get("name"),
                            created_at=created,
                            updated_at=created,
                            message=c.get("message"),
                            channel="reply" if parent else "comment",
                            like_count=c.get("like_count"),
                        )
                    )
                except (KeyError, TypeError, ValueError) as exc:
                    raise self.malformed(what, f"bad comment: {exc}") from None
            after = self._after(body)
            if not after:
                return rows


class InstagramConnector(_MetaConnector):
    platform = "instagram"
    post_fields = (
        "id,caption,media_type,media_product_type,permalink,timestamp,like_count,comments_count,"
        "insights.metric(reach,saved,shares,views)"
    )
    own_id_key = "ig_user_id"
    settings = (*_MetaConnector.settings, "page_id")
    permissions = (
        "instagram_basic, instagram_manage_comments, instagram_manage_insights and pages_read_engagement"
    )
    messaging_platform = "instagram"
    messaging_permissions = "instagram_manage_messages (with instagram_basic and pages_manage_metadata)"

    def streams(self) -> list[tuple[str, Callable[[], Iterator[Page]]]]:
        ig = self.require("ig_user_id", "the Instagram professional account id (numbers)")
        streams = [
            ("account", lambda: self._account(ig)),
            ("posts", lambda: self._post_pages(f"{ig}/media", self._media_records, self._media_comments)),
        ]
        return streams + self._messaging_streams()

    def _account(self, ig: str) -> Iterator[Page]:
        body, _ = self.client.get_json(
            ig, {"fields": "id,username,name,followers_count,media_count"}, what=f"/{ig}"
        )
        if not isinstance(body, dict) or "id" not in body:
            raise self.malformed(f"/{ig}", "no `id`")
        reach_metric = self.opt("reach_metric", "reach")
        days = self._daily_insights(ig, [reach_metric])
        today = self.now.date().isoformat()
        # Instagram reports followers only as of now: today's row carries them, earlier days only reach.
        account_metrics = [
            make_account_metrics(
                "instagram",
                account_id=self.account_id,
                date=today,
                followers=body.get("followers_count"),
                reach=days.get(today, {}).get(reach_metric),
            )
        ]
        yield self._account_page(body, account_metrics)

    def _media_records(self, m: dict[str, Any], ins: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        post = make_post(
            "instagram",
            post_id=m["id"],
            account_id=self.account_id,
            published_at=parse_time(m["timestamp"]),
            message=m.get("caption"),
            content_type=(m.get("media_product_type") or m.get("media_type") or "").lower() or None,
            permalink=m.get("permalink"),
        )
        snapshot = make_post_metrics(
            "instagram",
            post_id=m["id"],
            captured_at=self.now,
            impressions=ins.get("views"),
            reach=ins.get("reach"),
            reactions=m.get("like_count"),
            comments=m.get("comments_count"),
            shares=ins.get("shares"),
            saves=ins.get("saved"),
        )
        return post, snapshot

    def _row(self, c: dict[str, Any], media_id: str, parent: str | None) -> dict[str, Any]:
        author = c.get("from") or {}
        return make_comment(
            "instagram",
            comment_id=c["id"],
            post_id=media_id,
            parent_id=parent,
            thread_id=parent or c["id"],
            author_id=self.author_id(author.get("id") or c.get("username"), handle=c.get("username")),
            author_name=author.get("username") or c.get("username"),
            created_at=parse_time(c["timestamp"]),
            updated_at=None,
            message=c.get("text"),
            channel="reply" if parent else "comment",
            like_count=c.get("like_count"),
        )

    def _media_comments(self, media_id: str, start: dt.datetime) -> list[dict[str, Any]]:
        reply_fields = "id,text,timestamp,username,from,like_count"
        rows: list[dict[str, Any]] = []
        after = None
        while True:
            params = {"fields": f"{reply_fields},replies{{{reply_fields}}}", "limit": 50}
            if after:
                params["after"] = after
            what = f"/{media_id}/comments page after {after or '(first)'}"
            body, _ = self.client.get_json(f"{media_id}/comments", params, what=what)
            for c in self._data(body, what):
                try:
                    replies = list((c.get("replies") or {}).get("data") or [])
                    more = self._after(c.get("replies") or {})
                    while more:
                        rb, _ = self.client.get_json(
                            f"{c['id']}/replies",
                            {"fields": reply_fields, "after": more},
                            what=f"/{c['id']}/replies",
                        )
                        replies += self._data(rb, f"/{c['id']}/replies")
                        more = self._after(rb)
                    if parse_time(c["timestamp"]) >= start:
                        rows.append(self._row(c, media_id, None))
                    rows += [
                        self._row(r, media_id, c["id"])
                        for r in replies
                        if parse_time(r["timestamp"]) >= start
                    ]
                except (KeyError, TypeError, ValueError) as exc:
                    raise self.malformed(what, f"bad comment: {exc}") from None
            after = self._after(body)
            if not after:
                return rows
