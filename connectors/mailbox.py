"""E-mail: a support mailbox over IMAP, the members' mails from the inbox and the team's from Sent.

Auth: `username:` and a password (`password_env` or `password_secret_block`) on `host:` (`port:` 993
with TLS; `ssl: false` and port 143 only for a server on the same machine). `mailbox:` (default INBOX)
holds the members' mail, `sent_mailbox:` (default Sent) the team's answers; a mail from one of
`team_addresses:` in the inbox is the brand answering too (a colleague answering from their own
address, copied to the support box).

Incremental by UID: each mailbox's cursor is its UIDVALIDITY and the last UID landed. When the server
changes UIDVALIDITY (a rebuilt mailbox), the UIDs mean nothing any more: the mailbox is read again from
the start of the window, and since a mail's key is its Message-ID nothing lands twice.

Threads: `References` (its first id is the conversation's first mail), else `In-Reply-To` (the
conversation of the mail it answers, when known), else, for a subject starting with Re:/RE:/Fwd:/RV:, the
last conversation with the same subject; anything else starts a conversation. The text is the plain
part (or the HTML part without its tags), without the quoted history and the signature, so sentiment
and terms read what the person wrote. Attachments are counted (`attachments` lands in `_extra`), never
stored; a mail larger than `max_message_bytes` (default 1 MB) is read up to that size, so a 20 MB
attachment never travels.

Not conversation, and skipped: auto-replies (`Auto-Submitted` other than `no`, `X-Autoreply`, out-of-office
subjects), bounces (`multipart/report`, MAILER-DAEMON, postmaster), bulk and list mail (`Precedence:
bulk/junk/list`, `List-Id`, `List-Unsubscribe`).
"""

from __future__ import annotations

import datetime as dt
import email
import email.errors
import email.header
import email.utils
import hashlib
import html
import imaplib
import re
import ssl
from collections.abc import Callable, Iterator
from email.message import Message
from typing import Any

from connectors.base import Page, SourceError
from connectors.live import LiveConnector, as_utc
from connectors.live import comment as make_comment

DEFAULT_MAX_BYTES = 1_000_000
BATCH = 50
REMEMBERED = 2000  # message-id -> conversation and subject -> conversation, kept in the cursor
_TAGS = re.compile(r"<[^>]+>")
_SCRIPT = re.compile(r"<(script|style)[^>]*>.*?</\1>", re.S | re.I)
_REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|rv|aw|sv|tr)\s*(\[\d+\])?\s*:\s*)+", re.I)
_AUTO_SUBJECT = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto(matic)?[- ]?reply|respuesta autom[aá]tica|fuera de la oficina|"
    r"ausente|abwesenheit)",
    re.I,
)
# Where a reply's quoted history starts: "On Mon, ... wrote:", "El lun, ... escribió:", Outlook's
# "-----Original Message-----" / "De: ... Enviado:", and a line of only ">" quotes.
_QUOTE_START = re.compile(
    r"^(on .{4,200} wrote:|el .{4,200} escribi[oó]:|-{2,}\s*(original message|mensaje original)\s*-{2,}|"
    r"(from|de):\s.+)$",
    re.I,
)
_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')


