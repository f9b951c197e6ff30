"""Artifact path and run id rules: what is refused, why, and that nothing
accepted can leave the run's directory."""

from __future__ import annotations

import posixpath
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ragtrack.exceptions import InvalidArgumentError
from ragtrack.storage.artifacts import (
    validate_artifact_path,
    validate_artifact_prefix,
    validate_run_id,
)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("", "it is empty"),
        ("../x", "'..' segment"),
        ("a/../../x", "'..' segment"),
        ("/etc/passwd", "absolute"),
        ("C:/x", "absolute"),
        ("a\\b", "backslash"),
        ("a//b", "empty segment"),
        ("a/", "empty segment"),
        ("./a", "'.' segment"),
        ("a\x00b", "NUL"),
        ("a\tb", "control character"),
        ("x" * 1025, "1025 characters long; the limit is 1024"),
        ("a/" + "é" * 128, "over 255 bytes"),
        ("a/.ragtrack-upload-1", "reserved"),
        (7, "it is a int, not a str"),
    ],
)
def test_refusals_say_what_is_wrong(path: object, reason: str) -> None:
    with pytest.raises(InvalidArgumentError, match="invalid artifact path") as e:
        validate_artifact_path(path)
    assert e.value.field == "path"
    assert reason in e.value.message


@pytest.mark.parametrize(
    "path",
    [
        "a",
        "a/b/c.txt",
        ".hidden",
        "a..b",
        "...",
        "a b/ü — 图.png",
        "recall@10.json",
        "/".join(["x" * 200] * 5) + "/" + "y" * 19,  # 1,024 characters
        "é" * 127,  # 254 bytes
    ],
)
def test_accepted_paths(path: str) -> None:
    assert validate_artifact_path(path) == path


def test_paths_are_returned_in_nfc() -> None:
    assert validate_artifact_path(unicodedata.normalize("NFD", "é.txt")) == "é.txt"


@pytest.mark.parametrize("prefix", ["", "a", "a/", "a/b", "a/b.", "."])
def test_accepted_prefixes(prefix: str) -> None:
    assert validate_artifact_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["..", "a/..", "../a", "/a", "a//", "a\\", "\x00"])
def test_refused_prefixes(prefix: str) -> None:
    with pytest.raises(InvalidArgumentError, match="invalid artifact prefix") as e:
        validate_artifact_prefix(prefix)
    assert e.value.field == "prefix"


@pytest.mark.parametrize("run_id", ["0123456789abcdef", "run_1", "a-b", "x" * 64])
def test_accepted_run_ids(run_id: str) -> None:
    assert validate_run_id(run_id) == run_id


@pytest.mark.parametrize("run_id", ["", ".", "..", "a/b", "a.b", "a b", "x" * 65, None])
def test_refused_run_ids(run_id: object) -> None:
    with pytest.raises(InvalidArgumentError, match="invalid run id") as e:
        validate_run_id(run_id)
    assert e.value.field == "run_id"


_PIECES = st.sampled_from(["a", "b", ".", "..", "/", "\\", "\x00", "é", " ", ":", "C", ""])


@given(st.lists(_PIECES, max_size=12).map("".join) | st.text(max_size=40))
def test_no_accepted_path_leaves_the_run_directory(path: str) -> None:
    try:
        normal = validate_artifact_path(path)
    except InvalidArgumentError:
        return
    joined = posixpath.normpath(posixpath.join("/root/run", normal))
    assert joined.startswith("/root/run/")
    assert joined == "/root/run/" + normal  # already normal: nothing to collapse
    assert "\\" not in normal and "\x00" not in normal
