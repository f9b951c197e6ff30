"""Pydantic models of request and response bodies: validation and the OpenAPI document.

Request models check types and shapes (a wrong type is a 400 naming the field,
``body.config``); numbers and times are strict (``false`` is no number) and
times take their range from ``ragtrack/storage/_input.py``, the rules the store
applies to keys and values. Response models only
document: endpoints render with ``_wire`` (see ``_responses.py``), and these
models mirror its shapes field for field.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from ragtrack.entities import MetricGoal, RunStatus
from ragtrack.storage._input import MAX_TIME, MIN_TIME, checked_time


def _in_range(value: float) -> float:
    return checked_time(value, "a time")


#: Seconds since the epoch, 1970-01-01 to 9999-12-31 UTC; not a bool, NaN or infinity.
Timestamp = Annotated[
    float,
    Field(
        strict=True,
        allow_inf_nan=False,
        json_schema_extra={"minimum": MIN_TIME, "maximum": MAX_TIME},
        description="Seconds since the Unix epoch (1970-01-01 to 9999-12-31 UTC).",
    ),
    AfterValidator(_in_range),
]
#: A JSON object (config, metadata, summary values, hyperparameters); NaN and
#: Infinity tokens are allowed in its numbers.
JsonObject = dict[str, Any]


class _Request(BaseModel):
    # A misspelt field is an error, not silently ignored.
    model_config = ConfigDict(extra="forbid")


# -- errors ------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable error code, e.g. RUN_NOT_FOUND, INVALID_ARGUMENT.")
    message: str
    field: str | None = Field(description="The offending field (body.config, query.limit, ...).")


class ErrorBody(BaseModel):
    error: ErrorDetail


# -- projects and experiments --------------------------------------------------------------


class ProjectCreate(_Request):
    name: str


class ProjectOut(BaseModel):
    name: str
    created_at: float
    run_count: int


class ProjectPage(BaseModel):
    projects: list[ProjectOut]
    next_cursor: str | None


class MetricSpec(_Request):
    name: str
    goal: MetricGoal = MetricGoal.MAX


class MetricSpecOut(BaseModel):
    name: str
    goal: MetricGoal


class ExperimentCreate(_Request):
    name: str
    description: str = ""
    datasets: list[str] = Field(default_factory=list)
    models: list[str] = Field(default_factory=list)
    hyperparameters: JsonObject = Field(default_factory=dict)
    metrics: list[MetricSpec] = Field(default_factory=list)
    command: str | None = None


class ExperimentPatch(_Request):
    """Fields to replace; absent ones stay. ``name`` renames; ``command: null`` clears."""

    name: str | None = None
    description: str | None = None
    datasets: list[str] | None = None
    models: list[str] | None = None
    hyperparameters: JsonObject | None = None
    metrics: list[MetricSpec] | None = None
    command: str | None = None


class ExperimentOut(BaseModel):
    project: str
    name: str
    description: str
    datasets: list[str]
    models: list[str]
    hyperparameters: JsonObject
    metrics: list[MetricSpecOut]
    command: str | None
    created_at: float
    updated_at: float | None
    run_count: int


class ExperimentPage(BaseModel):
    experiments: list[ExperimentOut]
    next_cursor: str | None


class DeletedExperiment(BaseModel):
    experiment: str
    runs: int


class ExperimentDeleted(BaseModel):
    deleted: DeletedExperiment


# -- metric batches and series ---------------------------------------------------------------


class SeriesIn(_Request):
    """One key's points. ``json``: number lists (values may be NaN/Infinity tokens
    or the strings "NaN", "Infinity", "-Infinity"); ``base64``: little-endian
    int64 steps and float64 values/timestamps."""

    encoding: Literal["json", "base64"] = "json"
    steps: list[StrictInt] | StrictStr
    values: list[StrictFloat | StrictStr] | StrictStr
    timestamps: list[StrictFloat] | StrictStr


class MetricBatch(_Request):
    """Points of several keys; a repeated ``batch_id`` is applied once per run."""

    batch_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    series: dict[str, SeriesIn]


class PointsOut(BaseModel):
    points: int = Field(description="Points in the batch (also when it was a repeat).")


class KeysOut(BaseModel):
    keys: list[str]
    next_cursor: str | None


class HistoryOut(BaseModel):
    key: str
    total_points: int = Field(description="Points stored, before downsampling.")
    downsampled: bool
    encoding: Literal["json", "base64"]
    steps: list[int] | str
    values: list[float] | str
    timestamps: list[float] | str


# -- runs ------------------------------------------------------------------------------------


class RunCreate(_Request):
    project: str
    experiment: str | None = None
    name: str | None = None
    run_id: str | None = Field(default=None, description="Choose the id (1-64 of [A-Za-z0-9_-]).")
    config: JsonObject | None = None
    tags: list[str] = Field(default_factory=list)
    notes: str = ""
    status: RunStatus = RunStatus.RUNNING
    created_at: Timestamp | None = None
    metadata: JsonObject | None = None


class RunPatch(_Request):
    status: RunStatus | None = None
    name: str | None = None
    notes: str | None = None
    ended_at: Timestamp | None = None
    error: str | None = None
    tags_add: list[str] = Field(default_factory=list)
    tags_remove: list[str] = Field(default_factory=list)


class RunFinish(_Request):
    status: RunStatus
    error: str | None = None
    batch: MetricBatch | None = None
    summary: JsonObject | None = None


class Heartbeat(_Request):
    at: Timestamp | None = None


class ConfigPatch(_Request):
    config: JsonObject


class SummaryPatch(_Request):
    values: JsonObject


class MetadataPatch(_Request):
    metadata: JsonObject


class MetricSummaryOut(BaseModel):
    count: int
    last: float
    last_step: int
    last_time: float
    min: float
    max: float


class RunOut(BaseModel):
    id: str
    project: str
    experiment: str | None
    name: str
    status: RunStatus
    created_at: float
    started_at: float | None
    ended_at: float | None
    heartbeat_at: float | None
    config: JsonObject
    tags: list[str]
    notes: str
    error: str | None
    metrics: dict[str, MetricSummaryOut]
    explicit_summary: JsonObject = Field(description="Summary values set explicitly.")
    summary: JsonObject = Field(
        description="Per key, the explicit summary value if one was set, else the last "
        "logged value (derived; ignored on input)."
    )
    duration_s: float | None = Field(
        description="Seconds from start to end, or to the last heartbeat of a run that "
        "has not ended; null if it never started (derived)."
    )


class FilterWarningOut(BaseModel):
    """A key no run has (``code`` UNKNOWN_KEY) in ``field`` (``filter``,
    ``group_by``), with the nearest known keys."""

    code: str
    message: str
    field: str
    key: str
    suggestions: list[str]


class RunPage(BaseModel):
    runs: list[RunOut]
    next_cursor: str | None
    warnings: list[FilterWarningOut] = []


class CountOut(BaseModel):
    count: int


class RunIdOut(BaseModel):
    id: str


class ConfigOut(BaseModel):
    config: JsonObject


class MetadataOut(BaseModel):
    metadata: JsonObject


# -- over many runs -------------------------------------------------------------------------


class RunKeysOut(BaseModel):
    params: list[str] = Field(description="Flattened param keys (chunker.size), sorted.")
    metrics: list[str] = Field(description="Summary keys: logged series and explicit values.")


class MetricAggregateOut(BaseModel):
    count: int = Field(description="Runs of the group with a finite value of the metric.")
    mean: float | None = Field(description="null when count is 0 (likewise min and max).")
    min: float | None
    max: float | None


class RunGroupOut(BaseModel):
    value: Any = Field(
        description="The param's value, with its JSON type; null for runs without the param."
    )
    run_count: int
    metrics: dict[str, MetricAggregateOut]


class RunGroupsOut(BaseModel):
    groups: list[RunGroupOut]
    warnings: list[FilterWarningOut] = []


# -- logs and artifacts ----------------------------------------------------------------------


class LogsIn(_Request):
    stream: Literal["stdout", "stderr"]
    text: str
    batch_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class LogsOut(BaseModel):
    text: str


class ArtifactOut(BaseModel):
    path: str
    size: int
    modified_at: float
    sha256: str | None


class ArtifactPage(BaseModel):
    artifacts: list[ArtifactOut]
    next_cursor: str | None


class Health(BaseModel):
    status: Literal["ok"]
    schema_: str | None = Field(alias="schema", description="The database's schema revision.")
    version: str
