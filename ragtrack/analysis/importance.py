"""Hyperparameter importance: which params explain a metric across runs (fANOVA).

The runs become trials of an in-memory Optuna study (params: the flattened config;
value: the run's summary of the metric) and Optuna's
:class:`~optuna.importance.FanovaImportanceEvaluator` (Hutter et al., ICML 2014)
fits a random forest and splits the metric's variance among the params.

How runs and params are chosen:

- a run counts when its summary of the metric is a finite number; the others are
  skipped (``skipped_runs``);
- a param is numeric (``Int``/``FloatDistribution`` over the observed range) when
  every counted run has a finite int or float for it, otherwise categorical over
  the values' display texts, and a run *without* the param is the category
  ``(absent)``: "has a reranker or not" is often the very thing that matters;
- dropped (``dropped_params``, with the reason in ``drop_reasons``): params that
  are constant across the counted runs, and categorical params with a different
  value in every run (an output path or a timestamp: with three runs or more it
  names runs rather than explains them);
- params that group the runs exactly as an earlier param does, and when both
  are numeric also order them alike (``chunker.overlap`` set to
  ``chunker.size / 8``, or a label per size), are indistinguishable to the
  forest, which would share their importance arbitrarily between them; they are
  counted once, under the first in config order, and listed in ``aliases``.

Example:
    >>> from ragtrack.entities import RunRecord, RunStatus
    >>> runs = [RunRecord(id=str(i), project="p", experiment=None, name=str(i),
    ...                   status=RunStatus.COMPLETED, created_at=0.0,
    ...                   config={"size": size, "seed": seed},
    ...                   explicit_summary={"recall": size / 1000})
    ...         for i, (size, seed) in enumerate([(256, 1), (512, 2), (1024, 1), (512, 1)])]
    >>> result = param_importance(runs, "recall")
    >>> result.importances[0][0]
    'size'
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ragtrack.analysis.comparison import (
    ParamColumn,
    metric_value,
    param_columns,
    split_by_metric,
)
from ragtrack.entities import RunRecord
from ragtrack.exceptions import InvalidArgumentError, RagtrackError

N_TREES = 64
DEFAULT_MAX_RUNS = 200
#: Below this many runs a ranking carries a caveat: a forest fitted on a handful
#: of points splits the variance almost arbitrarily among params that co-vary.
FEW_RUNS = 10
METHOD = f"fANOVA (Optuna FanovaImportanceEvaluator, random forest of {N_TREES} trees)"


@dataclass(frozen=True)
class ParamImportance:
    """How much of a metric's variance across runs each param explains.

    ``importances`` is sorted descending and sums to 1; it is empty when nothing
    could be computed, and ``message`` then says why. ``n_runs`` counts the runs
    fitted, ``skipped_runs`` those without a finite value of the metric; ``note``
    says when only a sample of the runs was fitted (see ``max_runs``).
    """

    metric: str
    method: str
    importances: list[tuple[str, float]]
    n_runs: int
    skipped_runs: int
    dropped_params: list[str]
    message: str | None = None
    drop_reasons: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, list[str]] = field(default_factory=dict)
    note: str | None = None

    @property
    def caveat(self) -> str | None:
        """What to keep in mind about a ranking from fewer than :data:`FEW_RUNS` runs.

        Example:
            >>> print(ParamImportance("recall", METHOD, [("size", 1.0)], 4, 0, []).caveat)
            Only 4 runs: with fewer than 10 the ranking is a hint, which a few more runs can change.
        """
        if not self.importances or self.n_runs >= FEW_RUNS:
            return None
        return (
            f"Only {self.n_runs} runs: with fewer than {FEW_RUNS} the ranking is a hint, "
            f"which a few more runs can change."
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "method": self.method,
            "importances": [{"param": k, "importance": v} for k, v in self.importances],
            "n_runs": self.n_runs,
            "skipped_runs": self.skipped_runs,
            "dropped_params": self.dropped_params,
            "drop_reasons": self.drop_reasons,
            "aliases": self.aliases,
            "message": self.message,
            "note": self.note,
            "caveat": self.caveat,
        }


def param_importance(
    runs: Sequence[RunRecord], metric: str, *, seed: int = 0, max_runs: int = DEFAULT_MAX_RUNS
) -> ParamImportance:
    """fANOVA importance of every varying param of ``runs`` for ``metric``.

    Args:
        runs: the runs to learn from (typically one experiment's).
        metric: a summary key (``recall@10``); runs without a finite value are skipped.
        seed: the random forest's (and the sample's) seed; the same runs and seed
            give the same result.
        max_runs: at most this many runs are fitted, a random sample when there are
            more (``note`` then says so): the forest's fully grown trees make
            fANOVA's time grow faster than the number of runs (about a second for
            200 runs of five params, twenty for 1,000).

    Raises:
        InvalidArgumentError: ``max_runs`` is below 2.
        RagtrackError: Optuna or scikit-learn is not installed.

    Example:
        >>> from ragtrack.entities import RunRecord, RunStatus
        >>> run = RunRecord(id="a", project="p", experiment=None, name="a",
        ...                 status=RunStatus.COMPLETED, created_at=0.0,
        ...                 config={"lr": 0.1}, explicit_summary={"acc": 0.5})
        >>> param_importance([run], "acc").message
        'needs at least 2 runs with a finite value of acc; found 1'
    """
    if isinstance(max_runs, bool) or not isinstance(max_runs, int) or max_runs < 2:
        raise InvalidArgumentError(
            f"max_runs must be an integer of at least 2, got {max_runs!r}", field="max_runs"
        )
    kept, skipped = split_by_metric(runs, metric)
    note = None
    if len(kept) > max_runs:
        note = (
            f"fitted on a random {max_runs:,} of the {len(kept):,} runs "
            f"with a finite value of {metric}"
        )
        sample = np.random.default_rng(seed).choice(len(kept), size=max_runs, replace=False)
        kept = [kept[i] for i in sorted(sample.tolist())]

    def result(
        importances: list[tuple[str, float]] | None = None,
        dropped: dict[str, str] | None = None,
        aliases: dict[str, list[str]] | None = None,
        message: str | None = None,
    ) -> ParamImportance:
        return ParamImportance(
            metric=metric,
            method=METHOD,
            importances=importances or [],
            n_runs=len(kept),
            skipped_runs=len(skipped),
            dropped_params=list(dropped or {}),
            message=message,
            drop_reasons=dropped or {},
            aliases=aliases or {},
            note=note,
        )

    if len(kept) < 2:
        return result(
            message=f"needs at least 2 runs with a finite value of {metric}; found {len(kept)}"
        )
    columns, dropped = _usable_columns(kept)
    columns, aliases = _merge_aliases(columns)
    if not columns:
        return result(
            dropped=dropped,
            message=f"no param varies across the {len(kept)} runs with a finite value of {metric}",
        )
    ys = [metric_value(run, metric) or 0.0 for run in kept]
    if min(ys) == max(ys):
        return result(
            dropped=dropped,
            aliases=aliases,
            message=f"{metric} is {ys[0]:g} in all {len(kept)} runs: no param can explain it",
        )
    raw = _fanova(columns, ys, seed)
    total = float(sum(raw.values()))
    if not total > 0:
        return result(
            dropped=dropped,
            aliases=aliases,
            message=f"the random forest found no param that explains {metric}",
        )
    importances = sorted(((k, float(v) / total) for k, v in raw.items()), key=lambda kv: -kv[1])
    return result(importances, dropped, aliases)


def _usable_columns(runs: Sequence[RunRecord]) -> tuple[list[ParamColumn], dict[str, str]]:
    # Columns in config order, which decides which of two aliases is kept.
    columns: list[ParamColumn] = []
    dropped: dict[str, str] = {}
    for column in param_columns(runs):
        if column.constant:
            dropped[column.key] = "the same in every run"
        elif not column.numeric and len(column.categories) == len(runs) >= 3:
            dropped[column.key] = "a different value in every run"
        else:
            columns.append(column)
    return columns, dropped


def _merge_aliases(columns: list[ParamColumn]) -> tuple[list[ParamColumn], dict[str, list[str]]]:
    kept: list[tuple[ParamColumn, tuple[int, ...], tuple[int, ...] | None]] = []
    aliases: dict[str, list[str]] = {}
    for column in columns:
        groups, order = _splits(column)
        for first, first_groups, first_order in kept:
            # Two numeric params must also order the runs alike (two unrelated floats
            # group runs alike, one value each); a categorical one only groups them.
            if groups == first_groups and (order is None or first_order in (None, order)):
                aliases.setdefault(first.key, []).append(column.key)
                break
        else:
            kept.append((column, groups, order))
    return [column for column, _, _ in kept], aliases


def _splits(column: ParamColumn) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
    """How ``column`` groups the runs and, when numeric, orders them (either way:
    ``overlap = size / 8`` and ``1 / size`` both alias ``size``)."""
    first_seen: dict[Any, int] = {}
    groups = tuple(first_seen.setdefault(v, len(first_seen)) for v in column.values)
    if not column.numeric:
        return groups, None
    rank = {v: i for i, v in enumerate(sorted(first_seen))}
    up = tuple(rank[v] for v in column.values)
    return groups, min(up, tuple(len(rank) - 1 - r for r in up))


def _fanova(columns: list[ParamColumn], ys: list[float], seed: int) -> dict[str, float]:
    try:
        import optuna
        import sklearn  # noqa: F401  (fANOVA's random forest)
    except ModuleNotFoundError as e:
        raise RagtrackError(
            f"param importance needs {e.name!r}, which is not installed: "
            f"pip install 'ragtrack[server]'"
        ) from e
    from optuna.distributions import (
        BaseDistribution,
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    distributions: dict[str, BaseDistribution] = {}
    for c in columns:
        if not c.numeric:
            distributions[c.key] = CategoricalDistribution(c.categories)
        elif all(isinstance(v, int) for v in c.values):
            distributions[c.key] = IntDistribution(min(c.values), max(c.values))
        else:
            distributions[c.key] = FloatDistribution(float(min(c.values)), float(max(c.values)))
    with _quiet_optuna(optuna):
        study = optuna.create_study(direction="maximize")
        for i, y in enumerate(ys):
            params = {
                c.key: float(c.values[i]) if isinstance(d, FloatDistribution) else c.values[i]
                for c, d in zip(columns, distributions.values(), strict=True)
            }
            trial = optuna.trial.create_trial(params=params, distributions=distributions, value=y)
            study.add_trial(trial)
        evaluator = optuna.importance.FanovaImportanceEvaluator(n_trees=N_TREES, seed=seed)
        importances = optuna.importance.get_param_importances(study, evaluator=evaluator)
        return {k: float(v) for k, v in importances.items()}


_quiet_lock = threading.Lock()
_quiet_depth = 0
_saved_verbosity = 0


@contextlib.contextmanager
def _quiet_optuna(optuna: Any) -> Iterator[None]:
    """Optuna's INFO logs ("A new study created in memory ...") off while inside.

    Counted so that concurrent requests (the server's threads) restore the user's
    verbosity only when the last one leaves.
    """
    global _quiet_depth, _saved_verbosity
    with _quiet_lock:
        if _quiet_depth == 0:
            _saved_verbosity = optuna.logging.get_verbosity()
            optuna.logging.set_verbosity(max(_saved_verbosity, optuna.logging.WARNING))
        _quiet_depth += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0:
                optuna.logging.set_verbosity(_saved_verbosity)
