"""The catalog's database, through SQLAlchemy 2: an SQLite file (WAL mode) under the data dir by default,
or one PostgreSQL (psycopg 3) shared by every API replica and ingest worker (`CLIPCITE_DATABASE_URL`).

Why SQLAlchemy rather than sqlite3: the same statements run on both engines. The schema is declared once
(`METADATA`, BIGINT millisecond times, TEXT JSON) and created or extended at start-up; statements are
plain SQL text with `?` placeholders, bound by SQLAlchemy per dialect; the few non-portable ones (upsert,
row locks) are built with SQLAlchemy's constructs (`upsert`, `claim_one` in `engine.catalog.jobs`).

Within one process statements are serialised by a lock (as before: SQLite has one writer anyway), so a
`transaction()` sees no interleaving from the process's other threads; across processes the database's
own locking applies (SQLite `BEGIN IMMEDIATE`, PostgreSQL row locks).
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

METADATA = MetaData()


def _table(name: str, *cols: Any) -> Table:
    return Table(name, METADATA, *cols)


def _text(name: str, nullable: bool = True, **kw: Any) -> Column:
    return Column(name, Text, nullable=nullable, **kw)


def _ms(name: str, nullable: bool = False) -> Column:
    return Column(name, BigInteger, nullable=nullable)


FILES = _table(
    "files", _text("id", primary_key=True), _text("filename", False), _text("path", False),
    Column("bytes", BigInteger, nullable=False), _text("sha256", False), _ms("created_at"),
    _text("metadata", False, server_default="{}"), _text("video_info"), _text("status", False), _text("error"),
    Index("files_sha", "sha256"))
_table("collections", _text("id", primary_key=True), _text("name", False), _text("description"),
       _text("collection_type", False), _text("default_segmentation_config"), _ms("created_at"))
_table("collection_files", _text("collection_id", False), _text("file_id", False), _ms("added_at"),
       _text("status", False), _text("segmentation_id", False), _text("segmentation_config", False),
       _text("metadata", False, server_default="{}"), _text("error"),
       Column("segment_count", Integer, nullable=False, server_default="0"), _ms("updated_at"),
       PrimaryKeyConstraint("collection_id", "file_id"))
# The ingest queue. A claimed job carries a lease (owner, expiry) that its worker's heartbeat extends; a
# job whose lease ran out (its worker died) is claimable again. `stage`/`progress`: where it is, for any
# replica's status pages.
_table("jobs", _text("id", primary_key=True), _text("collection_id", False), _text("file_id", False),
       _text("state", False), Column("attempts", Integer, nullable=False, server_default="0"), _text("error"),
       _ms("created_at"), _ms("updated_at"), _text("lease_owner"), _ms("lease_until", True), _text("stage"),
       Column("progress", Float), Index("jobs_state", "state", "created_at"))
_table("analyses", _text("file_id", False), _text("options_key", False), _text("data", False), _ms("created_at"),
       PrimaryKeyConstraint("file_id", "options_key"))
for _name in ("completions", "searches", "summaries"):
    _table(_name, _text("id", primary_key=True), _ms("created_at"), _text("data", False))
# `owner`: the process running a background response or deep search (only it can finish one).
_table("responses", _text("id", primary_key=True), _ms("created_at"), _text("status", False), _text("data", False),
       _text("context", False), _text("owner"), Index("responses_created", "created_at"))
_table("media_jobs", _text("id", primary_key=True), _text("kind", False), _ms("created_at"),
       _text("collection_id", False), _text("file_id", False), _text("url", False), _text("data", False),
       Index("media_jobs_kind", "kind", "created_at"))
_table("tags", _text("id", primary_key=True), _text("label", False), _text("value", False), _text("file_id", False),
       _text("segment_id"), _ms("created_at"), Index("tags_file", "file_id", "segment_id"))
_table("deep_searches", _text("id", primary_key=True), _ms("created_at"), _text("status", False),
       _text("data", False), _text("owner"))
_table("pending_deletes", _text("id", primary_key=True), _text("scope", False), _ms("created_at"))
_table("migrations", _text("name", primary_key=True), _ms("done_at"))

_PLACEHOLDER = re.compile(r"\?")


class Row(tuple):
    """A result row readable by position (`row[0]`, unpacking) and by column name (`row["id"]`)."""

    _names: dict[str, int]

    def __new__(cls, values: Sequence[Any], names: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def as_dict(self) -> dict[str, Any]:
        return {k: tuple.__getitem__(self, i) for k, i in self._names.items()}

    def __getitem__(self, key: Any) -> Any:  # str keys besides tuple indexing
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key])
        return tuple.__getitem__(self, key)


def _bind(sql: str, args: Sequence[Any]) -> tuple[Any, dict[str, Any]]:
    """`?` placeholders become SQLAlchemy bind parameters (rendered per dialect)."""
    names = iter(range(len(args)))
    named = _PLACEHOLDER.sub(lambda _: f":p{next(names)}", sql)
    return text(named), {f"p{i}": a for i, a in enumerate(args)}


def database_url(target: str | Path) -> str:
    """A URL as given (`postgresql://...`, `sqlite:///...`), or an SQLite file path."""
    s = str(target)
    if "://" not in s:
        return f"sqlite:///{Path(s).resolve()}"
    if s.startswith(("postgresql://", "postgres://")):  # psycopg 3 is the driver we ship
        return "postgresql+psycopg://" + s.split("://", 1)[1]
    return s


WAL_WAIT_SECONDS = 30.0  # as long as the connection's busy timeout


def wal(conn: sqlite3.Connection, wait: float = WAL_WAIT_SECONDS) -> None:
    """Put a SQLite database in WAL mode, waiting while another connection holds the lock. Switching the
    journal mode can answer "database is locked" at once, without the busy handler, while another process
    is creating or converting the same new file (replicas and workers started together): it is retried."""
    deadline = time.monotonic() + wait
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
            wal(dbapi_conn)
            dbapi_conn.execute("PRAGMA synchronous=NORMAL")

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # A write transaction takes the write lock first: two writers never deadlock upgrading.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=4)


class Database:
    def __init__(self, target: str | Path) -> None:
        self.url = database_url(target)
        self.engine = _make_engine(self.url)
        self.dialect = self.engine.dialect.name
        self._lock = threading.RLock()
        self._tx: Connection | None = None
        self._migrate()

    def _migrate(self) -> None:
        """Create what is missing: tables, and columns added since a database was created (additive
        changes only; every added column is nullable or has a default, so old rows stay valid)."""
        from alembic.migration import MigrationContext
        from alembic.operations import Operations

        with self.engine.connect().execution_options(write=True) as conn, conn.begin():
            if self.dialect == "postgresql":  # replicas and workers starting together migrate one at a time
                conn.execute(text("SELECT pg_advisory_xact_lock(7221001)"))
            METADATA.create_all(conn, checkfirst=True)
            ops = Operations(MigrationContext.configure(conn))
            have = inspect(conn)
            for table in METADATA.sorted_tables:
                present = {c["name"] for c in have.get_columns(table.name)}
                for col in table.columns:
                    if col.name not in present:
                        log.info("catalog: adding column %s.%s", table.name, col.name)
                        ops.add_column(table.name, col._copy())

    @property
    def shared(self) -> bool:
        """A server database other processes (API replicas, workers on other machines) use too."""
        return self.dialect != "sqlite"

    @contextmanager
    def _conn(self) -> Iterator[Connection]:
        if self._tx is not None:  # inside transaction(): the lock is ours, so is the connection
            yield self._tx
            return
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """Statements inside commit together or not at all; nests (the outermost one commits)."""
        with self._lock:
            if self._tx is not None:
                yield self._tx
                return
            with self.engine.connect().execution_options(write=True) as conn, conn.begin():
                self._tx = conn
                try:
                    yield conn
                finally:
                    self._tx = None

    def q(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        stmt, params = _bind(sql, args)
        with self._lock, self._conn() as conn:
            result = conn.execute(stmt, params)
            names = {k: i for i, k in enumerate(result.keys())}
            return [Row(r, names) for r in result.fetchall()]

    def x(self, sql: str, args: Sequence[Any] = ()) -> int:
        stmt, params = _bind(sql, args)
        with self._lock, self._conn() as conn:
            return conn.execute(stmt, params).rowcount

    def execute(self, stmt: Any) -> Any:
        """A SQLAlchemy Core statement (`upsert`, locking selects); returns the result, fetched."""
        with self._lock, self._conn() as conn:
            result = conn.execute(stmt)
            return result.fetchall() if result.returns_rows else result.rowcount

    def insert(self, table: str, row: dict[str, Any]) -> None:
        """One row by column name (positional VALUES would break as columns are added)."""
        self.execute(METADATA.tables[table].insert().values(**row))

    def upsert(self, table: str, row: dict[str, Any]) -> None:
        """Insert, or replace the row with the same primary key: INSERT ... ON CONFLICT DO UPDATE, built by
        the dialect's own construct."""
        from sqlalchemy.dialects import postgresql, sqlite

        t = METADATA.tables[table]
        module: Any = postgresql if self.dialect == "postgresql" else sqlite
        stmt = module.insert(t).values(**row)
        keys = [c.name for c in t.primary_key.columns]
        stmt = stmt.on_conflict_do_update(index_elements=keys,
                                          set_={k: stmt.excluded[k] for k in row if k not in keys})
        self.execute(stmt)

    def in_json_list(self, column: str) -> str:
        """`column IN (the ids of one JSON-array parameter)`: one bound value whatever the number of ids
        (both engines cap bound variables; a listing filter may match a million files)."""
        if self.dialect == "postgresql":
            return f"{column} IN (SELECT jsonb_array_elements_text(CAST(? AS jsonb)))"
        return f"{column} IN (SELECT value FROM json_each(?))"

    def close(self) -> None:
        with self._lock:
            self.engine.dispose()
