"""The e-mail connector against a real IMAP server (Dovecot on 127.0.0.1, seeded through IMAP APPEND):
members' mails and the team's answers from Sent, threads from headers or subject, automatic mail skipped,
text without quotes and signatures, big attachments never read whole, a changed UIDVALIDITY re-read
without duplicates, and a hand-computed business-time case down to fct_sla_events."""

from __future__ import annotations

import datetime as dt
import json

import imap_server
import pytest
from live_harness import Sleeps, ingest_and_build_sla, own_warehouse, query  # noqa: F401 - autouse fixture

from connectors.runner import run_sources
from tertulia.config import parse_config

pytestmark = pytest.mark.skipif(imap_server.available() is not None, reason=str(imap_server.available()))

SUPPORT, PASSWORD = "support@cafe.test", "s3cret-imap"
NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


def mail(headers: dict[str, str], body: str, *, ctype: str = "text/plain; charset=utf-8") -> bytes:
    lines = [f"{k}: {v}" for k, v in headers.items()] + [
        f"Content-Type: {ctype}",
        "MIME-Version: 1.0",
        "",
        body,
    ]
    return "\r\n".join(lines).encode("utf-8")


@pytest.fixture(scope="module")
def server():
    srv = imap_server.start_server({SUPPORT: PASSWORD})
    yield srv
    imap_server.stop_server(srv)


@pytest.fixture
def mailbox(server, monkeypatch):
    """An empty INBOX and Sent for each test."""
    conn = server.client(SUPPORT)
    for box in ("INBOX", "Sent"):
        _, (count,) = conn.select(box)
        if int(count):
            conn.store("1:*", "+FLAGS", "\\Deleted")
            conn.expunge()
    conn.logout()
    monkeypatch.setenv("TEST_IMAP_PASSWORD", PASSWORD)
    return server


def config_in(tmp_path, server, **source):
    return parse_config(
        {
            "community": {"name": "Test", "timezone": "America/Guayaquil"},
            "accounts": [{"platform": "email", "account_id": "support"}],
            "business_hours": {"weekly": {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}},
            "warehouse": {"path": str(tmp_path / "warehouse.duckdb"), "publish_dir": str(tmp_path / "pub")},
            "sources": {
                "mail": {
                    "platform": "email",
                    "host": "127.0.0.1",
                    "port": server.port,
                    "ssl": False,
                    "username": SUPPORT,
                    "password_env": "TEST_IMAP_PASSWORD",
                    "team_addresses": ["luis@cafe.test"],
                    "start_date": "2026-11-01",
                    **source,
                }
            },
        },
        source=tmp_path / "community.yml",
        base_dir=tmp_path,
    )