class ImapSession:
    """The connection and what the runner reads of a connector's client (stop reason, requests, waits,
    secrets to mask, close)."""

    def __init__(self, source: str, host: str, port: int, use_ssl: bool, timeout: float = 30.0) -> None:
        self.source, self.host, self.port, self.use_ssl, self.timeout = source, host, port, use_ssl, timeout
        self.stop_reason: str | None = None
        self.requests_made = 0
        self.waits: list[float] = []
        self.secrets: tuple[str, ...] = ()
        self._conn: imaplib.IMAP4 | None = None

    def add_secret(self, value: str) -> None:
        self.secrets = (*self.secrets, value)

    def open(self, username: str, password: str) -> imaplib.IMAP4:
        if self._conn is not None:
            return self._conn
        try:
            if self.use_ssl:
                conn = imaplib.IMAP4_SSL(self.host, self.port, ssl_context=ssl.create_default_context(),
                                         timeout=self.timeout)  # fmt: skip
            else:
                conn = imaplib.IMAP4(self.host, self.port, timeout=self.timeout)
        except (TimeoutError, OSError, imaplib.IMAP4.error) as exc:
            raise SourceError(
                f"source {self.source}: cannot reach the mail server {self.host}:{self.port} ({exc}); the next run "
                "tries again. Check host, port and ssl.",
                retryable=True,
            ) from None
        try:
            conn.login(username, password)
        except imaplib.IMAP4.error as exc:
            raise SourceError(
                f"source {self.source}: the mail server refused the login of {username} ({exc}). Check the "
                "password in the variable password_env names (an app password if the provider asks for one)."
            ) from None
        self._conn = conn
        return conn

    def call(self, method: str, *args: Any) -> tuple[str, list[Any]]:
        assert self._conn is not None
        self.requests_made += 1
        try:
            typ, data = getattr(self._conn, method)(*args)
        except (OSError, imaplib.IMAP4.abort) as exc:
            raise SourceError(
                f"source {self.source}: the mail server closed the connection ({exc}); the next run resumes from "
                "the last mail landed.",
                retryable=True,
            ) from None
        if typ != "OK":
            raise SourceError(f"source {self.source}: IMAP {method} {args[:1]} answered {typ}: {data!r}")
        return typ, data

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.logout()
            except (OSError, imaplib.IMAP4.error):
                pass
            self._conn = None


