"""A real PostgreSQL server for tests: initdb into a temporary directory, pg_ctl on a free loopback port,
run as the unprivileged `postgres` user when the tests run as root (PostgreSQL refuses root). Tests that
need it skip only when no PostgreSQL binaries are installed."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def pg_bindir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    return Path(dirs[-1]) if dirs and Path(dirs[-1], "initdb").exists() else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yields `postgresql://...` of a fresh server; stops it and deletes its files afterwards."""
    bindir = pg_bindir()
    if bindir is None:
        raise FileNotFoundError("no PostgreSQL binaries (initdb) on this machine")
    root = Path(tempfile.mkdtemp(prefix="clipcite-pg-"))
    data, port = root / "data", _free_port()
    prefix: list[str] = []
    user = pwd.getpwuid(os.getuid()).pw_name
    if os.geteuid() == 0:
        user = "postgres"
        shutil.chown(root, user)
        prefix = ["runuser", "-u", user, "--"]
    env = {**os.environ, "LC_ALL": "C.UTF-8"}

    def run(*cmd: str) -> None:
        subprocess.run([*prefix, *cmd], check=True, capture_output=True, env=env, cwd=root)

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", user, "-E", "UTF8")
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-o",
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start")
        try:
            yield fresh_database(f"postgresql://{user}@127.0.0.1:{port}/postgres", "clipcite")
        finally:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def fresh_database(url: str, name: str) -> str:
    """A new empty database on the same server (each test gets its own)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name