def seed_conversation(server) -> None:
    server.append(
        SUPPORT,
        "INBOX",
        mail(
            {
                "From": "María Pérez <maria@example.com>",
                "To": SUPPORT,
                "Subject": "Pedido 123 no llegó",
                "Date": "Fri, 20 Nov 2026 17:30:00 -0500",
                "Message-ID": "<m1@example.com>",
            },
            "Hola, mi pedido 123 no llegó.\r\n\r\n-- \r\nMaría\r\nTel 099 000 000",
        ),
    )
    server.append(
        SUPPORT,
        "Sent",
        mail(
            {
                "From": SUPPORT,
                "To": "maria@example.com",
                "Subject": "Re: Pedido 123 no llegó",
                "Date": "Mon, 23 Nov 2026 09:45:00 -0500",
                "Message-ID": "<s1@cafe.test>",
                "In-Reply-To": "<m1@example.com>",
                "References": "<m1@example.com>",
            },
            "Lo sentimos, sale hoy.\r\n\r\nEl vie, 20 nov 2026 a las 17:30, María escribió:\r\n> Hola, mi pedido 123",
        ),
    )
    server.append(
        SUPPORT,
        "INBOX",
        mail(
            {
                "From": "María Pérez <maria@example.com>",
                "To": SUPPORT,
                "Subject": "Re: Pedido 123 no llegó",
                "Date": "Mon, 23 Nov 2026 10:00:00 -0500",
                "Message-ID": "<m2@example.com>",
                "In-Reply-To": "<s1@cafe.test>",
                "References": "<m1@example.com> <s1@cafe.test>",
            },
            "¡Gracias!\r\n\r\nOn Mon, 23 Nov 2026 at 09:45, Soporte wrote:\r\n> Lo sentimos",
        ),
    )
    server.append(
        SUPPORT,
        "INBOX",
        mail(
            {
                "From": "Jorge <jorge@example.com>",
                "To": SUPPORT,
                "Subject": "Fuera de la oficina",
                "Auto-Submitted": "auto-replied",
                "Date": "Mon, 23 Nov 2026 10:05:00 -0500",
                "Message-ID": "<ooo@example.com>",
            },
            "Estoy de vacaciones",
        ),
    )
    server.append(
        SUPPORT,
        "INBOX",
        mail(
            {
                "From": "MAILER-DAEMON@example.com",
                "To": SUPPORT,
                "Subject": "Undelivered Mail",
                "Date": "Mon, 23 Nov 2026 10:06:00 -0500",
                "Message-ID": "<bounce@example.com>",
            },
            "--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--b--",
            ctype='multipart/report; boundary="b"',
        ),
    )
    server.append(
        SUPPORT,
        "INBOX",
        mail(
            {
                "From": "Jorge <jorge@example.com>",
                "To": SUPPORT,
                "Subject": "=?utf-8?q?Caf=C3=A9_fr=C3=ADo?=",
                "Date": "Mon, 23 Nov 2026 11:00:00 -0500",
                "Message-ID": "<j1@example.com>",
            },
            "<style>p{color:red}</style><p>El caf&eacute; lleg&oacute; <b>fr&iacute;o</b></p>",
            ctype="text/html; charset=x-unknown-charset",
        ),
    )
    server.append(
        SUPPORT,
        "INBOX",
        mail(
            {
                "From": "Luis <luis@cafe.test>",
                "To": "jorge@example.com",
                "Cc": SUPPORT,
                "Subject": "Re: Café frío",
                "Date": "Mon, 23 Nov 2026 11:20:00 -0500",
                "Message-ID": "<l1@cafe.test>",
                "In-Reply-To": "<j1@example.com>",
            },
            "Te enviamos otro hoy.",
        ),
    )


def _rows(config):
    return query(
        config,
        "select comment_id, parent_id, thread_id, author_id, author_name, channel, message "
        "from raw.comments where platform = 'email' order by created_at, comment_id",
    )


def test_members_and_team_land_with_threads_and_clean_text(mailbox, tmp_path):
    seed_conversation(mailbox)
    config = config_in(tmp_path, mailbox)
    report = run_sources(config, now=NOW, sleep=Sleeps())["mail"]
    assert report.status == "ok", report.message
    assert _rows(config) == [
        ("m1@example.com", None, "m1@example.com", "maria@example.com", "María Pérez", "email",
         "Pedido 123 no llegó\n\nHola, mi pedido 123 no llegó."),  # the signature is gone
        ("s1@cafe.test", "m1@example.com", "m1@example.com", "support", SUPPORT, "email",
         "Lo sentimos, sale hoy."),  # from Sent: the brand; the quoted history is gone
        ("m2@example.com", "s1@cafe.test", "m1@example.com", "maria@example.com", "María Pérez", "email",
         "¡Gracias!"),
        ("j1@example.com", None, "j1@example.com", "jorge@example.com", "Jorge", "email",
         "Café frío\n\nEl café llegó frío"),  # HTML read as text; an unknown charset does not stop it
        ("l1@cafe.test", "j1@example.com", "j1@example.com", "support", "Luis", "email",
         "Te enviamos otro hoy."),  # a team address in the inbox is the brand answering
    ]  # fmt: skip
    assert any("2 automatic mail(s) skipped" in n for n in report.notes)  # out-of-office and bounce
    again = run_sources(config, now=NOW, sleep=Sleeps())["mail"]
    assert again.status == "ok" and len(_rows(config)) == 5


