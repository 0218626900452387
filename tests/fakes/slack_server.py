"""A local HTTP server speaking the part of Slack's Web API Tertulia uses, plus an incoming webhook.

Wire format as documented: `{"ok": true, ...}` / `{"ok": false, "error": "..."}` with HTTP 200 for API
errors, HTTP 429 with `Retry-After` for rate limits, 5xx for outages. Faults are scripted per method with
`fail(...)`: a status (429, 500), an `ok:false` error, a delay longer than the client's timeout, and
whether the request is processed before the fault (Slack posted the message, then the answer was lost).

Everything received is recorded (`calls`), with the Authorization header reduced to whether it was sent,
so tests can check a token never leaks into payloads.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

VALID_TOKEN = "xoxb-test-token"


# Slack's documented Block Kit limits (docs.slack.dev/reference/block-kit), checked as Slack checks them:
# one over-limit text or count and the whole message is refused with `invalid_blocks`.
LIMITS = {
    "blocks": 50,
    "header_text": 150,
    "section_text": 3000,
    "fields": 10,
    "field_text": 2000,
    "context_elements": 10,
    "text_object": 3000,
    "actions_elements": 25,
    "button_text": 75,
    "url": 3000,
}


def block_errors(blocks: Any) -> list[str]:
    """Slack's `errors` for a `blocks` payload ("must be less than 151 characters [json-pointer:...]"); [] when valid."""
    errors: list[str] = []

    def text(obj: Any, limit: int, pointer: str, kinds: tuple[str, ...] = ("plain_text", "mrkdwn")) -> None:
        if not isinstance(obj, dict) or obj.get("type") not in kinds or not isinstance(obj.get("text"), str):
            errors.append(f"must be a text object of type {'/'.join(kinds)} [json-pointer:{pointer}]")
        elif not obj["text"]:
            errors.append(f"must be more than 0 characters [json-pointer:{pointer}/text]")
        elif len(obj["text"]) > limit:
            errors.append(f"must be less than {limit + 1} characters [json-pointer:{pointer}/text]")

    def count(items: Any, limit: int, pointer: str) -> list[Any]:
        if not isinstance(items, list) or not items:
            errors.append(f"must provide at least one item [json-pointer:{pointer}]")
            return []
        if len(items) > limit:
            errors.append(f"must provide no more than {limit} items [json-pointer:{pointer}]")
        return items

    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    if len(blocks) > LIMITS["blocks"]:
        errors.append(f"must provide no more than {LIMITS['blocks']} items [json-pointer:/blocks]")
    for i, b in enumerate(blocks):
        at = f"/blocks/{i}"
        kind = b.get("type") if isinstance(b, dict) else None
        if kind == "header":
            text(b.get("text"), LIMITS["header_text"], f"{at}/text", ("plain_text",))
        elif kind == "section":
            if "text" not in b and "fields" not in b:
                errors.append(f"must provide text or fields [json-pointer:{at}]")
            if "text" in b:
                text(b["text"], LIMITS["section_text"], f"{at}/text")
            if "fields" in b:
                for j, f in enumerate(count(b["fields"], LIMITS["fields"], f"{at}/fields")):
                    text(f, LIMITS["field_text"], f"{at}/fields/{j}")
        elif kind == "context":
            for j, e in enumerate(count(b.get("elements"), LIMITS["context_elements"], f"{at}/elements")):
                text(e, LIMITS["text_object"], f"{at}/elements/{j}")
        elif kind == "actions":
            for j, e in enumerate(count(b.get("elements"), LIMITS["actions_elements"], f"{at}/elements")):
                if not isinstance(e, dict) or e.get("type") != "button":
                    errors.append(f"unsupported element type [json-pointer:{at}/elements/{j}]")
                    continue
                text(e.get("text"), LIMITS["button_text"], f"{at}/elements/{j}/text", ("plain_text",))
                if len(str(e.get("url", ""))) > LIMITS["url"]:
                    errors.append(
                        f"must be less than {LIMITS['url'] + 1} characters [json-pointer:{at}/elements/{j}/url]"
                    )
        else:
            errors.append(f"unsupported block type {kind!r} [json-pointer:{at}/type]")
    return errors


