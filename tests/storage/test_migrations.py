"""Schema versioning: fresh databases, stored databases of every earlier schema
revision, and refusals to touch schemas this code does not know."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ragtrack.exceptions import SchemaVersionError
from ragtrack.storage import open_store
from ragtrack.storage.sql import SqlStore
from ragtrack.storage.sql._migrations import current_revision, known_revisions
from ragtrack.storage.sql._schema import SCHEMA_REVISION, metadata

SCHEMAS = Path(__file__).with_name("schemas")


def test_head_revision_is_the_newest_migration() -> None:
    assert known_revisions()[-1] == SCHEMA_REVISION


def test_migrations_build_exactly_the_schema_the_code_uses(tmp_path: Path) -> None:
    store = open_store(dir=tmp_path)
    store.close()
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'ragtrack.db'}")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []


@pytest.mark.parametrize("dump", sorted(SCHEMAS.glob("*.sql")), ids=lambda p: p.stem)
def test_stored_database_of_every_revision_upgrades_and_keeps_its_data(
    tmp_path: Path, dump: Path
) -> None:
    # Each dump was written by the ragtrack of that revision: one finished run
    # in project "legacy" with params, tags, 30 steps of two metrics, a summary.
    con = sqlite3.connect(tmp_path / "ragtrack.db")
    con.executescript(dump.read_text())
    con.close()
    store = open_store(dir=tmp_path)
    assert current_revision(store._engine) == SCHEMA_REVISION  # type: ignore[attr-defined]
    (run,) = store.search_runs("legacy")
    assert run.name == "old-run" and run.experiment == "chunking"
    assert run.config == {"chunk_size": 512, "retriever": {"top_k": 5}}
    assert run.tags == ("baseline",)
    assert run.summary["best"] == 0.9
    assert store.get_history(run.id, "loss").steps.tolist() == list(range(30))
    assert store.search_runs("legacy", "params.retriever.top_k = 5 and metrics.recall@10 > 0.9")
    store.close()


def test_unknown_newer_revision_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "ragtrack.db"
    open_store(dir=tmp_path).close()
    con = sqlite3.connect(db)
    con.execute("UPDATE alembic_version SET version_num = '9999'")
    con.commit()
    con.close()
    with pytest.raises(SchemaVersionError, match="newer ragtrack"):
        open_store(dir=tmp_path)


def test_server_mode_refuses_to_migrate_and_names_the_command(tmp_path: Path) -> None:
    with pytest.raises(SchemaVersionError, match="ragtrack db upgrade"):
        SqlStore(f"sqlite:///{tmp_path / 'x.db'}", upgrade=False)


def _open(directory: str) -> None:
    store = open_store(dir=directory)
    store.create_run(project="race")
    store.close()


@pytest.mark.slow
def test_concurrent_first_opens_do_not_race(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_open, args=(str(tmp_path),)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    store = open_store(dir=tmp_path)
    assert store.count_runs("race") == 4
    store.close()
