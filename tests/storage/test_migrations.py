"""Schema versioning: fresh databases, stored databases of every earlier schema
revision, and refusals to touch schemas this code does not know."""

from __future__ import annotations

import json
import math
import multiprocessing
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

from ragtrack.entities import ExperimentMetric, MetricGoal, RunKeys
from ragtrack.exceptions import SchemaVersionError
from ragtrack.storage import open_store
from ragtrack.storage._params import flatten_config
from ragtrack.storage.sql import SqlStore
from ragtrack.storage.sql._migrations import MIGRATIONS_DIR, current_revision, known_revisions
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
    (experiment,) = store.list_experiments("legacy")
    assert (experiment.name, experiment.run_count) == ("chunking", 1)
    assert store.get_project("legacy").run_count == 1
    if dump.stem == "0001":  # experiments had no definition yet
        assert (experiment.datasets, experiment.metrics, experiment.command) == ((), (), None)
        assert dict(experiment.hyperparameters) == {}
    if dump.stem >= "0002":
        assert experiment.datasets == ("msmarco-dev",) and experiment.command == "python train.py"
        assert experiment.metrics == (
            ExperimentMetric("recall@10"),
            ExperimentMetric("loss", MetricGoal.MIN),
        )
        hyperparameters = dict(experiment.hyperparameters)
        assert math.isnan(hyperparameters.pop("temperature"))
        assert hyperparameters == {"chunk_size": [256, 512]}
        assert store.read_logs(run.id) == "epoch 1\n"
        store.append_logs(run.id, "stdout", "again\n", batch_id="log-batch-1")
        assert store.read_logs(run.id) == "epoch 1\n"
    if dump.stem >= "0003":
        (kinds,) = store.search_runs("kinds", 'params.text = "null" and params.none is null')
        assert kinds.config == {"text": "null", "none": None, "on": True}
        assert store.search_runs("kinds", "params.on = true")
    # Keys are listed as the head revision keeps them.
    assert store.list_run_keys("legacy") == RunKeys(
        ("chunk_size", "retriever.top_k"), ("best", "loss", "recall@10")
    )
    # The upgraded store takes every write of the head revision.
    store.update_experiment("legacy", "chunking", datasets=["new"], command="python eval.py")
    assert store.get_experiment("legacy", "chunking").datasets == ("new",)
    assert store.delete_experiment("legacy", "chunking") == 1
    assert store.count_runs("legacy") == 0
    store.close()


def _migrate(url: str, to: str, *, down: bool = False) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            (command.downgrade if down else command.upgrade)(config, to)
    finally:
        engine.dispose()


def _sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ragtrack.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database of each dialect."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("new_postgres_database")()
        return url
    return _sqlite_url(tmp_path)


def test_0002_gives_existing_experiments_an_empty_definition_and_downgrades(
    empty_url: str,
) -> None:
    url = empty_url
    _migrate(url, "0001")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO projects (name, created_at) VALUES ('p', 1.0)")
        conn.exec_driver_sql(
            "INSERT INTO experiments (project_id, name, description, created_at) "
            "VALUES (1, 'e', 'old', 2.0)"
        )
        conn.exec_driver_sql(
            "INSERT INTO runs (id, project_id, experiment_id, name, status, created_at) "
            "VALUES ('r1', 1, 1, 'run', 'completed', 3.0)"
        )
    engine.dispose()

    store = SqlStore(url)  # migrates to head
    experiment = store.get_experiment("p", "e")
    assert (experiment.description, experiment.created_at, experiment.run_count) == ("old", 2.0, 1)
    assert (experiment.datasets, experiment.models, experiment.metrics) == ((), (), ())
    assert (dict(experiment.hyperparameters), experiment.command, experiment.updated_at) == (
        {},
        None,
        None,
    )
    store.update_experiment("p", "e", datasets=["d"], command="c")
    store.close()

    _migrate(url, "0001", down=True)
    _migrate(url, "head")
    store = SqlStore(url)
    assert store.get_experiment("p", "e").datasets == ()  # the definition went with 0002
    assert store.get_run("r1").experiment == "e"
    store.close()


# Configs whose params' text alone reads like another kind.
_KIND_CASES: list[tuple[str, dict[str, object]]] = [
    ("s-null", {"v": "null"}),
    ("j-null", {"v": None, "w": "x"}),
    ("s-true", {"v": "true"}),
    ("j-true", {"v": True}),
    ("nans", {"v": "nan", "w": math.nan}),
    ("j-json", {"v": [1, 2], "w": {}}),
    ("s-json", {"v": "[1, 2]", "w": "{}"}),
    ("nums", {"v": 0.5, "w": 10**400}),
    ("s-huge", {"v": str(10**400)}),
]


def test_0003_decides_param_kinds_from_configs_and_lists_run_keys(empty_url: str) -> None:
    url = empty_url
    _migrate(url, "0002")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO projects (name, created_at) VALUES ('p', 1.0)")
        conn.exec_driver_sql(
            "INSERT INTO experiments (project_id, name, created_at) VALUES (1, 'e', 1.0)"
        )
        for i, (run_id, config) in enumerate(_KIND_CASES):
            conn.execute(
                sa.text(
                    "INSERT INTO runs (id, project_id, experiment_id, name, status, created_at,"
                    " config_json) VALUES (:id, 1, :eid, :id, 'completed', :t, :config)"
                ),
                {
                    "id": run_id,
                    "eid": 1 if i % 2 else None,
                    "t": float(i),
                    "config": json.dumps(config),
                },
            )
            # The rows as revision 0002 wrote them: text and number, no kind.
            for key, text, number, _kind in flatten_config(config):
                conn.execute(
                    sa.text(
                        "INSERT INTO params (run_id, key, value_text, value_num)"
                        " VALUES (:r, :k, :t, :n)"
                    ),
                    {"r": run_id, "k": key, "t": text, "n": number},
                )
        conn.exec_driver_sql(
            "INSERT INTO summaries (run_id, key, n_points, value_json) VALUES"
            " ('j-true', 'logged', 3, NULL), ('s-null', 'explicit', 0, '1.0')"
        )
    engine.dispose()

    store = SqlStore(url)  # migrates to head
    with store._engine.connect() as conn:  # type: ignore[attr-defined]
        kinds = {tuple(r) for r in conn.execute(sa.text("SELECT run_id, key, kind FROM params"))}
    assert kinds == {
        (run_id, row.key, row.kind)
        for run_id, config in _KIND_CASES
        for row in flatten_config(config)
    }
    assert [r.id for r in store.search_runs("p", 'params.v = "null"')] == ["s-null"]
    assert [r.id for r in store.search_runs("p", "params.v = true")] == ["j-true"]
    assert {r.id for r in store.search_runs("p", "params.v is null")} == {"j-null"}
    assert store.list_run_keys("p") == RunKeys(("v", "w"), ("explicit", "logged"))
    assert store.list_run_keys("p", "e") == RunKeys(("v", "w"), ("logged",))
    store.close()

    _migrate(url, "0002", down=True)
    _migrate(url, "head")
    store = SqlStore(url)
    assert [r.id for r in store.search_runs("p", "params.v = true")] == ["j-true"]
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