def _parsed_blocks(p: dict[str, Any]) -> Any:
    blocks = p.get("blocks")
    return json.loads(blocks) if isinstance(blocks, str) else blocks


@dataclass
class Fault:
    status: int = 200
    error: str | None = None
    retry_after: str | None = None
    delay: float = 0.0
    after: bool = False  # process the request first, then fail the answer
    times: int = 1


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    authorized: bool
    raw_body: bytes


@dataclass
class SlackState:
    channels: dict[str, str] = field(default_factory=dict)  # name -> id
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # channel id -> messages
    missing_channels: set[str] = field(default_factory=set)
    not_member: set[str] = field(default_factory=set)
    uploads: dict[str, bytes] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    webhook_posts: list[dict[str, Any]] = field(default_factory=list)
    scopes_missing: set[str] = field(default_factory=set)  # methods answering missing_scope


# The example configuration's channels exist in the fake workspace from the start.
DEFAULT_CHANNELS = ("#comms", "#comms-leads", "#community-care", "#data", "#community")


class FakeSlack:
    def __init__(self, channels: tuple[str, ...] = DEFAULT_CHANNELS) -> None:
        self.state = SlackState()
        for name in channels:
            self._channel_id(name)
        self.calls: list[Call] = []
        self.faults: dict[str, list[Fault]] = {}
        self._lock = threading.Lock()
        self._last_ts = 0.0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # --- control -------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T000/B000/secret"

    def start(self) -> FakeSlack:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail(self, method: str, **kwargs: Any) -> None:
        self.faults.setdefault(method, []).append(Fault(**kwargs))

    def channel_id(self, name: str) -> str:
        with self._lock:
            return self._channel_id(name)

    def _channel_id(self, name: str) -> str:
        if name.startswith("C") and name in self.state.messages:
            return name
        if name not in self.state.channels:
            cid = f"C{len(self.state.channels) + 1:08d}"
            self.state.channels[name] = cid
            self.state.messages[cid] = []
        return self.state.channels[name]

    def posts(self, channel: str | None = None) -> list[dict[str, Any]]:
        """All messages posted (top-level and replies), oldest first."""
        with self._lock:
            ids = [self.state.channels[channel]] if channel else list(self.state.messages)
            return [m for cid in ids for m in self.state.messages.get(cid, [])]

    def method_calls(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    # --- the API -------------------------------------------------------------------------------
    def _next_ts(self) -> str:
        now = max(time.time(), self._last_ts + 0.000001)
        self._last_ts = now
        return f"{now:.6f}"

    def _take_fault(self, method: str) -> Fault | None:
        with self._lock:
            queue = self.faults.get(method) or []
            if not queue:
                return None
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
            return fault

    def api(self, method: str, p: dict[str, Any], authorized: bool) -> dict[str, Any]:
        if method != "webhook" and not authorized:
            return {"ok": False, "error": "invalid_auth"}
        if method in self.state.scopes_missing:
            return {
                "ok": False,
                "error": "missing_scope",
                "needed": "channels:history",
                "provided": "chat:write",
            }
        with self._lock:
            return getattr(self, "_m_" + method.replace(".", "_"), self._unknown)(p)

    def _unknown(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"ok": False, "error": "unknown_method"}

    def _m_auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://tertulia-test.slack.com/",
            "team": "Test",
            "user": "tertulia",
            "team_id": "T000",
            "user_id": "U0BOT",
            "bot_id": "B0BOT",
        }

    def _resolve(self, name: str) -> tuple[str | None, dict[str, Any] | None]:
        if name in self.state.missing_channels:
            return None, {"ok": False, "error": "channel_not_found"}
        if name in self.state.not_member:
            return None, {"ok": False, "error": "not_in_channel"}
        if name.startswith("C") and name not in self.state.messages and name not in self.state.channels:
            return None, {"ok": False, "error": "channel_not_found"}
        return self._channel_id(name), None

    def _m_chat_postMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        cid, err = self._resolve(str(p.get("channel", "")))
        if err:
            return err
        if not p.get("text") and not p.get("blocks"):
            return {"ok": False, "error": "no_text"}
        blocks = _parsed_blocks(p)
        errors = block_errors(blocks) if blocks is not None else []
        if errors:
            return {"ok": False, "error": "invalid_blocks", "errors": errors}
        metadata = p.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        thread_ts = p.get("thread_ts") or None
        msg = {
            "ts": self._next_ts(),
            "channel": cid,
            "text": p.get("text"),
            "blocks": blocks,
            "thread_ts": thread_ts,
            "metadata": metadata,
            "reply_broadcast": str(p.get("reply_broadcast")).lower() in ("true", "1"),
        }
        if thread_ts:
            parent = next((m for m in self.state.messages[cid] if m["ts"] == thread_ts), None)
            if parent is None:
                return {"ok": False, "error": "thread_not_found"}
        self.state.messages[cid].append(msg)
        return {"ok": True, "channel": cid, "ts": msg["ts"], "message": {"text": msg["text"]}}

    def _m_chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        cid = str(p.get("channel", ""))
        if cid not in self.state.messages:
            return {"ok": False, "error": "channel_not_found"}
        msg = next((m for m in self.state.messages[cid] if m["ts"] == p.get("ts")), None)
        if msg is None:
            return {"ok": False, "error": "message_not_found"}
        blocks = _parsed_blocks(p)
        errors = block_errors(blocks) if blocks is not None else []
        if errors:
            return {"ok": False, "error": "invalid_blocks", "errors": errors}
        msg.update(text=p.get("text"), blocks=blocks, edited=True)
        return {"ok": True, "channel": cid, "ts": msg["ts"], "text": msg["text"]}

    def _history(self, msgs: list[dict[str, Any]], p: dict[str, Any]) -> dict[str, Any]:
        oldest = float(p.get("oldest") or 0)
        with_meta = str(p.get("include_all_metadata", "")).lower() in ("1", "true")
        out = []
        for m in sorted(msgs, key=lambda m: m["ts"], reverse=True):
            if float(m["ts"]) <= oldest:
                continue
            item = {"type": "message", "ts": m["ts"], "text": m["text"]}
            if m.get("thread_ts"):
                item["thread_ts"] = m["thread_ts"]
            if with_meta and m.get("metadata"):
                item["metadata"] = m["metadata"]
            out.append(item)
        return {"ok": True, "messages": out, "has_more": False, "response_metadata": {"next_cursor": ""}}

    def _m_conversations_history(self, p: dict[str, Any]) -> dict[str, Any]:
        cid = str(p.get("channel", ""))
        if cid not in self.state.messages:
            return {"ok": False, "error": "channel_not_found"}
        top = [m for m in self.state.messages[cid] if not m.get("thread_ts") or m.get("reply_broadcast")]
        return self._history(top, p)

    def _m_conversations_replies(self, p: dict[str, Any]) -> dict[str, Any]:
        cid = str(p.get("channel", ""))
        if cid not in self.state.messages:
            return {"ok": False, "error": "channel_not_found"}
        ts = p.get("ts")
        thread = [m for m in self.state.messages[cid] if m["ts"] == ts or m.get("thread_ts") == ts]
        if not thread:
            return {"ok": False, "error": "thread_not_found"}
        return self._history(thread, p)

    def _m_conversations_list(self, p: dict[str, Any]) -> dict[str, Any]:
        channels = [
            {"id": cid, "name": name.lstrip("#"), "is_archived": False}
            for name, cid in self.state.channels.items()
        ]
        return {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}}

    def _m_files_getUploadURLExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("filename") or not p.get("length"):
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{len(self.state.uploads) + len(self.state.files) + 1:08d}"
        self.state.uploads[file_id] = b""
        port = self.server.server_address[1]
        return {"ok": True, "upload_url": f"http://127.0.0.1:{port}/upload/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        files = p.get("files")
        files = json.loads(files) if isinstance(files, str) else files
        for f in files or []:
            if not self.state.uploads.get(f["id"]):
                return {"ok": False, "error": "file_not_found"}
            self.state.files.append(
                {
                    "id": f["id"],
                    "title": f.get("title"),
                    "channel_id": p.get("channel_id"),
                    "thread_ts": p.get("thread_ts"),
                    "bytes": self.state.uploads[f["id"]],
                }
            )
        return {"ok": True, "files": [{"id": f["id"]} for f in files or []]}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                return

            def _send(
                self,
                status: int,
                body: bytes,
                ctype: str = "application/json",
                headers: dict[str, str] | None = None,
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _params(self, raw: bytes) -> dict[str, Any]:
                parsed = urlparse(self.path)
                params: dict[str, Any] = {k: v[0] for k, v in parse_qs(parsed.query).items()}
                ctype = self.headers.get("Content-Type", "")
                if raw and "json" in ctype:
                    params.update(json.loads(raw.decode("utf-8")))
                elif raw and "x-www-form-urlencoded" in ctype:
                    params.update({k: v[0] for k, v in parse_qs(raw.decode("utf-8")).items()})
                return params

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                path = urlparse(self.path).path
                if path.startswith("/upload/"):
                    file_id = path.rsplit("/", 1)[-1]
                    fault = fake._take_fault("upload")
                    if fault and fault.status != 200:
                        self._send(fault.status, b"error", "text/plain")
                        return
                    with fake._lock:
                        fake.state.uploads[file_id] = raw
                    fake.calls.append(Call("upload", {"file_id": file_id}, False, raw))
                    self._send(200, b"OK - " + str(len(raw)).encode(), "text/plain")
                    return
                is_hook = path.startswith("/hooks/")
                method = "webhook" if is_hook else path.removeprefix("/api/")
                params = self._params(raw)
                auth = self.headers.get("Authorization", "")
                authorized = auth == f"Bearer {VALID_TOKEN}"
                fake.calls.append(Call(method, params, bool(auth), raw))
                fault = fake._take_fault(method)
                if fault and fault.after:
                    self._answer(method, params, authorized, is_hook)  # processed, but the answer is lost
                    return self._fault(fault, is_hook, processed=True)
                if fault:
                    return self._fault(fault, is_hook, processed=False)
                self._answer(method, params, authorized, is_hook, send=True)

            def _answer(
                self, method: str, params: dict[str, Any], authorized: bool, is_hook: bool, send: bool = False
            ) -> None:
                if is_hook:
                    blocks = _parsed_blocks(params)
                    if blocks is not None and block_errors(blocks):
                        # Incoming webhooks answer a refused payload with HTTP 400 and the code as text.
                        if send:
                            self._send(400, b"invalid_blocks", "text/plain")
                        return
                    with fake._lock:
                        fake.state.webhook_posts.append(params)
                    if send:
                        self._send(200, b"ok", "text/plain")
                    return
                result = fake.api(method, params, authorized)
                if send:
                    self._send(200, json.dumps(result).encode())

            def _fault(self, fault: Fault, is_hook: bool, processed: bool) -> None:
                if fault.delay:
                    time.sleep(fault.delay)
                headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else None
                if fault.status == 200 and fault.error:
                    body = (
                        fault.error.encode()
                        if is_hook
                        else json.dumps({"ok": False, "error": fault.error}).encode()
                    )
                    self._send(
                        200 if not is_hook else 400, body, "text/plain" if is_hook else "application/json"
                    )
                elif fault.status == 429:
                    body = (
                        b"rate_limited"
                        if is_hook
                        else json.dumps({"ok": False, "error": "ratelimited"}).encode()
                    )
                    self._send(429, body, "text/plain" if is_hook else "application/json", headers)
                elif fault.status >= 400:
                    body = (fault.error or "internal server error").encode()
                    self._send(fault.status, body, "text/plain")
                else:
                    self._send(200, json.dumps({"ok": True}).encode())

            do_POST = _handle
            do_GET = _handle

        return Handler
