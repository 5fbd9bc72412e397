"""The engine's memory bounds (issue 15): small page caches, few malloc arenas, trimmed.

What they save is measured by tests/bench/bench_engine_soak.py, not here.
"""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from runwatch.engine import db, memory, store_format


def test_each_connection_has_a_small_page_cache(tmp_path: Path) -> None:
    writer, _meta = store_format.init_store(tmp_path / "data")
    reader = db.connect(tmp_path / "data" / db.DB_NAME, readonly=True)
    try:
        # Negative: KiB, not pages (a page count would scale with the page size).
        assert writer.execute("PRAGMA cache_size").fetchone()[0] == -db.WRITER_CACHE_KIB
        assert reader.execute("PRAGMA cache_size").fetchone()[0] == -db.READER_CACHE_KIB
        assert db.WRITER_CACHE_KIB + 4 * db.READER_CACHE_KIB <= 16 * 1024
    finally:
        reader.close()
        writer.close()


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only"
)
def test_malloc_is_limited_and_trimmed_on_glibc() -> None:
    assert memory.limit_arenas()  # mallopt accepted the parameter
    memory.trim()
