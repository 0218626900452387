"""Meta Graph API: a Facebook Page and an Instagram professional account.

Facebook Page (`platform: facebook`, `page_id`): `/{page-id}` (followers), `/{page-id}/insights` (daily
follows, impressions, reach over the look-back window), `/{page-id}/posts` (newest first, with reaction,
comment and share totals and lifetime post insights by field expansion) and `/{post-id}/comments` with
`filter=stream` (comments and replies in one list, `parent` marks a reply).

Instagram (`platform: instagram`, `ig_user_id`): `/{ig-user-id}` (followers), `/{ig-user-id}/insights`
(daily reach), `/{ig-user-id}/media` (newest first, like and comment counts, media insights) and
`/{media-id}/comments` with embedded replies (more replies through `/{comment-id}/replies`).

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

from connectors.base import Page
from connectors.http_client import Decision, HttpClient, retry_after
from connectors.live import LiveConnector, iso, parse_time, text_or_none
from connectors.live import comment as make_comment

THROTTLE_CODES = {4, 17, 32, 613} | set(range(80001, 80015))
PERMISSION_CODES = {10} | set(range(200, 300))


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
    default_base_url = "https://graph.facebook.com"
    permissions = ""
    settings = ("api_version", "slow_down_at_percent", "page_size", "recent_post_days", "reach_metric")
    credentials = ("token",)

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
        self, key: str, edge: str, fields: str, *, start_floor: dt.datetime | None = None
    ) -> Iterator[tuple[list[dict[str, Any]], dict[str, Any]]]:
        """Newest-first listing `edge` down to the walk's start (or `start_floor` if earlier)."""
        walk = self.begin_walk(key)
        start = parse_time(walk["start"])
        if start_floor is not None and start_floor < start:
            start = start_floor
        time_field = "created_time" if self.platform == "facebook" else "timestamp"
        while True:
            params = {"fields": fields, "limit": int(self.opt("page_size", 25))}
            if walk["next"]:
                params["after"] = walk["next"]
            what = f"/{edge} page after {walk['next'] or '(first)'}"
            body, _ = self.client.get_json(edge, params, what=what)
            items, done = [], False
            for it in self._data(body, what):
                try:
                    t = parse_time(it[time_field])
                except (KeyError, ValueError) as exc:
                    raise self.malformed(what, f"item without a readable {time_field}: {exc}") from None
                if t < start:
                    done = True
                    break
                self.see(walk, t)
                items.append(it)
            walk["next"] = None if done else self._after(body)
            if not walk["next"]:
                self.end_walk(key)
            yield items, walk
            if not walk["next"]:
                return

    def comment_start(self) -> dt.datetime:
        st = self.stream("comments")
        if self.since is not None:
            return self.since
        if st.get("high"):
            return parse_time(st["high"]) - dt.timedelta(days=self.source.lookback_days)
        return self.initial_start()

    def _note_comment_high(self, rows: list[dict[str, Any]]) -> None:
        st = self.stream("comments")
        for r in rows:
            t = parse_time(r["created_at"])
            if not st.get("high") or t > parse_time(st["high"]):
                st["high"] = iso(t)


