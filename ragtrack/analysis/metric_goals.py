"""Which way is better for a metric no experiment gave a goal: guessed from its name.

An experiment may define a metric's goal (max or min); most metrics have none.
Marking the highest value of every such metric bolds a loss at its worst, so
the guess goes by the key's words: ``train/loss``, ``val_error``,
``latency_ms``, ``perplexity`` and times are lower-is-better, ``recall@10``,
``accuracy``, ``ndcg`` and the like higher-is-better, and anything else (or a
key with words of both kinds) has no direction: nothing is marked for it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ragtrack.entities import MetricGoal

_LOWER = frozenset(
    [
        "loss",
        "losses",
        "error",
        "errors",
        "err",
        "latency",
        "perplexity",
        "ppl",
        "time",
        "seconds",
        "duration",
        "wer",
        "cer",
        "mse",
        "mae",
        "rmse",
        "nll",
        "cost",
        "regret",
        "distance",
    ]
)
_HIGHER = frozenset(
    [
        "accuracy",
        "acc",
        "recall",
        "precision",
        "f1",
        "ndcg",
        "mrr",
        "map",
        "auc",
        "auroc",
        "bleu",
        "rouge",
        "meteor",
        "score",
        "reward",
        "faithfulness",
        "relevance",
        "hit",
        "hits",
        "em",
        "exact",
        "throughput",
    ]
)
_WORD = re.compile(r"[a-z0-9]+")


def inferred_goal(key: str) -> MetricGoal | None:
    """The goal a metric's name suggests, or ``None`` when it suggests none.

    Example:
        >>> inferred_goal("train/loss"), inferred_goal("recall@10"), inferred_goal("train/lr")
        (<MetricGoal.MIN: 'min'>, <MetricGoal.MAX: 'max'>, None)
        >>> inferred_goal("latency_ms"), inferred_goal("eval/perplexity")
        (<MetricGoal.MIN: 'min'>, <MetricGoal.MIN: 'min'>)
    """
    words = set(_WORD.findall(key.lower()))
    lower, higher = bool(words & _LOWER), bool(words & _HIGHER)
    if lower == higher:  # neither, or both ('loss_score'): no guess
        return None
    return MetricGoal.MIN if lower else MetricGoal.MAX


def goal_of(key: str, goals: Mapping[str, MetricGoal]) -> tuple[MetricGoal | None, bool]:
    """The goal of metric ``key``: the experiment's (``goals``), else the one its
    name suggests; and whether it was inferred from the name.

    Example:
        >>> goal_of("loss", {}), goal_of("loss", {"loss": MetricGoal.MAX})
        ((<MetricGoal.MIN: 'min'>, True), (<MetricGoal.MAX: 'max'>, False))
    """
    goal = goals.get(key)
    return (inferred_goal(key), True) if goal is None else (goal, False)
