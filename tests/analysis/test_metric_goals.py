"""Which way is better for a metric without a defined goal (analysis/metric_goals.py)."""

from __future__ import annotations

import pytest

from ragtrack.analysis.metric_goals import inferred_goal
from ragtrack.entities import MetricGoal


@pytest.mark.parametrize(
    "key",
    ["train/loss", "eval/loss", "val_error", "latency_ms", "eval/perplexity", "step_time", "wer"],
)
def test_losses_errors_latencies_and_times_are_lower_is_better(key: str) -> None:
    assert inferred_goal(key) is MetricGoal.MIN


@pytest.mark.parametrize("key", ["recall@10", "ndcg@10", "mrr", "accuracy", "eval/f1", "score"])
def test_retrieval_and_accuracy_metrics_are_higher_is_better(key: str) -> None:
    assert inferred_goal(key) is MetricGoal.MAX


@pytest.mark.parametrize("key", ["train/lr", "system/cpu_percent", "tokens", "loss_score", ""])
def test_other_names_or_mixed_words_have_no_direction(key: str) -> None:
    assert inferred_goal(key) is None


def test_words_are_whole_words_not_substrings() -> None:
    assert inferred_goal("glossary_size") is None  # 'loss' inside a word is not a loss
    assert inferred_goal("Train/LOSS") is MetricGoal.MIN
