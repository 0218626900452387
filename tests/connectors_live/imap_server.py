"""A real IMAP server for the e-mail connector's tests: Debian's Dovecot, started on 127.0.0.1 with its
own configuration, users and mail store in a temporary folder, stopped at the end.

`make test` installs `dovecot-imapd` when it runs as root and the package is missing (like chromium);
elsewhere the tests that need it are skipped with a note. Dovecot refuses to deliver mail as root, so the
mail store belongs to `nobody`, and the folder is world-traversable for that user.
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
MAIL_UID = 65534  # nobody


def available() -> str | None:
    """None when a Dovecot server can be started here, else why not."""
    if not Path(DOVECOT).exists():
        return "dovecot not installed (Debian package dovecot-imapd; `make test` installs it as root)"
    if os.geteuid() != 0:
        return "dovecot's test server needs root to hand the mail store to another user"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ImapServer:
    folder: Path
    port: int
    users: dict[str, str]

    @property
    def config(self) -> Path:
        return self.folder / "dovecot.conf"

    def client(self, user: str) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        conn.login(user, self.users[user])
        return conn

    def append(self, user: str, mailbox: str, raw: bytes, when: float | None = None) -> None:
        """Seed a mail through IMAP APPEND, as a mail client saving it would."""
        conn = self.client(user)
        try:
            typ, data = conn.append(mailbox, None, imaplib.Time2Internaldate(when or time.time()), raw)
            assert typ == "OK", data
        finally:
            conn.logout()

    def reset_uidvalidity(self, user: str, mailbox: str) -> None:
        """What a rebuilt mailbox looks like to a client: a new UIDVALIDITY, UIDs numbered again.
        Done by deleting Dovecot's UID list of the mailbox while the server is stopped."""
        self.stop()
        box = self.folder / "mail" / user / ("" if mailbox == "INBOX" else f".{mailbox}")
        for name in ("dovecot-uidlist", "dovecot.index", "dovecot.index.cache", "dovecot.index.log"):
            with contextlib.suppress(FileNotFoundError):
                (box / name).unlink()
        time.sleep(1.1)  # UIDVALIDITY is a timestamp: the new one must differ
        self.start()

    def start(self) -> None:
        # Dovecot forks into the background; its output goes to its log file, and pipes left open by the
        # daemon would keep run() waiting, so none are given.
        subprocess.run([DOVECOT, "-c", str(self.config)], check=True, timeout=30,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            time.sleep(0.1)
        raise RuntimeError(
            f"dovecot did not listen on {self.port}: {(self.folder / 'dovecot.log').read_text()}"
        )

    def stop(self) -> None:
        subprocess.run([DOVECOT, "-c", str(self.config), "stop"], timeout=30,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
            except OSError:
                return
            time.sleep(0.1)


def start_server(users: dict[str, str]) -> ImapServer:
    folder = Path(tempfile.mkdtemp(prefix="tertulia-imap-"))
    folder.chmod(0o755)
    for sub in ("mail", "run", "state"):
        (folder / sub).mkdir()
    os.chown(folder / "mail", MAIL_UID, MAIL_UID)
    (folder / "users").write_text("".join(f"{u}:{{PLAIN}}{p}\n" for u, p in users.items()), encoding="utf-8")
    port = _free_port()
    (folder / "dovecot.conf").write_text(
        f"""
protocols = imap
listen = 127.0.0.1
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{folder}/mail/%u
first_valid_uid = 100
default_internal_user = dovecot
default_login_user = dovenull
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/users
}}
userdb {{
  driver = static
  args = uid={MAIL_UID} gid={MAIL_UID} home={folder}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
namespace inbox {{
  inbox = yes
  mailbox Sent {{
    special_use = \\Sent
    auto = create
  }}
}}
""",
        encoding="utf-8",
    )
    server = ImapServer(folder, port, dict(users))
    server.start()
    return server


def stop_server(server: ImapServer) -> None:
    server.stop()
    shutil.rmtree(server.folder, ignore_errors=True)
