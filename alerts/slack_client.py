"""Talking to Slack: a bot-token sender (threads, updates, look-ups, file uploads) and a webhook sender.

Retries inside one call are only for failures that leave no doubt about whether Slack acted:
- HTTP 429 (Slack did nothing; wait `Retry-After`, never less than `RATE_LIMIT_FLOOR_SECONDS`, so a
  `Retry-After: 0` cannot become a busy loop), for every method;
- connection refused (the request never reached Slack), for every method;
- 5xx and dropped connections, only for methods that are safe to repeat (look-ups, `chat.update`,
  uploads). A `chat.postMessage` that times out or gets a 5xx may have been posted: it is not retried
  here; the outbox keeps the row `sending` and the next run looks its marker up before sending again.

Errors come out as `DeliveryError` with a category the delivery loop acts on and a message saying what
to do. The token is never part of a message, a log line or the outbox.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.client import RemoteDisconnected
from pathlib import Path
from typing import Any, Literal
from urllib.error import URLError

from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from alerts.render import Message
from tertulia.config import Config

RATE_LIMIT_FLOOR_SECONDS = 1.0
# A longer Retry-After than this is not waited out inside a pipeline run: the rows stay pending.
RATE_LIMIT_CAP_SECONDS = 60.0
MAX_RETRIES = 3

Category = Literal["retry", "uncertain", "channel", "auth", "rejected"]

_AUTH_ERRORS = {
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "no_permission",
    "ekm_access_denied",
    "not_allowed_token_type",
    "missing_scope",
}
_CHANNEL_ERRORS = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "restricted_action",
    "restricted_action_read_only_channel",
    "restricted_action_thread_only_channel",
    "team_access_not_granted",
    "channel_is_archived",
    "action_prohibited",
    "posting_to_general_channel_denied",
}
_TRANSIENT_ERRORS = {
    "ratelimited",
    "rate_limited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
}
_POST_METHODS = ("chat.postMessage",)


class DeliveryError(Exception):
    """A Slack call failed. `category`: retry (surely not posted), uncertain (may have been posted),
    channel (this channel refuses us), auth (token or scopes: stop), rejected (this message is invalid).
    `outage`: Slack looks unreachable, stop sending for this run."""

    def __init__(self, category: Category, message: str, *, code: str | None = None, outage: bool = False):
        super().__init__(message)
        self.category = category
        self.code = code
        self.outage = outage


@dataclass(frozen=True)
class Posted:
    channel_id: str
    ts: str


def _retry_after(response: HttpResponse) -> float | None:
    for key, values in response.headers.items():
        if key.lower() == "retry-after":
            value = values[0] if isinstance(values, list) else values
            try:
                return float(value)
            except (TypeError, ValueError):
                return None
    return None


class FlooredRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """slack-sdk's 429 handler, with a floor (no busy loop on `Retry-After: 0`), a cap (a long wait is left
    to the next run), and an injectable sleep so tests record waits instead of taking them."""

    def __init__(self, sleep: Callable[[float], None], max_retry_count: int = MAX_RETRIES):
        super().__init__(max_retry_count=max_retry_count)
        self._sleep = sleep

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = _retry_after(response)
        return wait is None or wait <= RATE_LIMIT_CAP_SECONDS

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        wait = _retry_after(response) if response is not None else None
        self._sleep(max(RATE_LIMIT_FLOOR_SECONDS, wait if wait is not None else RATE_LIMIT_FLOOR_SECONDS))
        state.increment_current_attempt()


class SafeServerErrorRetryHandler(RetryHandler):
    """Retries 5xx and connection failures, but only where repeating cannot duplicate a message: a refused
    connection never reached Slack; any other failure is retried only for calls other than a post."""

    def __init__(
        self,
        sleep: Callable[[float], None],
        *,
        every_call_posts: bool = False,
        max_retry_count: int = MAX_RETRIES,
    ):
        super().__init__(max_retry_count=max_retry_count)
        self._sleep = sleep
        self._every_call_posts = every_call_posts  # a webhook call is always a post

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        repeatable = not self._every_call_posts and not any(request.url.endswith(m) for m in _POST_METHODS)
        if response is not None:
            return response.status_code >= 500 and repeatable
        if error is None:
            return False
        if _never_reached(error):
            return True
        return repeatable and isinstance(
            error, URLError | ConnectionResetError | RemoteDisconnected | TimeoutError
        )

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        self._sleep(min(0.5 * 2**state.current_attempt, 4.0))
        state.increment_current_attempt()


def retry_handlers(sleep: Callable[[float], None], *, every_call_posts: bool = False) -> list[RetryHandler]:
    return [
        FlooredRateLimitRetryHandler(sleep),
        SafeServerErrorRetryHandler(sleep, every_call_posts=every_call_posts),
    ]


def _never_reached(error: BaseException) -> bool:
    reason = getattr(error, "reason", None)
    return isinstance(error, ConnectionRefusedError) or isinstance(reason, ConnectionRefusedError)


class Pacer:
    """At most one message per `interval` seconds per channel (Slack's documented posting rate)."""

    def __init__(
        self, interval: float, *, sleep: Callable[[float], None], clock: Callable[[], float] = time.monotonic
    ):
        self.interval = interval
        self._sleep = sleep
        self._clock = clock
        self._last: dict[str, float] = {}

    def wait(self, channel: str) -> None:
        if self.interval <= 0:
            return
        last = self._last.get(channel)
        if last is not None:
            gap = self.interval - (self._clock() - last)
            if gap > 0:
                self._sleep(gap)
        self._last[channel] = self._clock()


def what_to_do(code: str, channel: str | None, config: Config, needed: str | None = None) -> str:
    where = channel or "the channel"
    if code == "not_in_channel":
        return (
            f"the Slack bot is not a member of {where}: open {where} in Slack and type `/invite @<your bot>`, "
            "then run again (the alerts wait in the outbox)"
        )
    if code == "channel_not_found":
        return (
            f"Slack cannot find {where}: check slack.channels / channel_overrides in community.yml (a name "
            "like #community-care or a channel ID), and invite the bot if the channel is private"
        )
    if code in ("is_archived", "channel_is_archived"):
        return f"{where} is archived: unarchive it or route this kind to another channel in slack.channels"
    if code == "missing_scope":
        return (
            f"the Slack app lacks the scope {needed or '(see docs/slack.md)'}: add it under OAuth & Permissions "
            "(chat:write, files:write, channels:history), reinstall the app to the workspace and run again"
        )
    if code in _AUTH_ERRORS:
        return (
            f"Slack rejected the bot token ({code}): put a valid bot token (xoxb-...) in the environment "
            f"variable {config.slack.token_env}"
            + (
                f" or the Prefect Secret block {config.slack.token_secret_block!r}"
                if config.slack.token_secret_block
                else ""
            )
            + "; the alerts wait in the outbox"
        )
    if code in ("no_service", "invalid_token", "no_team", "team_disabled"):
        return (
            f"the Slack webhook URL is no longer valid ({code}): create a new incoming webhook and put it in "
            f"{config.slack.webhook_url_env}; the alerts wait in the outbox"
        )
    return (
        f"Slack refused the message ({code}); this is probably a Tertulia bug: please report it with this "
        "message (the alert stays in the outbox)"
    )


def _translate(exc: BaseException, *, method: str, channel: str | None, config: Config) -> DeliveryError:
    from slack_sdk.errors import SlackApiError

    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        code = str(data.get("error") or f"http_{status}")
        if status == 429 or code in ("ratelimited", "rate_limited"):
            return DeliveryError(
                "retry",
                f"{method}: Slack rate limit still in force; left pending for the next run",
                code=code,
                outage=True,
            )
        if status >= 500 or code in _TRANSIENT_ERRORS:
            category: Category = "uncertain" if method in _POST_METHODS else "retry"
            answer = f"HTTP {status}" if status >= 500 else code
            return DeliveryError(
                category,
                f"{method}: Slack answered {answer}; will check and retry on the next run",
                code=code,
                outage=True,
            )
        if code in _AUTH_ERRORS:
            return DeliveryError("auth", what_to_do(code, channel, config, data.get("needed")), code=code)
        if code in _CHANNEL_ERRORS:
            return DeliveryError("channel", what_to_do(code, channel, config), code=code)
        return DeliveryError("rejected", what_to_do(code, channel, config), code=code)
    if _never_reached(exc):
        return DeliveryError(
            "retry", f"{method}: cannot connect to Slack ({exc}); will retry on the next run", outage=True
        )
    if isinstance(exc, OSError | URLError | RemoteDisconnected):
        category = "uncertain" if method in _POST_METHODS else "retry"
        return DeliveryError(
            category,
            f"{method}: no answer from Slack ({type(exc).__name__}: {exc}); "
            "will check and retry on the next run",
            outage=True,
        )
    return DeliveryError(
        "uncertain" if method in _POST_METHODS else "retry",
        f"{method}: unexpected error {type(exc).__name__}: {exc}",
    )


def load_token(config: Config) -> tuple[str | None, str | None]:
    """(token, problem). Environment first, then the Prefect Secret block. The token is never logged."""
    token = os.environ.get(config.slack.token_env, "").strip()
    if token:
        return token, None
    name = config.slack.token_secret_block
    if not name:
        return None, None
    try:
        from prefect.blocks.system import Secret  # Prefect is heavy: only when a block is configured

        value = Secret.load(name).get()
    except Exception as exc:  # noqa: BLE001 - any failure means "no token", said clearly
        return None, (
            f"could not read the Slack token from Prefect Secret block {name!r} "
            f"({type(exc).__name__}); create it with `prefect block create secret` or set "
            f"{config.slack.token_env}"
        )
    return (str(value).strip() or None), None


class _Sender:
    """What the bot and the webhook senders share: the settings, a slack-sdk client whose timeout and
    retries come from them (`client_options`), and the pacing of messages per channel."""

    def __init__(
        self, config: Config, client: Any, *, sleep: Callable[[float], None], clock: Callable[[], float]
    ):
        self.config = config
        self.client = client
        self.client.timeout = (
            config.slack.timeout_seconds
        )  # urllib takes floats; the constructors want an int
        self.pacer = Pacer(config.slack.seconds_per_message_per_channel, sleep=sleep, clock=clock)

    @staticmethod
    def client_options(config: Config, sleep: Callable[[float], None], **retry: bool) -> dict[str, Any]:
        return {
            "timeout": int(max(1, config.slack.timeout_seconds)),
            "retry_handlers": retry_handlers(sleep, **retry),
        }


class BotSender(_Sender):
    mode = "bot"
    supports_threads = True

    def __init__(
        self,
        token: str,
        config: Config,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        from slack_sdk import WebClient

        kwargs: dict[str, Any] = {"token": token, **self.client_options(config, sleep)}
        if config.slack.base_url:
            kwargs["base_url"] = config.slack.base_url.rstrip("/") + "/"
        super().__init__(config, WebClient(**kwargs), sleep=sleep, clock=clock)

    def _call(self, method: str, channel: str | None, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - translated into one actionable error
            raise _translate(exc, method=method, channel=channel, config=self.config) from None

    def check_auth(self) -> None:
        self._call("auth.test", None, self.client.auth_test)

    def post(
        self,
        channel: str,
        message: Message,
        *,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
        reply_broadcast: bool = False,
    ) -> Posted:
        self.pacer.wait(channel)
        kwargs: dict[str, Any] = {
            "channel": channel,
            "text": message.text,
            "blocks": message.blocks,
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
            kwargs["reply_broadcast"] = reply_broadcast
        if metadata:
            kwargs["metadata"] = metadata
        resp = self._call("chat.postMessage", channel, lambda: self.client.chat_postMessage(**kwargs))
        return Posted(channel_id=str(resp["channel"]), ts=str(resp["ts"]))

    def update(self, channel_id: str, ts: str, message: Message) -> None:
        self._call(
            "chat.update",
            channel_id,
            lambda: self.client.chat_update(
                channel=channel_id, ts=ts, text=message.text, blocks=message.blocks
            ),
        )

    def find_marker(
        self, channel_id: str, marker: str, *, oldest: float, thread_ts: str | None
    ) -> str | None:
        """ts of the message carrying `marker` in its metadata, or None if Slack has no such message."""
        cursor = None
        for _ in range(10):
            if thread_ts:
                resp = self._call(
                    "conversations.replies",
                    channel_id,
                    lambda c=cursor: self.client.conversations_replies(
                        channel=channel_id,
                        ts=thread_ts,
                        oldest=f"{oldest:.6f}",
                        include_all_metadata=True,
                        limit=200,
                        cursor=c,
                    ),
                )
            else:
                resp = self._call(
                    "conversations.history",
                    channel_id,
                    lambda c=cursor: self.client.conversations_history(
                        channel=channel_id,
                        oldest=f"{oldest:.6f}",
                        include_all_metadata=True,
                        limit=200,
                        cursor=c,
                    ),
                )
            for msg in resp.get("messages") or []:
                payload = (msg.get("metadata") or {}).get("event_payload") or {}
                if payload.get("marker") == marker:
                    return str(msg["ts"])
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        return None

    def channel_id_for(self, name: str) -> str | None:
        """The id of a channel configured by name (needs channels:read / groups:read), or None."""
        wanted = name.lstrip("#")
        cursor = None
        for _ in range(50):
            resp = self._call(
                "conversations.list",
                name,
                lambda c=cursor: self.client.conversations_list(
                    types="public_channel,private_channel", exclude_archived=True, limit=1000, cursor=c
                ),
            )
            for channel in resp.get("channels") or []:
                if channel.get("name") == wanted:
                    return str(channel["id"])
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        return None

    def upload(self, channel_id: str, path: Path, *, title: str, thread_ts: str | None) -> None:
        self._call(
            "files.upload_v2",
            channel_id,
            lambda: self.client.files_upload_v2(
                channel=channel_id, file=str(path), filename=path.name, title=title, thread_ts=thread_ts
            ),
        )


class WebhookSender(_Sender):
    """Incoming webhook: one fixed channel, no threads, no updates, no look-ups."""

    mode = "webhook"
    supports_threads = False

    def __init__(
        self,
        url: str,
        config: Config,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        from slack_sdk.webhook import WebhookClient

        options = self.client_options(config, sleep, every_call_posts=True)
        super().__init__(config, WebhookClient(url, **options), sleep=sleep, clock=clock)

    def check_auth(self) -> None:
        return None

    def post(self, channel: str, message: Message, **_: Any) -> Posted:
        self.pacer.wait("webhook")
        try:
            resp = self.client.send(
                text=message.text, blocks=message.blocks, unfurl_links=False, unfurl_media=False
            )
        except Exception as exc:  # noqa: BLE001
            raise _translate(
                exc, method="chat.postMessage", channel="the webhook's channel", config=self.config
            ) from None
        if resp.status_code == 200:
            return Posted(channel_id="", ts="")
        code = (resp.body or f"http_{resp.status_code}").strip()
        if resp.status_code == 429:
            raise DeliveryError(
                "retry", "webhook: Slack rate limit still in force; left pending", code=code, outage=True
            )
        if resp.status_code >= 500:
            raise DeliveryError(
                "uncertain",
                f"webhook: Slack answered {resp.status_code}; will retry on the next run",
                code=code,
                outage=True,
            )
        if code in ("no_service", "invalid_token", "no_team", "team_disabled"):
            raise DeliveryError("auth", what_to_do(code, None, self.config), code=code)
        if code in _CHANNEL_ERRORS or resp.status_code in (403, 410):
            raise DeliveryError("channel", what_to_do(code, "the webhook's channel", self.config), code=code)
        raise DeliveryError("rejected", what_to_do(code, None, self.config), code=code)
