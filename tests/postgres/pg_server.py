"""A real PostgreSQL server for the tests: Debian's PostgreSQL 15 binaries, a throwaway cluster in a
temporary folder on 127.0.0.1 and a free port, stopped and removed at the end.

`make test` installs the `postgresql` package when it runs as root and the binaries are missing (like
chromium and dovecot-imapd); elsewhere the tests that need it are skipped with a note. `initdb` refuses
to run as root, so as root the cluster belongs to the `postgres` user (the package creates it) and is
run through `runuser`; the folder is made that user's.

The cluster asks for a password over TCP (scram-sha-256), so a client that reads its credentials from
the environment, as the dbt profile does, is really exercised.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tertulia.serve import free_port

# Debian's layout; the version the tests are written against first, then any other installed one.
PG_ROOT = Path("/usr/lib/postgresql")
PREFERRED_VERSION = "15"
SERVICE_USER = "postgres"


def bin_dir() -> Path | None:
    """The folder holding initdb and pg_ctl, PostgreSQL 15 first; None when none is installed."""
    candidates = [PG_ROOT / PREFERRED_VERSION / "bin"]
    if PG_ROOT.is_dir():
        others = sorted((p for p in PG_ROOT.iterdir() if p.name.isdigit()), key=lambda p: -int(p.name))
        candidates += [p / "bin" for p in others]
    return next((c for c in candidates if (c / "initdb").exists() and (c / "pg_ctl").exists()), None)


def available() -> str | None:
    """None when a PostgreSQL cluster can be started here, else why not."""
    if bin_dir() is None:
        return (
            f"PostgreSQL not installed (no {PG_ROOT}/<version>/bin/initdb; Debian package postgresql; "
            "`make test` installs it as root)"
        )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVICE_USER)
        except KeyError:
            return f"running as root and there is no {SERVICE_USER!r} user for initdb (it refuses root)"
        if shutil.which("runuser") is None:
            return "running as root and runuser (util-linux) is missing: initdb refuses root"
    return None


@dataclass
class PostgresServer:
    folder: Path
    port: int
    user: str
    password: str
    database: str = "postgres"
    host: str = "127.0.0.1"

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    def env(self, database: str | None = None, user: str | None = None) -> dict[str, str]:
        """libpq's variables for this server: what the dbt profile's `postgres` target and psycopg2 read.
        Every role of the cluster has the server's password."""
        return {
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGUSER": user or self.user,
            "PGPASSWORD": self.password,
            "PGDATABASE": database or self.database,
        }

    def url(self, database: str | None = None, user: str | None = None) -> str:
        """A postgresql:// URL without the password (as community.yml may hold it; PGPASSWORD has it)."""
        return f"postgresql://{user or self.user}@{self.host}:{self.port}/{database or self.database}"

    def connect(self, database: str | None = None, user: str | None = None):
        import psycopg2

        return psycopg2.connect(
            host=self.host,
            port=self.port,
            user=user or self.user,
            password=self.password,
            dbname=database or self.database,
        )

    def create_database(self, name: str, owner: str | None = None) -> None:
        """A fresh database (dropped first if a previous run left one). With `owner`: owned by that
        login role, created without superuser rights (a database owner may create schemas in it, which
        is all dbt needs), so what passes here does not depend on being superuser."""
        con = self.connect()
        try:
            con.autocommit = True  # CREATE DATABASE cannot run inside a transaction
            with con.cursor() as cur:
                cur.execute(f'drop database if exists "{name}"')
                if owner:
                    cur.execute("select 1 from pg_roles where rolname = %s", [owner])
                    if cur.fetchone() is None:
                        cur.execute(
                            f'create role "{owner}" login nosuperuser nocreatedb nocreaterole password %s',
                            [self.password],
                        )
                    cur.execute(f'create database "{name}" owner "{owner}"')
                else:
                    cur.execute(f'create database "{name}"')
        finally:
            con.close()

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", SERVICE_USER, "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(args[:2])} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}"
                f"\n{log}"
            )
        return done

    def start(self) -> None:
        bins = bin_dir()
        assert bins is not None, available()
        pwfile = self.folder / "pwfile"
        pwfile.write_text(self.password + "\n")
        self._own(pwfile)
        self._run(
            str(bins / "initdb"),
            "-D",
            str(self.data),
            "-U",
            self.user,
            "--pwfile",
            str(pwfile),
            "--auth-host=scram-sha-256",
            "--auth-local=peer",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        )
        pwfile.unlink()
        # fsync off: a throwaway cluster, nothing to keep after a crash; it saves seconds per build.
        options = f"-h {self.host} -p {self.port} -k {self.folder} -c fsync=off -c synchronous_commit=off"
        self._run(
            str(bins / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start"
        )

    def cpu_seconds(self) -> float:
        """CPU seconds (user + system) the server has used so far: the postmaster, the children it has
        reaped (each connection's backend exits with its client) and the children alive now (checkpointer,
        autovacuum, open backends). The difference over a step is the server's share of its work, which
        the client's own CPU time leaves out. Linux only (/proc)."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        tick = os.sysconf("SC_CLK_TCK")

        def own_and_reaped(stat: str) -> tuple[int, int]:
            # Fields after the command (which may hold spaces, hence the last ')'): ppid is the 2nd,
            # utime, stime, cutime, cstime the 12th to 15th.
            f = stat[stat.rindex(")") + 2 :].split()
            return int(f[1]), sum(int(x) for x in f[11:15])

        total = own_and_reaped(Path(f"/proc/{pid}/stat").read_text())[1]
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                ppid, ticks = own_and_reaped((proc / "stat").read_text())
            except (OSError, ValueError):
                continue  # exited between the listing and the read: the postmaster's cutime has it
            if ppid == pid:
                total += ticks
        return total / tick

    def stop(self) -> None:
        bins = bin_dir()
        if bins is not None and (self.data / "postmaster.pid").exists():
            self._run(str(bins / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def _own(self, path: Path) -> None:
        if os.geteuid() == 0:
            entry = pwd.getpwnam(SERVICE_USER)
            os.chown(path, entry.pw_uid, entry.pw_gid)


def start_server() -> PostgresServer:
    """A started cluster; call `stop_server` when done."""
    # As root, under /tmp whatever TMPDIR says: the postgres user must be able to reach the folder.
    folder = Path(tempfile.mkdtemp(prefix="tertulia-pg-", dir="/tmp" if os.geteuid() == 0 else None))
    server = PostgresServer(
        folder=folder, port=free_port(preferred=0), user="tertulia", password=secrets.token_hex(12)
    )
    # The cluster's own user must own its folder (initdb creates data/ inside it, the server writes its
    # socket and log there); mkdtemp made it 0700 for root.
    server._own(folder)
    try:
        server.start()
    except BaseException:
        stop_server(server)
        raise
    return server


def stop_server(server: PostgresServer) -> None:
    try:
        server.stop()
    finally:
        shutil.rmtree(server.folder, ignore_errors=True)