def test_subject_fallback_missing_message_id_and_a_big_attachment(mailbox, tmp_path):
    mailbox.append(
        SUPPORT,
        "INBOX",
        mail(
            {
                "From": "ana@example.com",
                "Subject": "Consulta horario",
                "Date": "Tue, 24 Nov 2026 09:00:00 -0500",
                "Message-ID": "<a1@example.com>",
            },
            "¿Abren el domingo?",
        ),
    )
    mailbox.append(SUPPORT, "INBOX", mail(
        {"From": "ana@example.com", "Subject": "RE: Consulta horario", "Date": "Tue, 24 Nov 2026 09:30:00 -0500"},
        "¿Hola?"))  # fmt: skip
    big = "A" * 2_000_000
    mailbox.append(SUPPORT, "INBOX", mail(
        {"From": "pablo@example.com", "Subject": "Foto del pedido", "Date": "Tue, 24 Nov 2026 10:00:00 -0500",
         "Message-ID": "<p1@example.com>"},
        f"--x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAdjunto la foto\r\n--x\r\n"
        f"Content-Type: image/jpeg\r\nContent-Disposition: attachment; filename=foto.jpg\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{big}\r\n--x--", ctype='multipart/mixed; boundary="x"'))  # fmt: skip
    config = config_in(tmp_path, mailbox, max_message_bytes=100_000)
    assert run_sources(config, now=NOW, sleep=Sleeps())["mail"].status == "ok"
    rows = _rows(config)
    assert rows[0][:3] == ("a1@example.com", None, "a1@example.com")
    no_id, _, thread, *_ = rows[1]
    assert no_id.startswith("no-message-id-") and thread == "a1@example.com"  # matched by its subject
    assert rows[2][0] == "p1@example.com"
    assert rows[2][6] == "Foto del pedido\n\nAdjunto la foto\n[message cut at max_message_bytes]"
    (extra,) = query(config, "select _extra from raw.comments where comment_id = 'p1@example.com'")[0]
    assert json.loads(extra)["attachments"] == "1"


def test_a_changed_uidvalidity_is_read_again_without_duplicates(mailbox, tmp_path):
    seed_conversation(mailbox)
    config = config_in(tmp_path, mailbox)
    run_sources(config, now=NOW, sleep=Sleeps())
    before = _rows(config)
    mailbox.reset_uidvalidity(SUPPORT, "INBOX")
    report = run_sources(config, now=NOW, sleep=Sleeps())["mail"]
    assert report.status == "ok", report.message
    assert any("UIDVALIDITY changed" in n for n in report.notes)
    assert _rows(config) == before


def test_a_wrong_password_stops_with_what_to_do(mailbox, tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_IMAP_PASSWORD", "wrong-password")
    config = config_in(tmp_path, mailbox)
    report = run_sources(config, now=NOW, sleep=Sleeps())["mail"]
    assert report.status == "failed"
    assert "refused the login" in report.message and "wrong-password" not in report.message


@pytest.mark.integration
def test_friday_evening_mail_answered_monday_morning_in_business_minutes(mailbox, tmp_path):

    seed_conversation(mailbox)
    config = config_in(tmp_path, mailbox)
    ingest_and_build_sla(config, "mail", NOW)
    got = query(
        config,
        "select item_comment_id, first_response_comment_id, calendar_minutes_to_respond, business_minutes_to_respond "
        "from marts.fct_sla_events where platform = 'email' order by arrived_at",
    )
    # Fri 17:30 -> Mon 09:45 (Guayaquil), open 09:00-18:00 Mon-Fri: 30 min on Friday + 45 on Monday;
    # calendar: 2 days 16 h 15 min. María's thanks after the answer waits; Jorge's mail was answered by
    # Luis 20 minutes later.
    assert got == [
        ("m1@example.com", "s1@cafe.test", 3855, 75),
        ("m2@example.com", None, None, None),
        ("j1@example.com", "l1@cafe.test", 20, 20),
    ]
