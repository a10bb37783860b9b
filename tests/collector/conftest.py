"""Fixtures shared by the collector's tests."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def held_store(tmp_path: Path) -> Iterator[Path]:
    """A DuckDB file held open for writing by another process, as a running collector does."""
    path = tmp_path / "held.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
         "print('ready', flush=True); sys.stdin.read()", str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    with holder:  # closes both pipes
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "ready"
            yield path
        finally:
            assert holder.stdin is not None
            holder.stdin.close()  # end of input: the holder exits and releases the file
            holder.wait(timeout=10)
