"""The slow parts of default capture (git, packages, hardware) happen off the
caller's thread, are gathered once per process and are still stored with the run."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import ragtrack
from ragtrack.sdk.capture import _deferred
from ragtrack.sdk.capture import git as git_module

ROOT = Path(__file__).resolve().parents[2]
# Default capture, minus the parts that run while the run lives.
CAPTURE = {"system_metrics": False, "console": False}


@pytest.fixture(autouse=True)
def fresh_process_knowledge(monkeypatch: pytest.MonkeyPatch, repo: Path) -> None:
    # As if this were a new process (nothing gathered yet), started in the repository.
    monkeypatch.setattr(_deferred, "_known", {})
    monkeypatch.chdir(repo)


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def counting_git_info(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = git_module.git_info

    def counted(path: Any = None, diff_limit_bytes: int = 0) -> Any:
        calls.append(str(path))
        return real(path, diff_limit_bytes=diff_limit_bytes)

    monkeypatch.setattr(git_module, "git_info", counted)
    monkeypatch.setattr(ragtrack.sdk.capture, "git_info", counted)
    return calls


def test_init_returns_while_git_is_still_running(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    real = git_module.git_info

    def slow_git(path: Any = None, diff_limit_bytes: int = 0) -> Any:
        release.wait(120)  # a huge repository, a slow network file system
        return real(path, diff_limit_bytes=diff_limit_bytes)

    monkeypatch.setattr(git_module, "git_info", slow_git)
    monkeypatch.setattr(ragtrack.sdk.capture, "git_info", slow_git)
    started: list[ragtrack.Run] = []
    starter = threading.Thread(
        target=lambda: started.append(
            ragtrack.init(project="p", dir=tmp_path / "store", capture=CAPTURE)
        )
    )

    starter.start()
    starter.join(60)
    returned_while_git_ran = not starter.is_alive()
    release.set()
    starter.join()
    run = started[0]
    run.finish()

    assert returned_while_git_ran
    metadata = ragtrack.Api(tmp_path / "store").run(run.id).metadata
    assert metadata["git"]["commit"] == git(repo, "rev-parse", "HEAD")
    assert "pytest" in metadata["environment"]["packages"]
    assert metadata["environment"]["cwd"] == str(repo)
    assert metadata["hardware"]["cpu_count_logical"] >= 1


def test_a_sweep_reads_git_once_and_again_after_a_commit(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = counting_git_info(monkeypatch)
    store = tmp_path / "store"

    first = [ragtrack.init(project="p", dir=store, capture=CAPTURE) for _ in range(3)]
    for run in first:
        run.finish()
    (repo / "train.py").write_text("lr = 0.2\n")
    git(repo, "commit", "-q", "-am", "second")
    after_commit = ragtrack.init(project="p", dir=store, capture=CAPTURE)
    after_commit.finish()

    assert len(calls) == 2
    api = ragtrack.Api(store)
    commits = [api.run(r.id).metadata["git"]["commit"] for r in [*first, after_commit]]
    head = git(repo, "rev-parse", "HEAD")
    assert commits[:3] == [git(repo, "rev-parse", "HEAD~1")] * 3
    assert commits[3] == head


def test_metadata_is_stored_when_the_script_ends_right_after_init(
    repo: Path, tmp_path: Path
) -> None:
    script = "import sys, ragtrack; print(ragtrack.init(project='p', dir=sys.argv[1]).id)"
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "store")],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=True,
    )
    run_id = done.stdout.split()[-1]

    run = ragtrack.Api(tmp_path / "store").run(run_id)
    assert run.status == "completed"
    assert run.metadata["git"]["commit"] == git(repo, "rev-parse", "HEAD")
    assert "pytest" in run.metadata["environment"]["packages"]
    assert run.metadata["hardware"]["cpu_count_logical"] >= 1
