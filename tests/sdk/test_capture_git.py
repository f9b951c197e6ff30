from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest

from ragtrack.sdk.capture.git import MAX_UNTRACKED, git_info, strip_credentials, truncate_utf8

pytestmark = pytest.mark.usefixtures("isolated_git")


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def init_repo(path: Path) -> Path:
    path.mkdir(exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    return path


def test_clean_repository(repo: Path) -> None:
    info = git_info(repo)

    assert info == {
        "commit": git(repo, "rev-parse", "HEAD"),
        "branch": "main",
        "remote": None,
        "root": git(repo, "rev-parse", "--show-toplevel"),
        "dirty": False,
        "diff": "",
        "untracked": [],
    }


def test_subdirectory_reports_the_repository_root(repo: Path) -> None:
    (repo / "src").mkdir()

    info = git_info(repo / "src")

    assert info is not None
    assert info["root"] == git(repo, "rev-parse", "--show-toplevel")


def test_default_path_is_the_current_directory(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)

    info = git_info()

    assert info is not None and info["branch"] == "main"


def test_detached_head_has_no_branch(repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach")

    info = git_info(repo)

    assert info is not None
    assert info["branch"] is None
    assert info["commit"] == git(repo, "rev-parse", "HEAD")


def test_remote_prefers_origin_and_strips_credentials(repo: Path) -> None:
    git(repo, "remote", "add", "aaa", "https://example.com/other.git")
    git(repo, "remote", "add", "origin", "https://alice:s3cret@example.com/team/repo.git")

    info = git_info(repo)

    assert info is not None
    assert info["remote"] == "https://example.com/team/repo.git"


def test_first_remote_when_there_is_no_origin(repo: Path) -> None:
    git(repo, "remote", "add", "upstream", "git@github.com:team/repo.git")

    info = git_info(repo)

    assert info is not None and info["remote"] == "git@github.com:team/repo.git"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://alice:s3cret@example.com/r.git", "https://example.com/r.git"),
        ("https://ghp_token@github.com/t/r.git", "https://github.com/t/r.git"),
        ("http://u:p@host:8080/r.git", "http://host:8080/r.git"),
        ("ssh://git@host/r.git", "ssh://git@host/r.git"),
        ("ssh://git:pw@host:22/r.git", "ssh://host:22/r.git"),
        ("git@github.com:t/r.git", "git@github.com:t/r.git"),
        ("/srv/git/r.git", "/srv/git/r.git"),
        ("https://example.com/r.git", "https://example.com/r.git"),
    ],
)
def test_strip_credentials(url: str, expected: str) -> None:
    assert strip_credentials(url) == expected


def test_dirty_diff_includes_staged_and_unstaged_changes(repo: Path) -> None:
    (repo / "train.py").write_text("lr = 0.2\n")
    (repo / "model.py").write_text("layers = 3\n")
    git(repo, "add", "model.py")

    info = git_info(repo)

    assert info is not None
    assert info["dirty"] is True
    assert "-lr = 0.1" in info["diff"] and "+lr = 0.2" in info["diff"]
    assert "+layers = 3" in info["diff"]
    assert info["untracked"] == []


def test_binary_changes_are_summarised(repo: Path) -> None:
    (repo / "weights.bin").write_bytes(bytes(range(256)) * 4)
    git(repo, "add", "weights.bin")

    info = git_info(repo)

    assert info is not None
    assert "Binary files" in info["diff"]
    assert "\x00" not in info["diff"]


def test_untracked_files_do_not_make_the_tree_dirty(repo: Path) -> None:
    (repo / "notes.txt").write_text("todo\n")
    (repo / "data").mkdir()
    (repo / "data" / "a.csv").write_text("1\n")

    info = git_info(repo)

    assert info is not None
    assert info["dirty"] is False
    assert info["untracked"] == ["data/", "notes.txt"]


def test_untracked_list_is_capped(repo: Path) -> None:
    for i in range(MAX_UNTRACKED + 20):
        (repo / f"f{i:03d}.txt").write_text("")

    info = git_info(repo)

    assert info is not None
    assert len(info["untracked"]) == MAX_UNTRACKED


def test_large_diff_is_truncated_with_a_marker(repo: Path) -> None:
    (repo / "train.py").write_text("".join(f"line {i}\n" for i in range(1000)))

    info = git_info(repo, diff_limit_bytes=200)

    assert info is not None
    body, _, marker = info["diff"].rpartition("\n[... truncated ")
    assert len(body.encode()) <= 200
    assert body.startswith("diff --git")
    assert marker.endswith(" bytes]\n")
    full = subprocess.run(["git", "diff", "HEAD"], cwd=repo, capture_output=True, check=True)
    assert int(marker.split()[0]) == len(full.stdout) - len(body.encode())


def test_truncate_utf8_never_splits_a_character() -> None:
    text = truncate_utf8("ééé".encode(), 3)

    assert text == "é\n[... truncated 4 bytes]\n"


def test_repository_without_commits(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "fresh")
    (root / "staged.py").write_text("x = 1\n")
    git(root, "add", "staged.py")
    (root / "loose.py").write_text("")

    info = git_info(root)

    assert info is not None
    assert info["commit"] is None
    assert info["branch"] == "main"
    assert info["dirty"] is True
    assert "+x = 1" in info["diff"]
    assert info["untracked"] == ["loose.py"]


def test_outside_a_repository(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="ragtrack"):
        assert git_info(tmp_path) is None
    assert caplog.records == []


def test_missing_directory(tmp_path: Path) -> None:
    assert git_info(tmp_path / "gone") is None


def test_git_not_installed(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")

    assert git_info(repo) is None


def test_timeout_logs_a_warning(
    repo: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def hang(args: list[str], **kwargs: object) -> None:
        raise subprocess.TimeoutExpired(args, 5)

    monkeypatch.setattr(subprocess, "run", hang)

    with caplog.at_level(logging.WARNING, logger="ragtrack"):
        assert git_info(repo) is None
    assert "took longer than" in caplog.text


def test_result_is_json_serialisable(repo: Path) -> None:
    import json

    (repo / "train.py").write_text("lr = 'ünïcode'\n")

    info = git_info(repo)

    assert json.loads(json.dumps(info)) == info
