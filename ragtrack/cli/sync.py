"""``ragtrack sync``: deliver spooled writes, or copy runs from one store to another.

Without options it sends the spool journals that processes left behind (they
ended while the server was unreachable) to the server each journal names;
journals of processes still running are theirs to send and are skipped. With
``--from DIR --to URI`` it copies the runs of an embedded store to any store,
sending only what the target lacks (see ``storage/_transfer.py``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from ragtrack.cli._errors import CommandFailed
from ragtrack.cli._format import echo_json
from ragtrack.entities import RunRecord
from ragtrack.storage import Store, _spool, _spool_replay, open_store
from ragtrack.storage._registry import resolve_location
from ragtrack.storage._transfer import TransferReport, copy_runs
from ragtrack.storage._write_errors import describe


@click.command("sync")
@click.option(
    "--from",
    "source_dir",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Copy the runs of the embedded store in DIR (needs --to).",
)
@click.option(
    "--to",
    "target_uri",
    metavar="URI",
    help="Where --from copies to: http(s)://host:port of a ragtrack server, a database URL "
    "or a store directory.",
)
@click.option("--project", "-p", help="With --from: only runs of this project.")
@click.option("--filter", "-f", "filter_", metavar="F", help="With --from: only matching runs.")
@click.option(
    "--spool-dir",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Where spool journals are [default: $RAGTRACK_SPOOL_DIR, else "
    "$XDG_CACHE_HOME/ragtrack/spool or ~/.cache/ragtrack/spool].",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead.")
def sync(
    source_dir: str | None,
    target_uri: str | None,
    project: str | None,
    filter_: str | None,
    spool_dir: str | None,
    as_json: bool,
) -> None:
    """Send writes that could not reach the server, or copy runs between stores.

    \b
    ragtrack sync                          deliver the spool of processes that ended
                                           while the server was unreachable
    ragtrack sync --from DIR --to URI      copy the runs of an embedded store,
                                           sending only what URI lacks

    The server's token is read from $RAGTRACK_TOKEN. Exits with 1 when writes
    remain undelivered.
    """
    if (source_dir is None) != (target_uri is None):
        raise click.UsageError("--from and --to go together")
    if source_dir is None and (project is not None or filter_ is not None):
        raise click.UsageError("--project and --filter need --from DIR --to URI")
    if source_dir is not None and spool_dir is not None:
        raise click.UsageError("--spool-dir sends the spool; it does not go with --from")
    if source_dir is not None and target_uri is not None:
        _copy(source_dir, target_uri, project, filter_, as_json)
    else:
        _send_spool(Path(spool_dir) if spool_dir else _spool.default_spool_dir(), as_json)


def open_target(uri: str) -> Store:
    """The store at ``uri`` without a spool: a sync reports an unreachable server
    instead of queueing for it."""
    location = resolve_location(uri=uri)
    if location.remote:
        from ragtrack.storage.rest import RestStore

        return RestStore(location.url, token=os.environ.get("RAGTRACK_TOKEN") or None)
    return open_store(uri=uri)


# -- copying runs -------------------------------------------------------------------------


def _copy(
    source_dir: str, target_uri: str, project: str | None, filter_: str | None, as_json: bool
) -> None:
    from ragtrack.storage.artifacts import artifact_store_for, artifact_store_of

    with open_store(dir=source_dir, create=False) as source, open_target(target_uri) as target:
        sent = [0, 0]  # artifacts and bytes reported so far

        def show(run: RunRecord, outcome: str) -> None:
            files = report.artifacts_copied - sent[0], report.artifact_bytes - sent[1]
            sent[:] = [report.artifacts_copied, report.artifact_bytes]
            if not as_json and outcome != "unchanged":
                extra = f"  ({files[0]} artifacts, {_size(files[1])})" if files[0] else ""
                click.echo(f"{outcome:9}  {run.id}  {run.project}/{run.name}{extra}")

        report = TransferReport()
        report = copy_runs(
            source,
            target,
            project,
            filter_,
            on_run=show,
            source_artifacts=artifact_store_of(source),
            # Made when a run has artifacts: a target with no place for them
            # (PostgreSQL without RAGTRACK_ARTIFACTS) fails only then, saying so.
            target_artifacts=lambda: artifact_store_for(target_uri),
            report=report,
        )
    if as_json:
        echo_json({"from": source_dir, "to": target_uri, **report.to_dict()})
        return
    if not report.runs:
        click.echo(f"No runs to copy in {source_dir}.")
        return
    click.echo(
        f"Copied {report.runs} runs to {target_uri}: {report.runs_created} created, "
        f"{report.runs_updated} updated, {report.runs_unchanged} unchanged; "
        f"{report.points_sent} metric points, {report.log_chars_sent} log characters and "
        f"{report.artifacts_copied} artifacts ({_size(report.artifact_bytes)}) sent."
    )


def _size(n: int) -> str:
    """Bytes for people: ``1.5 MB``."""
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


# -- sending spooled writes ---------------------------------------------------------------


def _send_spool(spool_dir: Path, as_json: bool) -> None:
    results = [_send_journal(path) for path in _spool.journal_paths(spool_dir)]
    remaining = sum(r["remaining"] for r in results if r["status"] != "in_use")
    if as_json:
        echo_json(
            {
                "spool_dir": str(spool_dir),
                "journals": results,
                "sent": sum(r["sent"] for r in results),
                "rejected": sum(r["rejected"] for r in results),
                "remaining": remaining,
            }
        )
        if remaining:
            raise click.exceptions.Exit(1)
        return
    if not results:
        click.echo(f"Nothing to sync: no spooled writes in {spool_dir}.")
    for r in results:
        for line in _describe(r):
            click.echo(line)
    if remaining:
        raise CommandFailed(
            f"{remaining} writes could not be delivered and stay in the spool; "
            f"run `ragtrack sync` again when the server is reachable"
        )


def _send_journal(path: Path) -> dict[str, Any]:
    result: dict[str, Any] = {
        "path": str(path),
        "url": None,
        "status": "in_use",
        "sent": 0,
        "rejected": 0,
        "dropped": 0,
        "remaining": 0,
        "dead": 0,
        "runs": [],
        "error": None,
        "rejections": [],
    }
    journal = _spool.Journal.claim(path)
    if journal is None:
        return result
    try:
        result["url"] = journal.url
        result["remaining"] = journal.pending_count()
        if result["remaining"] and journal.url is None:
            result["status"], result["error"] = "invalid", "no target URL recorded"
        elif result["remaining"]:
            _deliver(journal, journal.url or "", result)
        else:
            result["status"] = "delivered"
        result["dead"] = journal.dead_count()
        return result
    finally:
        journal.close()


def _deliver(journal: _spool.Journal, url: str, result: dict[str, Any]) -> None:
    try:
        target = open_target(url)
    except Exception as e:
        result["status"], result["error"] = "unreachable", describe(e)
        return
    with target:
        delivery = _spool_replay.deliver(journal, target)
    result.update(
        status="unreachable" if delivery.remaining else "delivered",
        sent=delivery.sent,
        rejected=delivery.rejected,
        dropped=delivery.dropped,
        remaining=delivery.remaining,
        runs=sorted(delivery.runs),
        error=delivery.error,
        rejections=delivery.rejections,
    )


def _describe(r: dict[str, Any]) -> list[str]:
    """The lines printed for one journal (none for an empty one, now deleted)."""
    if r["status"] == "in_use":
        return [f"{r['path']}: in use by a running process, skipped"]
    if r["status"] == "invalid":
        return [f"{r['path']}: {r['error']}; left in place"]
    lines = []
    if r["sent"] or r["remaining"]:
        runs = len(r["runs"])
        text = f"{r['url']}: sent {r['sent']} writes of {runs} run{'s' if runs != 1 else ''}"
        if r["remaining"]:
            text += f"; {r['remaining']} remain in {r['path']} ({r['error']})"
        lines.append(text)
    lines += [f"  rejected: {reason}" for reason in r["rejections"]]
    if r["dropped"]:
        lines.append(f"  dropped {r['dropped']} writes of runs deleted from {r['url']} meanwhile")
    if r["dead"]:
        lines.append(
            f"{r['path']}: keeps {r['dead']} writes the server rejected (table dead); "
            f"delete the file once you no longer need them"
        )
    return lines