def _raw_8bit(text: str) -> str:
    """Header bytes sent unencoded (RFC 6532 UTF-8, or an old client's Latin-1) reach Python as
    surrogate escapes: read them as UTF-8, else Latin-1."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    raw = text.encode("utf-8", errors="surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _decode(value: Any) -> str:
    """A header as text: encoded words decoded, unknown charsets replaced, never an exception."""
    if value is None:
        return ""
    try:
        parts = email.header.decode_header(
            value if isinstance(value, email.header.Header) else _raw_8bit(str(value))
        )
    except (LookupError, UnicodeError, ValueError, email.errors.HeaderParseError):
        return _raw_8bit(str(value))
    out = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        for encoding in (charset if charset and charset != "unknown-8bit" else "utf-8", "utf-8", "latin-1"):
            try:
                out.append(chunk.decode(encoding))
                break
            except (LookupError, UnicodeDecodeError):
                continue
    # decode_header splits encoded words from plain text without the space between them
    return "".join(out) if len(parts) == 1 else " ".join(o.strip() for o in out if o.strip())


def _payload_text(part: Message) -> str:
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return raw.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know: read it as UTF-8, replacing what is not
        return raw.decode("utf-8", errors="replace")


def body_text(msg: Message) -> tuple[str, int]:
    """(what the sender wrote, number of attachments): the plain part, else the HTML part as text."""
    plain, rich, attachments = None, None, 0
    for part in msg.walk() if msg.is_multipart() else [msg]:
        if part.is_multipart():
            continue
        disposition = (part.get("Content-Disposition") or "").lower()
        ctype = part.get_content_type()
        if "attachment" in disposition or (part.get_filename() and ctype not in ("text/plain", "text/html")):
            attachments += 1
        elif ctype == "text/plain" and plain is None:
            plain = _payload_text(part)
        elif ctype == "text/html" and rich is None:
            rich = _payload_text(part)
    if plain is None and rich is not None:
        text = _SCRIPT.sub("", rich)
        text = re.sub(r"<br\s*/?>|</p>|</div>", "\n", text, flags=re.I)
        plain = html.unescape(_TAGS.sub("", text))
    return strip_quoted(plain or ""), attachments


def strip_quoted(text: str) -> str:
    """The new part of a reply: up to the quoted history or the signature ("-- " line)."""
    kept: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        stripped = line.strip()
        if line.rstrip("\n") in ("-- ", "--") or _QUOTE_START.match(stripped):
            break
        if stripped.startswith(">"):
            continue
        kept.append(line.rstrip())
    return "\n".join(kept).strip()


def is_automatic(msg: Message, sender: str) -> bool:
    """Auto-replies, bounces, bulk and list mail: neither a member writing nor the team answering."""
    auto = (msg.get("Auto-Submitted") or "no").strip().lower()
    precedence = (msg.get("Precedence") or "").strip().lower()
    local = sender.split("@")[0].lower()
    return (
        auto != "no"
        or bool(msg.get("X-Autoreply") or msg.get("X-Autorespond"))
        or precedence in ("bulk", "junk", "list", "auto_reply")
        or bool(msg.get("List-Id") or msg.get("List-Unsubscribe"))
        or msg.get_content_type() == "multipart/report"
        or local in ("mailer-daemon", "postmaster")
        or bool(_AUTO_SUBJECT.match(_decode(msg.get("Subject"))))
    )


def _ids(value: Any) -> list[str]:
    return [i.strip("<>").strip() for i in re.findall(r"<[^<>\s]+>", _decode(value))]


class EmailConnector(LiveConnector):
    platform = "email"
    default_base_url = ""
    settings = ("host", "port", "ssl", "username", "mailbox", "sent_mailbox", "team_addresses",
                "max_message_bytes")  # fmt: skip
    credentials = ("password",)
    automatic = 0  # auto-replies, bounces and list mail skipped this run (said in the run's notes)

    def make_client(self) -> ImapSession:  # type: ignore[override]
        use_ssl = bool(self.opt("ssl", True))
        return ImapSession(
            self.name,
            self.require("host", "the IMAP server's name, e.g. imap.example.org"),
            int(self.opt("port", 993 if use_ssl else 143)),
            use_ssl,
        )

    @property
    def team_addresses(self) -> set[str]:
        return {str(a).strip().lower() for a in (self.opt("team_addresses") or [])}

    def streams(self) -> list[tuple[str, Callable[[], Iterator[Page]]]]:
        inbox = str(self.opt("mailbox", "INBOX"))
        sent = str(self.opt("sent_mailbox", "Sent"))
        return [("inbox", lambda: self._mailbox("inbox", inbox, sent=False)),
                ("sent", lambda: self._mailbox("sent", sent, sent=True))]  # fmt: skip

    def _connection(self) -> imaplib.IMAP4:
        username = self.require("username", "the mailbox's login, e.g. support@example.org")
        return self.client.open(username, self.secret("password"))

    def _mailbox(self, key: str, mailbox: str, *, sent: bool) -> Iterator[Page]:
        conn = self._connection()
        st = self.stream(key)
        _, data = self.client.call("select", _quote(mailbox), True)
        validity = (conn.response("UIDVALIDITY")[1] or [b""])[0]
        validity = validity.decode() if isinstance(validity, bytes) else str(validity or "")
        if st.get("uidvalidity") != validity:
            if st.get("uidvalidity"):
                self.notes.append(
                    f"{mailbox}: UIDVALIDITY changed ({st['uidvalidity']} -> {validity}); read again from the "
                    "start of the window, without duplicates"
                )
            st.clear()
            st["uidvalidity"] = validity
        last = int(st.get("last_uid") or 0)
        if last:
            _, found = self.client.call("uid", "SEARCH", None, f"UID {last + 1}:*")
        else:
            since = self.since or as_utc(self.initial_start())
            _, found = self.client.call("uid", "SEARCH", None, f"SINCE {since:%d-%b-%Y}")
        uids = sorted(int(u) for u in (found[0] or b"").split() if int(u) > last)
        max_bytes = int(self.opt("max_message_bytes", DEFAULT_MAX_BYTES))
        roots: dict[str, str] = dict(self.state.get("roots") or {})
        subjects: dict[str, str] = dict(self.state.get("subjects") or {})
        for start in range(0, len(uids), BATCH):
            batch = uids[start : start + BATCH]
            rows = []
            for uid in batch:
                _, meta = self.client.call("uid", "FETCH", str(uid), "(UID RFC822.SIZE INTERNALDATE)")
                header = b" ".join(m if isinstance(m, bytes) else m[0] for m in meta if m)
                size_match, date_match = _SIZE.search(header), _INTERNALDATE.search(header)
                _, body = self.client.call("uid", "FETCH", str(uid), f"(BODY.PEEK[]<0.{max_bytes}>)")
                raw = next((m[1] for m in body if isinstance(m, tuple) and len(m) > 1), b"")
                received = _internaldate(date_match.group(1)) if date_match else self.now
                row = self._row(raw, received, sent=sent, truncated=bool(size_match and int(size_match.group(1)) > max_bytes),
                                roots=roots, subjects=subjects)  # fmt: skip
                if row is not None:
                    rows.append(row)
            st["last_uid"] = batch[-1]
            self.state["roots"] = dict(list(roots.items())[-REMEMBERED:])
            self.state["subjects"] = dict(list(subjects.items())[-REMEMBERED:])
            if self.automatic:
                self.notes.append(f"{mailbox}: {self.automatic} automatic mail(s) skipped (auto-replies, bounces, "
                                  "list mail)")  # fmt: skip
                self.automatic = 0
            yield self.page({"comments": rows})
        if not uids:
            yield self.page({})

    def _row(self, raw: bytes, received: dt.datetime, *, sent: bool, truncated: bool,
             roots: dict[str, str], subjects: dict[str, str]) -> dict[str, Any] | None:  # fmt: skip
        msg = email.message_from_bytes(raw)
        name, address = email.utils.parseaddr(_decode(msg.get("From")))
        address = address.lower()
        if is_automatic(msg, address):
            self.automatic += 1
            return None
        mid = (_ids(msg.get("Message-ID")) or [None])[0]
        if mid is None:  # no Message-ID: a stable id from what identifies the mail
            digest = hashlib.sha256(raw[:4096]).hexdigest()[:24]
            mid = f"no-message-id-{digest}"
        references = _ids(msg.get("References"))
        in_reply_to = (_ids(msg.get("In-Reply-To")) or [None])[0]
        parent = in_reply_to or (references[-1] if references else None)
        subject = _decode(msg.get("Subject"))
        topic = _REPLY_PREFIX.sub("", subject).strip().lower()
        if references:
            thread = roots.get(references[0], references[0])
        elif parent:
            thread = roots.get(parent, parent)
        elif _REPLY_PREFIX.match(subject) and topic in subjects:
            thread = subjects[topic]  # a reply whose client dropped the headers: matched by subject
            parent = thread
        else:
            thread = mid
        roots[mid] = thread
        if topic and thread == mid:
            subjects[topic] = mid
        try:
            created = email.utils.parsedate_to_datetime(msg.get("Date")) if msg.get("Date") else received
            created = as_utc(created)
        except (TypeError, ValueError, IndexError):
            created = received
        text, attachments = body_text(msg)
        if truncated:
            text += "\n[message cut at max_message_bytes]"
        brand = sent or address in self.team_addresses
        row = make_comment(
            "email",
            comment_id=mid,
            post_id=None,
            parent_id=parent,
            thread_id=thread,
            author_id=self.account_id if brand else address,
            author_name=name or address,
            created_at=created,
            updated_at=created,
            message=(f"{subject}\n\n{text}" if subject and not parent else text),
            channel="email",
        )
        row["attachments"] = str(attachments)
        return row


def _internaldate(value: bytes) -> dt.datetime:
    """IMAP's INTERNALDATE ("27-Nov-2026 13:02:00 -0500"): when the server received the mail."""
    return dt.datetime.strptime(value.decode(), "%d-%b-%Y %H:%M:%S %z").astimezone(dt.UTC)


def _quote(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'
