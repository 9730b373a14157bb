"""PostgreSQL servers a test starts for itself: PgBouncer, a streaming replica.

Each is a context manager that starts the server on a free port in a temporary
folder and stops it (and removes the folder) on the way out, also when the test
fails. As root (a container), the servers run as the ``postgres`` user, which
PostgreSQL and PgBouncer require.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import PG_ADMIN, free_port, strict

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def _missing(tool: str) -> None:
    message = f"{tool} is not installed (scripts/setup.sh --test installs it)"
    if strict():
        pytest.fail(message)
    pytest.skip(message)


def _as_server_user() -> list[str]:
    """The command prefix that runs a server as ``postgres`` when we are root."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _own_folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="linde-pg-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
    folder.chmod(0o700)
    return folder


def _chown(path: Path) -> None:
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(path, user.pw_uid, user.pw_gid)


def _wait_ready(conninfo: str, process: subprocess.Popen[bytes], what: str) -> None:
    """Return once ``conninfo`` answers; fail when the server exits or never answers."""
    for _ in range(400):
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            pytest.fail(f"{what} exited at start: {output}")
        try:
            with psycopg.connect(conninfo, connect_timeout=2, autocommit=True) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            time.sleep(0.05)  # polling for start-up, not a timing assumption
    pytest.fail(f"{what} did not accept connections")


@contextmanager
def pgbouncer(database_url: str, *, pool_size: int = 2) -> Iterator[str]:
    """PgBouncer in transaction mode before ``database_url``'s server; yields the URL
    of the same database through it."""
    if not Path(PGBOUNCER).exists():
        _missing("pgbouncer")
    target = make_url(database_url)
    admin = make_url(PG_ADMIN)
    user, password = admin.username or "postgres", admin.password or ""
    folder = _own_folder()
    port = free_port()
    (folder / "users.txt").write_text(f'"{user}" "{password}"\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={target.host or '127.0.0.1'} port={target.port or 5432}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\n"
        f"unix_socket_dir = {folder}\n"
        "auth_type = trust\n"
        f"auth_file = {folder / 'users.txt'}\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {pool_size}\nmin_pool_size = 0\nreserve_pool_size = 0\n"
        "max_client_conn = 200\n"
        # what psycopg and SQLAlchemy send at connect
        "ignore_startup_parameters = extra_float_digits,options,application_name\n"
    )
    for name in ("users.txt", "pgbouncer.ini"):
        _chown(folder / name)
    process = subprocess.Popen(
        [*_as_server_user(), PGBOUNCER, str(folder / "pgbouncer.ini")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    through = target.set(host="127.0.0.1", port=port)
    try:
        _wait_ready(_conninfo(through.render_as_string(hide_password=False)), process, "pgbouncer")
        yield through.render_as_string(hide_password=False)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def _conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


PG_BIN = Path("/usr/lib/postgresql/15/bin")


@dataclass
class StreamingPair:
    """A primary and its streaming replica, started for one test."""

    primary_url: str
    replica_url: str

    def pause_replay(self) -> None:
        with psycopg.connect(_conninfo(self.replica_url), autocommit=True) as conn:
            conn.execute("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        with psycopg.connect(_conninfo(self.replica_url), autocommit=True) as conn:
            conn.execute("SELECT pg_wal_replay_resume()")

    def catch_up(self) -> None:
        """Return once the replica has replayed everything the primary has written."""
        with psycopg.connect(_conninfo(self.primary_url), autocommit=True) as primary:
            row = primary.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        assert row is not None
        with psycopg.connect(_conninfo(self.replica_url), autocommit=True) as replica:
            for _ in range(1200):
                done = replica.execute(
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (row[0],)
                ).fetchone()
                if done and done[0]:
                    return
                time.sleep(0.05)  # polling for replay, not a timing assumption
        pytest.fail("the replica did not catch up with the primary")


def _server(*args: str, what: str) -> None:
    done = subprocess.run(
        [*_as_server_user(), *args], capture_output=True, text=True, check=False, timeout=300
    )
    if done.returncode != 0:
        pytest.fail(f"{what} failed: {done.stdout}{done.stderr}")


@contextmanager
def streaming_pair(dbname: str = "linde") -> Iterator[StreamingPair]:
    """A fresh primary cluster (``initdb``, trust on 127.0.0.1) holding ``dbname`` and a
    streaming replica made of it by ``pg_basebackup``, each on a free port; both
    stopped and removed at the end."""
    if not (PG_BIN / "pg_basebackup").exists():
        _missing("PostgreSQL 15 server binaries")
    folder = _own_folder()
    started: list[Path] = []
    ports = {"primary": free_port(), "replica": free_port()}
    try:
        primary = folder / "primary"
        _server(
            str(PG_BIN / "initdb"),
            "-D",
            str(primary),
            "--auth=trust",
            "-U",
            "postgres",
            "--no-sync",
            what="initdb",
        )
        for name, data in (("primary", primary), ("replica", folder / "replica")):
            if name == "replica":
                _server(
                    str(PG_BIN / "pg_basebackup"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(ports["primary"]),
                    "-U",
                    "postgres",
                    "-D",
                    str(data),
                    "-R",
                    "-X",
                    "stream",
                    "--no-sync",
                    # an immediate checkpoint: the default spread one paces itself over
                    # minutes of checkpoint_completion_target (97 s of the suite's set-up)
                    "--checkpoint=fast",
                    what="pg_basebackup",
                )
            options = f"-p {ports[name]} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
            _server(
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(folder / f"{name}.log"),
                "-w",
                "start",
                what=f"{name} start",
            )
            started.append(data)
            if name == "primary":
                admin = f"postgresql://postgres@127.0.0.1:{ports['primary']}/postgres"
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{dbname}"')
        pair = StreamingPair(
            f"postgresql://postgres@127.0.0.1:{ports['primary']}/{dbname}",
            f"postgresql://postgres@127.0.0.1:{ports['replica']}/{dbname}",
        )
        yield pair
    finally:
        for data in reversed(started):
            subprocess.run(
                [
                    *_as_server_user(),
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(data),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
                capture_output=True,
                check=False,
                timeout=120,
            )
        shutil.rmtree(folder, ignore_errors=True)
