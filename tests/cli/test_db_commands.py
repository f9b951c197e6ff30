"""``ragtrack db upgrade`` and ``ragtrack db current``."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from ragtrack.storage.sql._schema import SCHEMA_REVISION

Invoke = Callable[..., Result]


def test_current_of_a_missing_store_creates_nothing(tmp_path: Path, ragtrack_cli: Invoke) -> None:
    store = tmp_path / "store"
    result = ragtrack_cli("--dir", str(store), "db", "current")  # the last --dir wins
    assert result.exit_code == 0, result.output
    assert f"database: sqlite:///{store / 'ragtrack.db'}\n" in result.stdout
    assert "current:  none (no database yet" in result.stdout
    assert f"head:     {SCHEMA_REVISION}\n" in result.stdout
    assert not store.exists()


def test_upgrade_creates_then_leaves_alone(tmp_path: Path, ragtrack_cli: Invoke) -> None:
    result = ragtrack_cli("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "before:   none (empty database)\n" in result.stdout
    assert f"after:    {SCHEMA_REVISION}\n" in result.stdout
    assert (tmp_path / "ragtrack.db").exists()
    result = ragtrack_cli("db", "upgrade")
    assert f"before:   {SCHEMA_REVISION}\n" in result.stdout
    assert result.stdout.endswith("Already up to date.\n")
    result = ragtrack_cli("db", "current")
    assert f"current:  {SCHEMA_REVISION} (up to date)\n" in result.stdout


def test_an_empty_database_file_is_upgraded(tmp_path: Path, ragtrack_cli: Invoke) -> None:
    sqlite3.connect(tmp_path / "ragtrack.db").close()
    assert "current:  none (empty database)" in ragtrack_cli("db", "current").stdout
    assert ragtrack_cli("db", "upgrade").exit_code == 0
    assert f"current:  {SCHEMA_REVISION} " in ragtrack_cli("db", "current").stdout


def test_uri_option_takes_a_sqlite_url_or_a_directory(tmp_path: Path, ragtrack_cli: Invoke) -> None:
    db = tmp_path / "elsewhere" / "x.db"
    result = ragtrack_cli("db", "upgrade", "--uri", f"sqlite:///{db}")
    assert result.exit_code == 0, result.output
    assert db.exists() and not (tmp_path / "ragtrack.db").exists()
    result = ragtrack_cli("db", "current", "--uri", str(tmp_path / "dir-store"))
    assert f"sqlite:///{tmp_path / 'dir-store' / 'ragtrack.db'}" in result.stdout


@pytest.mark.parametrize(
    "uri", ["http://localhost:8080", "mysql://db/x"], ids=["server", "unsupported"]
)
def test_unusable_uris_exit_2(ragtrack_cli: Invoke, uri: str) -> None:
    result = ragtrack_cli("db", "upgrade", "--uri", uri)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ")
    assert "Traceback" not in result.output


def test_a_newer_schema_is_reported_not_touched(tmp_path: Path, ragtrack_cli: Invoke) -> None:
    assert ragtrack_cli("db", "upgrade").exit_code == 0
    with sqlite3.connect(tmp_path / "ragtrack.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.close()
    result = ragtrack_cli("db", "current")
    assert "current:  9999 (newer than this ragtrack" in result.stdout
    result = ragtrack_cli("db", "upgrade")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: the database is at schema revision '9999'")
