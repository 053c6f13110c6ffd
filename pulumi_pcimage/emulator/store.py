"""SQLite persistence of the emulator's images: one file, absolute timestamps, safe to share between threads.

Times are stored as absolute epoch seconds so that an emulator restarted on the same file continues every build
and deletion on schedule. One connection guarded by a lock keeps the code simple; WAL lets other processes read.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
from typing import Any
from collections.abc import Iterator

_SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- creation order, used by pagination
    region TEXT NOT NULL,
    image_id TEXT NOT NULL,
    config TEXT NOT NULL,                   -- the imageConfiguration exactly as received
    created_at REAL NOT NULL,
    ends_at REAL NOT NULL,                  -- when the build reaches `outcome`
    outcome TEXT NOT NULL,                  -- 'complete' or 'failed'
    reason TEXT,                            -- why it failed
    rollback INTEGER NOT NULL,
    in_use INTEGER NOT NULL DEFAULT 0,
    delete_started_at REAL,
    delete_ends_at REAL,
    messages TEXT NOT NULL DEFAULT '[]',    -- validation messages returned by build_image
    UNIQUE (region, image_id)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS parent_images (  -- AMIs registered by tests: usable as Build.ParentImage
    region TEXT NOT NULL,
    image TEXT NOT NULL,                     -- an AMI id (or an Image Builder image ARN)
    architecture TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (region, image)
);
"""


@dataclasses.dataclass
class ImageRecord:
    region: str
    image_id: str
    config: str
    created_at: float
    ends_at: float
    outcome: str = "complete"
    reason: str | None = None
    rollback: bool = False
    in_use: bool = False
    delete_started_at: float | None = None
    delete_ends_at: float | None = None
    messages: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    seq: int | None = None


_COLUMNS = [f.name for f in dataclasses.fields(ImageRecord)]


class Store:
    def __init__(self, path: str):
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _rows(self, sql: str, *args: Any) -> Iterator[ImageRecord]:
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        for row in rows:
            values = dict(zip(_COLUMNS, row, strict=True))
            values["rollback"], values["in_use"] = bool(values["rollback"]), bool(values["in_use"])
            values["messages"] = json.loads(values["messages"])
            yield ImageRecord(**values)

    def insert(self, record: ImageRecord) -> bool:
        """Add a new image; False when the (region, image_id) is taken."""
        values = dataclasses.asdict(record)
        values.pop("seq")
        values["messages"] = json.dumps(values["messages"])
        names = ", ".join(values)
        try:
            with self._lock:
                cursor = self._db.execute(f"INSERT INTO images ({names}) VALUES ({', '.join('?' * len(values))})",
                                          list(values.values()))
        except sqlite3.IntegrityError:
            return False
        record.seq = cursor.lastrowid
        return True

    def get(self, region: str, image_id: str) -> ImageRecord | None:
        return next(self._rows(f"SELECT {', '.join(_COLUMNS)} FROM images WHERE region = ? AND image_id = ?",
                               region, image_id), None)

    def all(self, region: str | None = None) -> list[ImageRecord]:
        where, args = ("WHERE region = ?", [region]) if region else ("", [])
        return list(self._rows(f"SELECT {', '.join(_COLUMNS)} FROM images {where} ORDER BY seq", *args))

    def update(self, region: str, image_id: str, **fields: Any) -> None:
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self._lock:
            self._db.execute(f"UPDATE images SET {assignments} WHERE region = ? AND image_id = ?",
                             [*fields.values(), region, image_id])

    def purge_deleted(self, now: float) -> None:
        """Forget images whose deletion has finished."""
        with self._lock:
            self._db.execute("DELETE FROM images WHERE delete_ends_at IS NOT NULL AND delete_ends_at <= ?", (now,))

    def add_parent_image(self, region: str, image: str, architecture: str, name: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO parent_images (region, image, architecture, name) "
                             "VALUES (?, ?, ?, ?)", (region, image, architecture, name))

    def parent_image(self, region: str, image: str) -> dict[str, str] | None:
        with self._lock:
            row = self._db.execute("SELECT architecture, name FROM parent_images WHERE region = ? AND image = ?",
                                   (region, image)).fetchone()
        return {"amiId": image, "architecture": row[0], "name": row[1]} if row else None

    def delete(self, region: str, image_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM images WHERE region = ? AND image_id = ?", (region, image_id))

    def meta(self, key: str, default: str) -> str:
        """A persistent setting, created with `default` the first time it is asked for."""
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, default))
            return self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]
