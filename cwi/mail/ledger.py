"""The mail ledger (sqlite): what was sent to whom, so nothing is sent twice.

One row per delivery attempt. A row is written as ``pending`` (and committed) *before* the
message goes to the server and becomes ``sent`` with the server's reply once the server accepts
it, so a crash at any point leaves either no row (nothing was sent), a ``sent`` row, or a
``pending`` row: the message may or may not have left, and it is never retried automatically
(``--resend LA`` after checking). Deliveries to a test address are kept apart (``test = 1``)
and never count as the director's copy.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    la_code TEXT NOT NULL,
    recipient TEXT NOT NULL,
    pdf_sha256 TEXT NOT NULL,
    message_id TEXT NOT NULL,
    test INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    server_reply TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_la ON deliveries (la_code, test, status);
"""


@dataclass(frozen=True)
class Delivery:
    """One ledger row."""

    id: int
    la_code: str
    recipient: str
    pdf_sha256: str
    message_id: str
    test: bool
    status: str
    server_reply: str | None
    started_at: str
    finished_at: str | None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Ledger:
    """Open (or create) the ledger at ``path``."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)  # autocommit: each write is durable
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def begin(self, la_code: str, recipient: str, sha256: str, message_id: str, test: bool) -> int:
        """Record a delivery as pending (committed before anything is sent); return its id."""
        cur = self.db.execute(
            "INSERT INTO deliveries (la_code, recipient, pdf_sha256, message_id, test, status,"
            " started_at) VALUES (?, ?, ?, ?, ?, 'pending', ?)",
            (la_code, recipient, sha256, message_id, int(test), _now()),
        )
        return int(cur.lastrowid)

    def finish(self, row_id: int, status: str, reply: str) -> None:
        """Mark a delivery ``sent`` or ``failed`` with the server's reply."""
        self.db.execute(
            "UPDATE deliveries SET status = ?, server_reply = ?, finished_at = ? WHERE id = ?",
            (status, reply, _now(), row_id),
        )

    def forget_pending(self, row_id: int, reason: str) -> None:
        """A pending delivery certainly never reached the server: mark it failed."""
        self.finish(row_id, "failed", reason)

    def last(self, la_code: str) -> Delivery | None:
        """The latest delivery to the LA's director (``sent`` or ``pending``), if any."""
        row = self.db.execute(
            "SELECT * FROM deliveries WHERE la_code = ? AND test = 0 AND status != 'failed'"
            " ORDER BY id DESC LIMIT 1",
            (la_code,),
        ).fetchone()
        return Delivery(*row[:5], bool(row[5]), *row[6:]) if row else None

    def all(self) -> list[Delivery]:
        """Every row, oldest first."""
        rows = self.db.execute("SELECT * FROM deliveries ORDER BY id").fetchall()
        return [Delivery(*r[:5], bool(r[5]), *r[6:]) for r in rows]
