"""Discourse: a forum's latest topics and posts.

Auth: `Api-Key` and `Api-Username` headers (an API key from the admin panel, scoped to read; `api_key_env`
names its variable, `api_username:` the user it acts as). `forum_url:` is the forum's address.

Endpoints: `/posts.json` (the latest posts across the forum, newest first, paged with `before=<post id>`),
`/latest.json?order=created` (topics with views, likes and replies, paged with `page=`) and
`/t/{id}.json` for topics whose opening post is not in the window (to name who started them).
Every forum post is a comment: the opening post of a topic starts the thread (channel `comment`), the
others reply to it. Ids are `<topic>-<post number>`, stable across edits and moves. Topics the brand
(`brand_usernames:`) opened are also posts, with their metrics. Deleted posts keep their row, marked
`is_deleted`. Rate limits: HTTP 429 with `Retry-After` (or `extras.wait_seconds`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from connectors.base import Page, SourceError
from connectors.http_client import Decision, HttpClient
from connectors.live import Listing, LiveConnector, parse_time
from connectors.live import comment as make_comment
from connectors.live import post as make_post
from connectors.live import post_metrics as make_post_metrics

_TAGS = re.compile(r"<[^>]+>")


class DiscourseConnector(LiveConnector):
    platform = "discourse"
    default_base_url = ""
    own_id_key = "api_username"
    settings = ("forum_url", "brand_usernames")
    credentials = ("api_key",)

    @property
    def base_url(self) -> str:
        return (self.source.base_url or self.require("forum_url", "the forum's address, https://…")).rstrip(
            "/"
        )

    def make_client(self) -> HttpClient:
        user = self.require("api_username", "the username the API key acts as")
        return self.new_client(
            self.base_url,
            headers={"Api-Key": self.secret("api_key"), "Api-Username": user, "Accept": "application/json"},
        )

    @property
    def brand_usernames(self) -> set[str]:
        names = self.opt("brand_usernames") or [self.opt("api_username")]
        return {str(n).lower() for n in names if n}

    def author_id(self, platform_id: Any, *, handle: Any = None) -> str:
        return self.account_id if str(platform_id).lower() in self.brand_usernames else str(platform_id)

    def classify(self, resp: httpx.Response, body: Any) -> Decision | None:
        errors = "; ".join(body.get("errors") or []) if isinstance(body, dict) else ""
        if resp.status_code == 429:
            wait = resp.headers.get("retry-after") or ((body or {}).get("extras") or {}).get("wait_seconds")
            return Decision("retry", wait=float(wait) if wait is not None else None)
        if resp.status_code in (401, 403):
            return Decision(
                "stop",
                message=f"{self.name}: the forum refused the API key (HTTP {resp.status_code}"
                f"{': ' + errors if errors else ''}). Check that api_username exists and the key in "
                f"{self.opt('api_key_env') or 'api_key_env'} is active with read scope (Admin → API).",
            )
        if resp.status_code == 404:
            return Decision(
                "stop", message=f"{self.name}: {resp.request.url.path} not found (HTTP 404); check forum_url."
            )
        return None

    def streams(self) -> list[tuple[str, Callable[[], Iterator[Page]]]]:
        return [("posts", self._posts), ("topics", self._topics)]

    def _row(self, p: dict[str, Any]) -> dict[str, Any]:
        topic, number = p["topic_id"], int(p["post_number"])
        created = parse_time(p["created_at"])
        deleted = bool(p.get("deleted_at") or p.get("user_deleted"))
        updated = parse_time(p.get("deleted_at") or p.get("updated_at") or p["created_at"])
        text = p.get("raw") if p.get("raw") is not None else _TAGS.sub("", p.get("cooked") or "")
        parent = None if number == 1 else f"{topic}-{p.get('reply_to_post_number') or 1}"
        return make_comment(
            "discourse",
            comment_id=f"{topic}-{number}",
            post_id=topic,
            parent_id=parent,
            thread_id=f"{topic}-1",
            author_id=self.author_id(p["username"]),
            author_name=p.get("name") or p["username"],
            created_at=created,
            updated_at=max(updated, created),
            message=text,
            channel="comment" if number == 1 else "reply",
            like_count=p.get("like_count"),
            is_deleted=deleted,
        )

    def _bad(self, what: str, kind: str, item: Any, exc: Exception) -> SourceError:
        return self.malformed(
            what, f"bad {kind} {item.get('id') if isinstance(item, dict) else item!r}: {exc}"
        )

    def _posts(self) -> Iterator[Page]:
        def read(before: str | None) -> Listing:
            what = f"/posts.json before {before or '(latest)'}"
            body, _ = self.client.get_json("posts.json", {"before": before} if before else {}, what=what)
            latest = body.get("latest_posts") if isinstance(body, dict) else None
            if not isinstance(latest, list):
                raise self.malformed(what, "no `latest_posts` list")
            # The next page: the posts before the lowest id of this one. An id that is not a number
            # stops the walk in time_of, before this token is used.
            ids = [int(p["id"]) for p in latest if isinstance(p, dict) and str(p.get("id", "")).isdigit()]
            return Listing(latest, str(min(ids)) if latest and ids else None, what)

        def time_of(p: Any, what: str) -> dt.datetime:
            try:
                int(p["id"])
                return parse_time(p["created_at"])
            except (KeyError, TypeError, ValueError) as exc:
                raise self._bad(what, "post", p, exc) from None

        for items, _walk, what in self.walk_newest_first("posts", read, time_of):
            rows = []
            for p in items:
                try:
                    rows.append(self._row(p))
                except (KeyError, TypeError, ValueError) as exc:
                    raise self._bad(what, "post", p, exc) from None
            yield self.page({"comments": rows})

    def _topics(self) -> Iterator[Page]:
        users: dict[Any, Any] = {}  # the usernames of the page being read

        def read(page: str | None) -> Listing:
            number = int(page or 0)
            what = f"/latest.json page {number}"
            body, _ = self.client.get_json("latest.json", {"order": "created", "page": number}, what=what)
            topic_list = body.get("topic_list") if isinstance(body, dict) else None
            if not isinstance(topic_list, dict) or not isinstance(topic_list.get("topics"), list):
                raise self.malformed(what, "no `topic_list.topics`")
            users.clear()
            users.update(
                {u.get("id"): u.get("username") for u in body.get("users") or [] if isinstance(u, dict)}
            )
            more = topic_list["topics"] and topic_list.get("more_topics_url")
            return Listing(topic_list["topics"], str(number + 1) if more else None, what)

        def time_of(t: Any, what: str) -> dt.datetime:
            try:
                return parse_time(t["created_at"])
            except (KeyError, TypeError, ValueError) as exc:
                raise self._bad(what, "topic", t, exc) from None

        for items, _walk, what in self.walk_newest_first("topics", read, time_of):
            posts, metrics = [], []
            for t in items:
                try:
                    created = parse_time(t["created_at"])
                    starter = self._starter(t, users)
                    if starter is None or starter.lower() not in self.brand_usernames:
                        continue
                    posts.append(
                        make_post(
                            "discourse",
                            post_id=str(t["id"]),
                            account_id=self.account_id,
                            published_at=created,
                            message=t.get("title"),
                            content_type="topic",
                            permalink=f"{self.base_url}/t/{t.get('slug', '-')}/{t['id']}",
                        )
                    )
                    metrics.append(
                        make_post_metrics(
                            "discourse",
                            post_id=str(t["id"]),
                            captured_at=self.now,
                            impressions=t.get("views"),
                            reactions=t.get("like_count"),
                            comments=t.get("reply_count"),
                        )
                    )
                except (KeyError, TypeError, ValueError) as exc:
                    raise self._bad(what, "topic", t, exc) from None
            yield self.page({"posts": posts, "post_metrics": metrics})

    def _starter(self, topic: dict[str, Any], users: dict[Any, Any]) -> str | None:
        for poster in topic.get("posters") or []:
            if "Original Poster" in str(poster.get("description", "")):
                return users.get(poster.get("user_id"))
        # Older forums leave the description out: ask the topic itself.
        body, _ = self.client.get_json(f"t/{topic['id']}.json", what=f"/t/{topic['id']}.json")
        created_by = ((body or {}).get("details") or {}).get("created_by") or {}
        return created_by.get("username")
