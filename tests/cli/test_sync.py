"""``ragtrack sync``: copying runs between stores and sending spool journals.

Spools left by real SpoolingStores are covered in tests/storage/test_spooling_store.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ragtrack.cli import cli
from ragtrack.storage import _spool, open_store
from ragtrack.storage._spool_replay import encode
from ragtrack.storage.sql import SqlStore


def sync(*args: str) -> Result:
    return CliRunner().invoke(cli, ["sync", *args])


def test_copy_prints_each_run_and_a_total(tmp_path: Path, run_ids: dict[str, str]) -> None:
    target = f"sqlite:///{tmp_path / 'copy' / 'target.db'}"
    (tmp_path / "copy").mkdir()
    result = sync("--from", str(tmp_path), "--to", target)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:4] == [
        f"created    {run_ids['alpha']}  search/alpha",
        f"created    {run_ids['beta']}  search/beta",
        f"created    {run_ids['gamma']}  search/gamma",
        f"created    {run_ids['delta']}  other/delta",
    ]
    assert lines[4].startswith(f"Copied 4 runs to {target}: 4 created, 0 updated, 0 unchanged; ")
    with SqlStore(target) as copy, open_store(dir=tmp_path) as original:
        for run_id in run_ids.values():
            assert copy.get_run(run_id).name == original.get_run(run_id).name
        assert copy.read_logs(run_ids["alpha"]) == "epoch 1\nepoch 2\nwarning: slow\n"

    again = sync("--from", str(tmp_path), "--to", target, "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.output) == {
        "from": str(tmp_path),
        "to": target,
        "runs": 4,
        "runs_created": 0,
        "runs_updated": 0,
        "runs_unchanged": 4,
        "experiments_created": 0,
        "points_sent": 0,
        "log_chars_sent": 0,
        "artifacts_copied": 0,
        "artifact_bytes": 0,
    }


def test_copy_one_project_with_a_filter(tmp_path: Path, run_ids: dict[str, str]) -> None:
    target = tmp_path / "target-dir"
    result = sync(
        "--from", str(tmp_path), "--to", str(target), "-p", "search", "-f", "status = 'failed'"
    )
    assert result.exit_code == 0, result.output
    with open_store(dir=target) as copy:
        assert [r.id for r in copy.search_runs()] == [run_ids["gamma"]]


def test_copy_of_an_empty_selection(tmp_path: Path, run_ids: dict[str, str]) -> None:
    result = sync("--from", str(tmp_path), "--to", str(tmp_path / "t"), "-p", "nothing-here")
    assert result.exit_code == 0
    assert result.output == f"No runs to copy in {tmp_path}.\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "x"], "--from and --to go together"),
        (["--to", "sqlite://"], "--from and --to go together"),
        (["--project", "p"], "--project and --filter need --from DIR --to URI"),
        (["--from", "x", "--to", "y", "--spool-dir", "z"], "does not go with --from"),
    ],
)
def test_bad_combinations_are_usage_errors(args: list[str], message: str) -> None:
    result = sync(*args)
    assert result.exit_code == 2
    assert message in result.output


def test_copy_from_a_directory_without_a_store(tmp_path: Path) -> None:
    result = sync("--from", str(tmp_path / "nope"), "--to", "sqlite://")
    assert result.exit_code == 1
    assert "no ragtrack store in" in result.output


def test_copy_to_an_unreachable_server_fails_cleanly(
    tmp_path: Path, run_ids: dict[str, str]
) -> None:
    result = sync("--from", str(tmp_path), "--to", "http://127.0.0.1:9")
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert "Traceback" not in result.output


def test_an_empty_spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGTRACK_SPOOL_DIR", str(tmp_path / "spool"))
    result = sync()
    assert result.exit_code == 0
    assert result.output == f"Nothing to sync: no spooled writes in {tmp_path / 'spool'}.\n"
    result = sync("--json")
    assert json.loads(result.output) == {
        "spool_dir": str(tmp_path / "spool"),
        "journals": [],
        "sent": 0,
        "rejected": 0,
        "remaining": 0,
    }


def test_a_journal_left_behind_is_sent_and_deleted(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    with SqlStore(url) as server:
        run = server.create_run(project="p")
    journal = _spool.Journal.create(tmp_path / "spool", url)
    journal.append(run.id, "set_tags", encode("set_tags", add=["synced"], remove=[]))
    journal.append("gone", "set_tags", encode("set_tags", add=["x"], remove=[]))
    journal.append(
        run.id,
        "append_logs",
        encode("append_logs", stream="stdin", text="?", batch_id="b"),
    )
    journal.close()
    result = sync("--spool-dir", str(tmp_path / "spool"), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    [entry] = report["journals"]
    assert entry["status"] == "delivered"
    counts = ("sent", "rejected", "dropped", "remaining", "dead")
    assert tuple(entry[k] for k in counts) == (1, 1, 1, 0, 1)
    assert entry["runs"] == sorted([run.id, "gone"])
    assert entry["rejections"] == [
        "INVALID_ARGUMENT: stream must be one of ('stdout', 'stderr'), got 'stdin'"
    ]
    with SqlStore(url) as server:
        assert server.get_run(run.id).tags == ("synced",)
    # The journal is kept for its rejected write, and said so each time.
    result = sync("--spool-dir", str(tmp_path / "spool"))
    assert result.exit_code == 0
    assert "keeps 1 writes the server rejected (table dead)" in result.output
    assert _spool.journal_paths(tmp_path / "spool") == [journal.path]
