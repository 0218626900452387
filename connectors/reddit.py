"""Reddit: a subreddit's new posts and comments, through the OAuth API.

Auth: application-only OAuth (`client_credentials`) with the app's client id and secret, a token per
run from `/api/v1/access_token`; or a ready bearer token (`token_env`). Reddit requires a descriptive
`User-Agent` (`user_agent:`).

Endpoints: `/r/{sub}/new` (submissions, newest first) and `/r/{sub}/comments` (comments, newest
first), both `Listing`s paged with `after`. Member submissions are conversations (channel `comment`); the
brand's own submissions (`username:`) are posts with their score and comment count. A comment's thread is
its submission when a member started it, or its top-level comment under a brand post.
Rate limits: `X-Ratelimit-Remaining` / `X-Ratelimit-Reset` (seconds); the client pauses when it runs out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from connectors.base import Page, SourceError
from connectors.http_client import Decision, HttpClient, reset_in
from connectors.live import Listing, LiveConnector, parse_time
from connectors.live import comment as make_comment
from connectors.live import post as make_post
from connectors.live import post_metrics as make_post_metrics

GONE = ("[deleted]", "[removed]")


class RedditConnector(LiveConnector):
    platform = "reddit"
    default_base_url = "https://oauth.reddit.com"
    own_id_key = "username"
    settings = ("subreddit", "user_agent", "token_url", "page_size")
    credentials = ("token", "client_id", "client_secret")  # a ready bearer token, or the app's id and secret

    def make_client(self) -> HttpClient:
        agent = str(self.opt("user_agent") or "tertulia:community-pipeline:0.1 (by /u/unknown)")
        if self.opt("token_env") or self.opt("token_secret_block"):
            token = self.secret("token")
        else:
            token = self._app_token(agent)
        return self.new_client(
            self.base_url, headers={"Authorization": f"bearer {token}", "User-Agent": agent}
        )

    def _app_token(self, agent: str) -> str:
        client_id, client_secret = self.secret("client_id"), self.secret("client_secret")
        root = self.source.base_url.rstrip("/") if self.source.base_url else "https://www.reddit.com"
        auth = self.new_client(root, headers={"User-Agent": agent})
        try:
            body, _ = auth.request_json(
                "POST",
                str(self.opt("token_url") or f"{root}/api/v1/access_token"),
                data={"grant_type": "client_credentials"},
                auth=(client_id, client_secret),
                what="OAuth token",
            )
        finally:
            auth.close()
        token = (body or {}).get("access_token") if isinstance(body, dict) else None
        if not token:
            raise SourceError(
                f"source {self.name}: Reddit gave no access token ({(body or {}).get('error', 'no error given')}); "
                "check the app's client id and secret (a 'script' or 'web app' at reddit.com/prefs/apps)."
            )
        self._secrets.append(token)
        return str(token)

    def classify(self, resp: httpx.Response, body: Any) -> Decision | None:
        if resp.status_code == 401:
            return Decision(
                "stop",
                message=f"{self.name}: Reddit rejected the credentials (HTTP 401"
                f"{': ' + str(body.get('error')) if isinstance(body, dict) and body.get('error') else ''}). "
                "Check the client id and secret (or refresh the token) in the variables named under "
                f"sources.{self.name}.",
            )
        if resp.status_code == 403:
            return Decision(
                "stop",
                message=f"{self.name}: Reddit refused r/{self.opt('subreddit')} (HTTP 403): it is private, "
                "quarantined or banned for this app. Check the subreddit name or the account's access.",
            )
        if resp.status_code == 404:
            return Decision(
                "stop", message=f"{self.name}: r/{self.opt('subreddit')} does not exist (HTTP 404)."
            )
        if resp.status_code == 429:
            wait = resp.headers.get("retry-after") or resp.headers.get("x-ratelimit-reset")
            return Decision("retry", wait=reset_in(wait))
        return None

    def pace(self, resp: httpx.Response) -> float:
        remaining = resp.headers.get("x-ratelimit-remaining")
        try:
            if remaining is not None and float(remaining) < 1:
                return reset_in(resp.headers.get("x-ratelimit-reset")) or 0.0
        except ValueError:
            return 0.0
        return 0.0

    def streams(self) -> list[tuple[str, Callable[[], Iterator[Page]]]]:
        sub = self.require("subreddit", "the subreddit's name without r/")
        return [
            ("submissions", lambda: self._listing("submissions", f"r/{sub}/new")),
            ("comments", lambda: self._listing("comments", f"r/{sub}/comments")),
        ]

    def _listing(self, key: str, path: str) -> Iterator[Page]:
        def read(after: str | None) -> Listing:
            params = {"limit": int(self.opt("page_size", 100)), "raw_json": 1}
            if after:
                params["after"] = after
            what = f"/{path} page after {after or '(first)'}"
            body, _ = self.client.get_json(path, params, what=what)
            data = body.get("data") if isinstance(body, dict) and body.get("kind") == "Listing" else None
            if not isinstance(data, dict) or not isinstance(data.get("children"), list):
                raise self.malformed(what, "not a Listing with data.children")
            return Listing(data["children"], data.get("after"), what)

        def time_of(child: Any, what: str) -> dt.datetime:
            try:
                return parse_time(child["data"]["created_utc"])
            except (KeyError, TypeError, ValueError) as exc:
                raise self.malformed(what, f"bad child: {exc}") from None

        for children, _walk, what in self.walk_newest_first(key, read, time_of):
            records: dict[str, list[dict[str, Any]]] = {"posts": [], "post_metrics": [], "comments": []}
            for child in children:
                item = child["data"]
                try:
                    self._add(records, child.get("kind"), item, parse_time(item["created_utc"]))
                except (KeyError, TypeError, ValueError) as exc:
                    raise self.malformed(what, f"bad {child.get('kind')} {item.get('name')}: {exc}") from None
            yield self.page(records)

    def _is_brand(self, author: Any) -> bool:
        return bool(self.own_id) and str(author).lower() == str(self.own_id).lower()

    def _add(
        self, records: dict[str, list[dict[str, Any]]], kind: str | None, item: dict[str, Any], created
    ) -> None:
        author = item.get("author")
        deleted = author in GONE or (item.get("body") or item.get("selftext")) in GONE
        edited = item.get("edited")
        # A deletion has no timestamp of its own: the moment it was seen makes it the newer version.
        updated = self.now if deleted else (parse_time(edited) if edited not in (None, False) else created)
        if kind == "t3":
            if self._is_brand(author):
                records["posts"].append(
                    make_post(
                        "reddit",
                        post_id=item["name"],
                        account_id=self.account_id,
                        published_at=created,
                        message=item.get("title"),
                        content_type="self" if item.get("is_self") else "link",
                        permalink=f"https://www.reddit.com{item.get('permalink', '')}",
                    )
                )
                records["post_metrics"].append(
                    make_post_metrics(
                        "reddit",
                        post_id=item["name"],
                        captured_at=self.now,
                        reactions=item.get("score"),
                        comments=item.get("num_comments"),
                    )
                )
                return
            text = "\n\n".join(t for t in (item.get("title"), item.get("selftext")) if t)
            records["comments"].append(
                make_comment(
                    "reddit",
                    comment_id=item["name"],
                    post_id=item["name"],
                    parent_id=None,
                    thread_id=item["name"],
                    author_id=self.author_id(author),
                    author_name=author,
                    created_at=created,
                    updated_at=updated,
                    message=text,
                    channel="comment",
                    like_count=item.get("score"),
                    is_deleted=deleted,
                )
            )
        elif kind == "t1":
            link, parent = item["link_id"], item["parent_id"]
            brand_post = self._is_brand(item.get("link_author"))
            top_level = parent == link
            if brand_post:
                # Under a brand post each top-level comment is its own conversation; deeper replies
                # point at their parent (staging falls back to it for the thread).
                thread = item["name"] if top_level else None
                parent_id = None if top_level else parent
            else:
                thread, parent_id = link, parent
            records["comments"].append(
                make_comment(
                    "reddit",
                    comment_id=item["name"],
                    post_id=link if brand_post else None,
                    parent_id=parent_id,
                    thread_id=thread,
                    author_id=self.author_id(author),
                    author_name=author,
                    created_at=created,
                    updated_at=updated,
                    message=item.get("body"),
                    channel="comment" if top_level and brand_post else "reply",
                    like_count=item.get("score"),
                    is_deleted=deleted,
                )
            )
