"""The engine's memory bound (issue 15): a small SQLite page cache per connection.

What it saves is measured by tests/bench/bench_engine_soak.py, not here.
"""

from __future__ import annotations

from pathlib import Path

from runwatch.engine import db, store_format
from runwatch.engine.service import READER_THREADS


def test_each_connection_has_a_small_page_cache(tmp_path: Path) -> None:
    writer, _meta = store_format.init_store(tmp_path / "data")
    reader = db.connect(tmp_path / "data" / db.DB_NAME, readonly=True)
    try:
        # Negative: KiB, not pages (a page count would scale with the page size).
        assert writer.execute("PRAGMA cache_size").fetchone()[0] == -db.WRITER_CACHE_KIB
        assert reader.execute("PRAGMA cache_size").fetchone()[0] == -db.READER_CACHE_KIB
        # All of them together, were they all full, well under the 165 MB of before.
        assert db.WRITER_CACHE_KIB + READER_THREADS * db.READER_CACHE_KIB <= 16 * 1024
    finally:
        reader.close()
        writer.close()
