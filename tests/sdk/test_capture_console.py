from __future__ import annotations

import io
import sys
import threading

import pytest

from ragtrack.sdk.capture.console import LIMIT_MARKER, ConsoleCapture


class FakeTerminal(io.StringIO):
    """A console stream with the attributes libraries such as tqdm and click look at."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd = fd
        self.custom_attribute = "kept"

    def fileno(self) -> int:
        return self.fd

    def isatty(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"


def fake_terminals(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeTerminal, FakeTerminal]:
    # Installed from the test body: pytest re-installs its own capture streams between
    # fixture setup and the test call. monkeypatch puts them back even after a failure.
    out, err = FakeTerminal(1), FakeTerminal(2)
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    return out, err


def started(
    monkeypatch: pytest.MonkeyPatch, limit_bytes: int = 2**20
) -> tuple[ConsoleCapture, FakeTerminal, FakeTerminal]:
    out, err = fake_terminals(monkeypatch)
    capture = ConsoleCapture(limit_bytes=limit_bytes)
    capture.start()
    return capture, out, err


def test_output_is_teed(monkeypatch: pytest.MonkeyPatch) -> None:
    capture, out, err = started(monkeypatch)

    print("epoch 1")
    print("warning: slow", file=sys.stderr)

    assert out.getvalue() == "epoch 1\n"
    assert err.getvalue() == "warning: slow\n"
    assert capture.drain() == [("stdout", "epoch 1\n"), ("stderr", "warning: slow\n")]


def test_drain_keeps_order_merges_runs_and_clears(monkeypatch: pytest.MonkeyPatch) -> None:
    capture, _, _ = started(monkeypatch)

    sys.stdout.write("a")
    sys.stdout.write("b")
    sys.stderr.write("c")
    sys.stdout.writelines(["d", "e"])

    assert capture.drain() == [("stdout", "ab"), ("stderr", "c"), ("stdout", "de")]
    assert capture.drain() == []
    sys.stderr.write("f")
    assert capture.drain() == [("stderr", "f")]


def test_other_attributes_are_delegated(monkeypatch: pytest.MonkeyPatch) -> None:
    _, out, _ = started(monkeypatch)

    assert sys.stdout is not out
    assert sys.stdout.fileno() == 1 and sys.stderr.fileno() == 2
    assert sys.stdout.isatty() is True
    assert sys.stdout.encoding == "utf-8"
    assert sys.stdout.custom_attribute == "kept"  # type: ignore[union-attr]
    sys.stdout.flush()
    assert sys.stdout.write("xyz") == 3
    assert out.getvalue() == "xyz"


def test_stop_restores_the_original_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    capture, out, err = started(monkeypatch)
    capture.start()  # a second start must not wrap our own proxy

    capture.stop()

    assert sys.stdout is out and sys.stderr is err
    print("after stop")
    assert capture.drain() == []


def test_recorded_output_survives_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    capture, _, _ = started(monkeypatch)
    print("done")
    capture.stop()

    assert capture.drain() == [("stdout", "done\n")]


def test_stop_leaves_a_later_wrapper_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    capture, out, _ = started(monkeypatch)
    ours = sys.stdout
    later = FakeTerminal(1)
    later.write = ours.write  # type: ignore[method-assign]  # a wrapper forwarding to ours
    sys.stdout = later

    capture.stop()

    assert sys.stdout is later
    print("still shown")
    assert out.getvalue() == "still shown\n"
    assert capture.drain() == []

    capture.start()  # the old proxy in the chain must not record a second copy
    print("once")
    capture.stop()
    assert capture.drain() == [("stdout", "once\n")]


def test_limit_stops_recording_with_one_marker(monkeypatch: pytest.MonkeyPatch) -> None:
    capture, out, err = started(monkeypatch, limit_bytes=10)

    sys.stdout.write("12345678")
    sys.stdout.write("abcdef")
    sys.stderr.write("more")
    sys.stdout.write("and more")
    capture.stop()

    marker = LIMIT_MARKER.format(limit=10)
    assert capture.drain() == [("stdout", "12345678ab" + marker)]
    assert out.getvalue() == "12345678abcdefand more"
    assert err.getvalue() == "more"
    assert capture.captured_bytes == 10 and capture.limit_reached


def test_limit_counts_utf8_bytes_and_keeps_whole_characters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    capture, _, _ = started(monkeypatch, limit_bytes=5)

    sys.stderr.write("ééé")
    capture.stop()

    assert capture.drain() == [("stderr", "éé" + LIMIT_MARKER.format(limit=5))]
    assert capture.captured_bytes == 4


def test_output_exactly_at_the_limit_has_no_marker_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    capture, _, _ = started(monkeypatch, limit_bytes=4)
    sys.stdout.write("1234")
    assert capture.drain() == [("stdout", "1234")]

    sys.stdout.write("5")
    capture.stop()
    assert capture.drain() == [("stdout", LIMIT_MARKER.format(limit=4))]


def test_rejected_writes_are_not_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    capture, _, _ = started(monkeypatch)

    with pytest.raises(TypeError):
        sys.stdout.write(b"bytes")  # type: ignore[arg-type]

    assert capture.drain() == []


def test_lone_surrogates_are_recorded_as_storable_text(monkeypatch: pytest.MonkeyPatch) -> None:
    capture, _, _ = started(monkeypatch)

    sys.stdout.write("bad \udcff byte")

    [(_, text)] = capture.drain()
    assert text.encode("utf-8") == b"bad ? byte"


def test_concurrent_writers_lose_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    capture, out, _ = started(monkeypatch)
    threads_n, lines_n = 8, 200
    barrier = threading.Barrier(threads_n)

    def writer(t: int) -> None:
        barrier.wait()
        stream = sys.stdout if t % 2 == 0 else sys.stderr
        for i in range(lines_n):
            stream.write(f"thread {t} line {i}\n")

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(threads_n)]
    drained: list[tuple[str, str]] = []
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        drained += capture.drain()
    for thread in threads:
        thread.join()
    drained += capture.drain()

    for stream, parity in (("stdout", 0), ("stderr", 1)):
        lines = "".join(text for name, text in drained if name == stream).splitlines()
        expected = {
            f"thread {t} line {i}" for t in range(parity, threads_n, 2) for i in range(lines_n)
        }
        assert len(lines) == len(expected) and set(lines) == expected
        own = [int(line.split()[3]) for line in lines if line.startswith(f"thread {parity} ")]
        assert own == list(range(lines_n))
    assert sorted(out.getvalue().splitlines()) == sorted(
        line for name, text in drained if name == "stdout" for line in text.splitlines()
    )