class FacebookPageConnector(_MetaConnector):
    platform = "facebook"
    own_id_key = "page_id"
    settings = (*_MetaConnector.settings, "followers_metric", "impressions_metric")
    permissions = "pages_show_list, pages_read_engagement, pages_read_user_content and read_insights"

    def streams(self) -> list[tuple[str, Callable[[], Iterator[Page]]]]:
        page_id = self.require("page_id", "the Facebook Page id (numbers)")
        return [("account", lambda: self._account(page_id)), ("posts", lambda: self._posts(page_id))]

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
            {
                "platform": "facebook",
                "account_id": self.account_id,
                "date": day,
                "followers": text_or_none(v.get(metrics_names[0])),
                "impressions": text_or_none(v.get(metrics_names[1])),
                "reach": text_or_none(v.get(metrics_names[2])),
            }
            for day, v in sorted(days.items())
        ]
        account = {
            "platform": "facebook",
            "account_id": self.account_id,
            "handle": text_or_none(body.get("username")),
            "name": text_or_none(body.get("name")),
        }
        yield self.page({"accounts": [account], "account_metrics": account_metrics})

    def _posts(self, page_id: str) -> Iterator[Page]:
        fields = (
            "id,message,created_time,permalink_url,status_type,shares,"
            "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0),"
            "insights.metric(post_impressions,post_impressions_unique,post_clicks)"
        )
        recent = self.now - dt.timedelta(days=int(self.opt("recent_post_days", 7)))
        comment_start = self.comment_start()
        for items, _walk in self._walk("posts", f"{page_id}/posts", fields, start_floor=recent):
            posts, metrics, comments = [], [], []
            for p in items:
                ins = self._insight_values(p.get("insights"))
                posts.append(
                    {
                        "platform": "facebook",
                        "post_id": p["id"],
                        "account_id": self.account_id,
                        "published_at": iso(parse_time(p["created_time"])),
                        "message": text_or_none(p.get("message")),
                        "content_type": text_or_none(p.get("status_type")),
                        "permalink": text_or_none(p.get("permalink_url")),
                    }
                )
                metrics.append(
                    {
                        "platform": "facebook",
                        "post_id": p["id"],
                        "captured_at": iso(self.now),
                        "impressions": text_or_none(ins.get("post_impressions")),
                        "reach": text_or_none(ins.get("post_impressions_unique")),
                        "reactions": text_or_none(
                            ((p.get("reactions") or {}).get("summary") or {}).get("total_count")
                        ),
                        "comments": text_or_none(
                            ((p.get("comments") or {}).get("summary") or {}).get("total_count")
                        ),
                        "shares": text_or_none((p.get("shares") or {}).get("count", 0)),
                        "clicks": text_or_none(ins.get("post_clicks")),
                    }
                )
                comments += self._post_comments(p["id"], comment_start)
            self._note_comment_high(comments)
            yield self.page({"posts": posts, "post_metrics": metrics, "comments": comments})

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
    own_id_key = "ig_user_id"
    permissions = (
        "instagram_basic, instagram_manage_comments, instagram_manage_insights and pages_read_engagement"
    )

    def streams(self) -> list[tuple[str, Callable[[], Iterator[Page]]]]:
        ig = self.require("ig_user_id", "the Instagram professional account id (numbers)")
        return [("account", lambda: self._account(ig)), ("posts", lambda: self._media(ig))]

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
            {
                "platform": "instagram",
                "account_id": self.account_id,
                "date": today,
                "followers": text_or_none(body.get("followers_count")),
                "impressions": None,
                "reach": text_or_none(days.get(today, {}).get(reach_metric)),
            }
        ]
        account = {
            "platform": "instagram",
            "account_id": self.account_id,
            "handle": text_or_none(body.get("username")),
            "name": text_or_none(body.get("name")),
        }
        yield self.page({"accounts": [account], "account_metrics": account_metrics})

    def _media(self, ig: str) -> Iterator[Page]:
        fields = (
            "id,caption,media_type,media_product_type,permalink,timestamp,like_count,comments_count,"
            "insights.metric(reach,saved,shares,views)"
        )
        recent = self.now - dt.timedelta(days=int(self.opt("recent_post_days", 7)))
        comment_start = self.comment_start()
        for items, _walk in self._walk("posts", f"{ig}/media", fields, start_floor=recent):
            posts, metrics, comments = [], [], []
            for m in items:
                ins = self._insight_values(m.get("insights"))
                posts.append(
                    {
                        "platform": "instagram",
                        "post_id": m["id"],
                        "account_id": self.account_id,
                        "published_at": iso(parse_time(m["timestamp"])),
                        "message": text_or_none(m.get("caption")),
                        "content_type": text_or_none(
                            (m.get("media_product_type") or m.get("media_type") or "").lower() or None
                        ),
                        "permalink": text_or_none(m.get("permalink")),
                    }
                )
                metrics.append(
                    {
                        "platform": "instagram",
                        "post_id": m["id"],
                        "captured_at": iso(self.now),
                        "impressions": text_or_none(ins.get("views")),
                        "reach": text_or_none(ins.get("reach")),
                        "reactions": text_or_none(m.get("like_count")),
                        "comments": text_or_none(m.get("comments_count")),
                        "shares": text_or_none(ins.get("shares")),
                        "saves": text_or_none(ins.get("saved")),
                    }
                )
                comments += self._media_comments(m["id"], comment_start)
            self._note_comment_high(comments)
            yield self.page({"posts": posts, "post_metrics": metrics, "comments": comments})

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
