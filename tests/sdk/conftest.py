"""Fixtures for the SDK tests that run git."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest


@pytest.fixture
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """git that sees no user or system config (signing, hooks paths, default branch...)."""
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.com")


@pytest.fixture
def repo(tmp_path: Path, isolated_git: None) -> Path:
    """A repository at ``tmp_path / "repo"`` with one commit of ``train.py``."""
    root = tmp_path / "repo"
    root.mkdir()
    for args in (
        ("init", "-q", "-b", "main"),
        ("add", "train.py"),
        ("commit", "-q", "-m", "first"),
    ):
        if args[0] == "add":
            (root / "train.py").write_text("lr = 0.1\n")
        subprocess.run(["git", *args], cwd=root, capture_output=True, check=True)
    return root
