"""The run page ``/runs/{run_id}`` (+ ``.json``) and the data its scripts fetch:
one chart's series (``series.json``) and the console log after an offset
(``logs.json``).

The page is rendered whole on the server (overview, params, metadata,
artifacts); ``run.js`` adds tabs, lazily drawn charts, log search and tailing,
tag and notes editing, and polling of the JSON twin while the run is live.

Example:
    >>> from fastapi.testclient import TestClient  # doctest: +SKIP
    >>> client.get("/runs/0123abcd.json").json()["run"]["status"]  # doctest: +SKIP
    'completed'
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ragtrack.analysis.charts import series_chart
from ragtrack.entities import MetricSummary, RunRecord
from ragtrack.exceptions import InvalidArgumentError, RagtrackError
from ragtrack.server.api._common import wire
from ragtrack.server.ui._links import Links, links_for
from ragtrack.server.ui._pages import (
    error_page,
    query_float,
    query_int,
    query_list,
    render,
    store_of,
    ui_router,
)
from ragtrack.server.ui.views import _run_metadata as md
from ragtrack.storage import Store
from ragtrack.storage._input import MAX_COUNT
from ragtrack.storage.artifacts import ArtifactStore
from ragtrack.storage.artifacts._base import ArtifactInfo
from ragtrack.storage.rest import _wire

router = ui_router()

#: Artifacts listed on the page; a run with more points to the API.
MAX_ARTIFACTS = 1000
#: Characters of log text one ``logs.json`` answer carries at most (the newest ones).
MAX_LOG_CHARS = 1_000_000
#: Upper bound of ``max_points``: enough for any screen, small enough to stay fast.
MAX_CHART_POINTS = 20_000
#: Statuses of a run that may still change: the page polls while it has one.
LIVE_STATUSES = ("created", "queued", "running")
SYSTEM_PREFIX = "system/"
#: Keys of the JSON twin (``?fields=`` picks some); the light ones need no metadata.
JSON_FIELDS = (
    "run",
    "metric_keys",
    "system_keys",
    "metadata",
    "reproduce",
    "artifacts",
    "artifacts_total",
    "artifacts_error",
    "links",
)
LIGHT_FIELDS = frozenset({"run", "metric_keys", "system_keys", "links"})


@dataclass(frozen=True)
class KeyGroup:
    """Metric keys shown together under one heading (``train/*``, ``system/gpu.0.*``)."""

    title: str
    keys: list[str]


@dataclass(frozen=True)
class SummaryRow:
    """A line of the summary table: the summary value and, for logged series, their stats."""

    key: str
    value: Any
    series: MetricSummary | None

    @property
    def nested(self) -> bool:
        """An explicit summary value that is a dict or list (shown as JSON)."""
        return isinstance(self.value, Mapping | list)

    def json(self) -> str:
        return json.dumps(self.value, ensure_ascii=False)


@dataclass(frozen=True)
class RunContext:
    """Everything the run page shows; ``to_json()`` is its JSON twin."""

    run: RunRecord
    metric_keys: list[str]
    system_keys: list[str]
    metadata: dict[str, Any]
    artifacts: list[ArtifactInfo] | None
    artifacts_total: int
    artifacts_error: str | None
    links: dict[str, str]

    @property
    def live(self) -> bool:
        return self.run.status.value in LIVE_STATUSES

    @functools.cached_property
    def metric_groups(self) -> list[KeyGroup]:
        return group_keys(self.metric_keys)

    @functools.cached_property
    def system_groups(self) -> list[KeyGroup]:
        return group_keys(self.system_keys)

    @functools.cached_property
    def single_point_keys(self) -> frozenset[str]:
        """Keys logged once: shown as a value, not as a chart of one point."""
        return frozenset(k for k, s in self.run.metrics.items() if s.count == 1)

    @functools.cached_property
    def summary_rows(self) -> list[SummaryRow]:
        summary = self.run.summary
        # System metrics last: they describe the machine, not the results.
        keys = sorted(summary, key=lambda k: (k.startswith(SYSTEM_PREFIX), k))
        return [SummaryRow(k, summary[k], self.run.metrics.get(k)) for k in keys]

    @property
    def error_headline(self) -> str | None:
        """The last line of a traceback: what went wrong, in one line."""
        lines = [line for line in (self.run.error or "").splitlines() if line.strip()]
        return lines[-1].strip() if lines else None

    @functools.cached_property
    def git(self) -> dict[str, Any]:
        return md.part(self.metadata, "git")

    @functools.cached_property
    def environment(self) -> dict[str, Any]:
        return md.part(self.metadata, "environment")

    @functools.cached_property
    def hardware(self) -> dict[str, Any]:
        return md.part(self.metadata, "hardware")

    @functools.cached_property
    def diff_files(self) -> list[md.DiffFile]:
        diff = self.git.get("diff")
        return md.split_diff(diff) if isinstance(diff, str) else []

    @functools.cached_property
    def other_metadata(self) -> dict[str, Any]:
        return {k: v for k, v in self.metadata.items() if k not in md.KNOWN_PARTS}

    def reproduce(self) -> str | None:
        return md.reproduce_command(self.metadata)

    def git_facts(self) -> list[md.Fact]:
        return md.git_facts(self.git)

    def environment_facts(self) -> list[md.Fact]:
        return md.environment_facts(self.environment)

    def hardware_facts(self) -> list[md.Fact]:
        return md.hardware_facts(self.hardware)

    def packages(self) -> list[tuple[str, str]] | None:
        return md.packages(self.environment)

    def format_bytes(self, size: int) -> str:
        return md.format_bytes(size)

    def script_data(self) -> dict[str, Any]:
        """What ``run.js`` starts from (the rest it fetches)."""
        return {
            "id": self.run.id,
            "name": self.run.name,
            "status": self.run.status.value,
            "live": self.live,
            "started_at": self.run.started_at,
            "metric_counts": {k: s.count for k, s in self.run.metrics.items()},
            "links": self.links,
        }

    def to_json(self) -> dict[str, Any]:
        artifacts = None
        if self.artifacts is not None:
            artifacts = [
                {**_wire.artifact_to_json(a), "url": self.links["artifact_base"] + a.path}
                for a in self.artifacts
            ]
        return {
            "run": _wire.run_to_json(self.run),
            "metric_keys": self.metric_keys,
            "system_keys": self.system_keys,
            "metadata": self.metadata,
            "reproduce": self.reproduce(),
            "artifacts": artifacts,
            "artifacts_total": self.artifacts_total,
            "artifacts_error": self.artifacts_error,
            "links": self.links,
        }


def group_keys(keys: list[str]) -> list[KeyGroup]:
    """Keys by prefix: ``train/``, ``eval/``, other prefixes, then keys without one.

    ``system/`` keys group by what they measure (``cpu``, ``memory``, ``gpu.0``...).

    Example:
        >>> [(g.title, g.keys) for g in group_keys(["recall", "eval/loss", "train/loss"])]
        [('train', ['train/loss']), ('eval', ['eval/loss']), ('other', ['recall'])]
    """
    groups: dict[str, list[str]] = {}
    for key in sorted(keys):
        groups.setdefault(_group_of(key), []).append(key)
    first = {"train": 0, "eval": 1, "": 3}
    order = sorted(groups, key=lambda g: (first.get(g, 2), g))
    return [KeyGroup(g or "other", groups[g]) for g in order]


def _group_of(key: str) -> str:
    if key.startswith(SYSTEM_PREFIX):
        rest = key[len(SYSTEM_PREFIX) :]
        if "/" in rest:
            return rest.split("/", 1)[0]
        if rest.startswith("gpu."):
            return ".".join(rest.split(".")[:2])
        return rest.split("_", 1)[0] if "_" in rest else "system"
    return key.split("/", 1)[0] if "/" in key else ""


def build_run_context(
    request: Request, store: Store, run_id: str, *, details: bool = True
) -> RunContext:
    """Read everything the run page shows; raises RunNotFoundError for an unknown run.

    Without ``details`` the metadata and artifacts are not read (left empty):
    what the page's live polling needs is the run and its keys.
    """
    run = store.get_run(store.resolve_run_id(run_id))
    keys = store.list_metric_keys(run.id)
    links = links_for(request)
    artifacts, total, error = (
        _list_artifacts(request.app.state.artifacts, run.id) if details else (None, 0, None)
    )
    return RunContext(
        run=run,
        metric_keys=[k for k in keys if not k.startswith(SYSTEM_PREFIX)],
        system_keys=[k for k in keys if k.startswith(SYSTEM_PREFIX)],
        metadata=store.get_metadata(run.id) if details else {},
        artifacts=artifacts,
        artifacts_total=total,
        artifacts_error=error,
        links=_page_links(links, run),
    )


def _page_links(links: Links, run: RunRecord) -> dict[str, str]:
    out = {
        "page": links.run(run.id),
        "json": links.json(links.run(run.id)),
        "series": links.run_data(run.id, "series.json"),
        "logs": links.run_data(run.id, "logs.json"),
        "api": links.api(f"/runs/{run.id}"),
        "artifact_base": links.artifact(run.id, ""),
        "project": links.project(run.project),
        "runs": links.runs(run.project, experiment=run.experiment),
    }
    return out


def _list_artifacts(
    artifacts: ArtifactStore | None, run_id: str
) -> tuple[list[ArtifactInfo] | None, int, str | None]:
    if artifacts is None:
        return None, 0, None
    try:
        found = artifacts.list(run_id)
    except RagtrackError as e:  # the rest of the page is still worth showing
        return [], 0, e.message
    return found[:MAX_ARTIFACTS], len(found), None


# Data endpoints first: '/runs/{run_id}' must not take 'abc/series.json' (it cannot: a
# path parameter stops at '/') nor '/runs/abc.json' (it could: the twin comes first).


@router.get("/runs/{run_id}/series.json")
def run_series(request: Request, run_id: str) -> Response:
    """One chart: ``?key=&max_points=2000&smoothing=0`` -> SeriesChart JSON."""
    key = request.query_params.get("key", "")
    if not key:
        raise InvalidArgumentError("key is required: the metric key to chart", field="key")
    max_points = query_int(request, "max_points", 2000, 2, MAX_CHART_POINTS)
    smoothing = query_float(request, "smoothing", 0.0, 0.0, 0.99)
    store = store_of(request)
    full_id = store.resolve_run_id(run_id)
    chart = series_chart(
        key, store.get_history(full_id, key), max_points=max_points, smoothing=smoothing
    )
    return wire(chart.to_json())


@router.get("/runs/{run_id}/logs.json")
def run_logs(request: Request, run_id: str) -> Response:
    """Log text after ``offset`` characters: ``{text, offset, size, start, truncated}``.

    ``offset`` in the answer is where the next request continues (the log's
    length, also when the request's offset was past the end). The first answer
    on a long log carries only its last :data:`MAX_LOG_CHARS` characters (from a
    line start), with ``truncated``.
    """
    stream = request.query_params.get("stream") or None
    if stream == "all":
        stream = None
    if stream not in (None, "stdout", "stderr"):
        raise InvalidArgumentError(
            f"stream must be stdout, stderr or all, got {stream!r}", field="stream"
        )
    offset = query_int(request, "offset", 0, 0, MAX_COUNT)
    store = store_of(request)
    full_id = store.resolve_run_id(run_id)
    # Only what follows the page's offset leaves the store: a poll of a live
    # run's log reads what is new, not the whole log again.
    text = store.read_logs(full_id, stream, offset)
    if offset and not text and not store.read_logs(full_id, stream, offset - 1):
        # Past the end (not just at it): answer the true size, where to continue.
        offset = len(store.read_logs(full_id, stream))
    size = offset + len(text)
    skip = 0
    truncated = len(text) > MAX_LOG_CHARS
    if truncated:
        skip = len(text) - MAX_LOG_CHARS
        newline = text.find("\n", skip)
        if newline != -1:
            skip = newline + 1
    return wire(
        {
            "text": text[skip:],
            "offset": size,
            "size": size,
            "start": offset + skip,
            "truncated": truncated,
        }
    )


@router.get("/runs/{run_id}.json")
def run_page_json(request: Request, run_id: str) -> Response:
    """The page's data; ``?fields=run,metric_keys`` keeps only those keys (what the
    page polls while a run is live: a run's metadata may hold megabytes of diff)."""
    fields = query_list(request, "fields")
    unknown = [f for f in fields if f not in JSON_FIELDS]
    if unknown:
        raise InvalidArgumentError(
            f"fields may name {', '.join(JSON_FIELDS)}; got {', '.join(map(repr, unknown))}",
            field="fields",
        )
    details = not fields or bool(set(fields) - LIGHT_FIELDS)
    data = build_run_context(request, store_of(request), run_id, details=details).to_json()
    return wire({k: v for k, v in data.items() if k in fields} if fields else data)


@router.get("/runs/{run_id}")
def run_page(request: Request, run_id: str) -> Response:
    """The run page; a unique id prefix redirects to the run's full URL."""
    store = store_of(request)
    try:
        full_id = store.resolve_run_id(run_id)
        if full_id != run_id:
            url = links_for(request).run(full_id)
            query = request.url.query
            return RedirectResponse(f"{url}?{query}" if query else url, status_code=307)
        ctx = build_run_context(request, store, full_id)
    except RagtrackError as e:
        return error_page(request, e)
    return render(request, "run.html", ctx=ctx)
