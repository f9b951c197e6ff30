"""The demo job behind ``make run`` / ``ragtrack demo``: realistic RAG runs, logged fast.

It logs through the public SDK exactly as a user's script would: an experiment
``chunking`` sweeping chunk size, retriever top-k and embedding model, each run
fine-tuning an embedder (a ``train/loss`` curve with ``eval/loss`` every 50 steps)
and then evaluating retrieval and generation; an experiment ``reranker`` that
adds a cross-encoder to the best chunking config, with one run that fails.

The metrics follow a simple, documented model so that "which param matters" has
a real answer: chunk size matters most (512 tokens is best: 256 splits answers
across chunks, 1024 dilutes the embedding), the embedding model second, and
top-k moves faithfulness and latency but not retrieval recall. Noise is clipped
so that the best run by ``recall@10`` always has ``chunker.size = 512``.

Example:
    >>> import tempfile
    >>> ids = log_demo_runs(tempfile.mkdtemp(), n_runs=3)
    >>> len(ids)  # 3 sweep runs + 2 reranker runs + 1 failed reranker run
    6
"""

from __future__ import annotations

import itertools
import math
import os
from collections import Counter
from typing import Any

import numpy as np

import ragtrack
from ragtrack.entities import ExperimentMetric, MetricGoal
from ragtrack.exceptions import InvalidArgumentError, ProjectNotFoundError
from ragtrack.storage import Store, open_store

CHUNK_SIZES = (256, 512, 1024)
TOP_KS = (3, 5, 10)
EMBEDDING_MODELS = ("bge-base-en-v1.5", "e5-base-v2", "all-MiniLM-L6-v2")
GENERATOR = {"model": "llama-3.1-8b-instruct", "temperature": 0.0}
TRAIN_STEPS = 300
EVAL_EVERY = 50

# Effects on recall@10 (absolute). The gap between chunk sizes is larger than the
# spread of embedding models plus twice the noise bound, which is what guarantees
# that the best run has 512-token chunks whatever the seed.
_CHUNK_RECALL = {256: -0.07, 512: 0.05, 1024: -0.04}
_EMBED_RECALL = {"bge-base-en-v1.5": 0.03, "e5-base-v2": 0.015, "all-MiniLM-L6-v2": -0.02}
_NOISE_BOUND = 0.012
_BASE_RECALL = 0.62
# Few passages starve the generator, many distract it.
_TOPK_FAITHFULNESS = {3: -0.04, 5: 0.02, 10: -0.01}
_EMBED_LATENCY_MS = {"bge-base-en-v1.5": 24.0, "e5-base-v2": 22.0, "all-MiniLM-L6-v2": 7.0}
_EMBED_FLOOR = {"bge-base-en-v1.5": 0.21, "e5-base-v2": 0.24, "all-MiniLM-L6-v2": 0.33}
_SHORT_NAMES = {
    "bge-base-en-v1.5": "bge-base",
    "e5-base-v2": "e5-base",
    "all-MiniLM-L6-v2": "minilm",
}

#: The config every tutorial starts from; logged first and tagged ``baseline``.
BASELINE = (256, 5, "all-MiniLM-L6-v2")

# (reranker model, recall@10 gain, ndcg@10 gain, latency ms) on the best chunking config.
_RERANKERS = (
    ("bge-reranker-base", 0.04, 0.06, 95.0),
    ("ms-marco-MiniLM-L-6-v2", 0.025, 0.04, 38.0),
)
_FAILING_RERANKER = "bge-reranker-large"
_FAIL_AT_STEP = 137

# The demo must take seconds: no background sampling, no console tee, and no
# package listing (the slowest part of capture); git, environment and hardware
# are still recorded so `ragtrack runs show` has something to show.
_CAPTURE = {"system_metrics": False, "console": False, "packages": False}


class DemoFailure(RuntimeError):
    """The exception the demo's failing run raises on purpose."""


def log_demo_runs(
    dir: str | os.PathLike[str] | None,
    project: str = "rag-demo",
    n_runs: int = 12,
    seed: int = 0,
) -> list[str]:
    """Log ``n_runs`` chunking-sweep runs and three reranker runs; return their ids.

    Running it again replaces what an earlier demo logged to ``project`` (its
    two experiments and their runs), so ``make run`` twice shows one demo, not
    two with the same run names. Anything else stays: other projects, and
    other experiments and runs of ``project``. An experiment of the same name
    that the demo did not define is refused (InvalidArgumentError), not deleted.

    Args:
        dir: the store directory (``None``: ``$RAGTRACK_DIR`` or ``./.ragtrack``).
        project: project to log to.
        n_runs: runs in the ``chunking`` sweep (1-500). The first is the
            baseline; the others cycle through chunk sizes so each size gets a
            fair share. ``reranker`` adds two completed runs and one failed run.
        seed: makes every param, name and metric value reproducible (ids and
            times are not).

    Returns:
        Run ids in the order logged: sweep runs, then reranker runs, the failed
        one last.

    Example:
        >>> import tempfile
        >>> store = tempfile.mkdtemp()
        >>> ids = log_demo_runs(store, n_runs=2, seed=7)
        >>> ragtrack.Api(store).run(ids[-1]).status.value
        'failed'
    """
    if isinstance(n_runs, bool) or not isinstance(n_runs, int) or not 1 <= n_runs <= 500:
        raise InvalidArgumentError(f"n_runs must be an int from 1 to 500, got {n_runs!r}")
    _replace_experiments(dir, project)
    ids = []
    seen: Counter[tuple[int, int, str]] = Counter()
    for index, combo in enumerate(sweep_plan(n_runs, seed)):
        # Seeding per run keeps run i identical whatever n_runs is.
        rng = np.random.default_rng([seed, index])
        ids.append(_log_sweep_run(dir, project, combo, seen[combo], index == 0, rng))
        seen[combo] += 1
    for index, reranker in enumerate(_RERANKERS):
        rng = np.random.default_rng([seed, 10_000 + index])
        ids.append(_log_reranker_run(dir, project, reranker, rng))
    ids.append(_log_failing_run(dir, project, np.random.default_rng([seed, 20_000])))
    return ids


#: What the two experiments are for and how their runs are judged (the UI ranks
#: and picks the objective from these goals).
_EXPERIMENTS: tuple[tuple[str, str, list[str], dict[str, Any]], ...] = (
    (
        "chunking",
        "Chunk size x retriever top-k x embedding model, each with a short embedder "
        "fine-tune, judged on retrieval and answer quality.",
        list(EMBEDDING_MODELS),
        {
            "chunker.size": list(CHUNK_SIZES),
            "retriever.top_k": list(TOP_KS),
            "retriever.embedding_model": list(EMBEDDING_MODELS),
        },
    ),
    (
        "reranker",
        "A cross-encoder reranker over the best chunking config.",
        [name for name, *_ in _RERANKERS] + [_FAILING_RERANKER],
        {"reranker.candidates": [50, 100]},
    ),
)
_GOALS = (
    ExperimentMetric("recall@10", MetricGoal.MAX),
    ExperimentMetric("ndcg@10", MetricGoal.MAX),
    ExperimentMetric("faithfulness", MetricGoal.MAX),
    ExperimentMetric("latency_ms", MetricGoal.MIN),
)


def _replace_experiments(dir: str | os.PathLike[str] | None, project: str) -> None:
    store = open_store(dir, shared=True)
    try:
        existing = _demo_experiments_in(store, project)
        for name in existing:
            store.delete_experiment(project, name)  # and its runs
        for name, description, models, hyperparameters in _EXPERIMENTS:
            store.create_experiment(
                project,
                name,
                description=description,
                datasets=["fiqa-2018-mini"],
                models=models,
                hyperparameters=hyperparameters,
                metrics=_GOALS,
            )
    finally:
        store.close()


def _demo_experiments_in(store: Store, project: str) -> list[str]:
    """The demo's experiments already in ``project``; all checked before any is
    deleted, so a refusal leaves the project as it was."""
    try:
        experiments = {e.name: e for e in store.list_experiments(project)}
    except ProjectNotFoundError:
        return []
    found = []
    for name, description, _, _ in _EXPERIMENTS:
        experiment = experiments.get(name)
        if experiment is None:
            continue
        # The description is the demo's mark: an experiment of that name with
        # another one is somebody's work, which the demo must not delete.
        if experiment.description != description:
            raise InvalidArgumentError(
                f"project {project!r} has an experiment {name!r} that the demo did not "
                f"define; run the demo in another project: ragtrack demo --project NAME",
                field="project",
            )
        found.append(name)
    return found


def sweep_plan(n_runs: int, seed: int = 0) -> list[tuple[int, int, str]]:
    """(chunk size, top-k, embedding model) of each sweep run, baseline first.

    Example:
        >>> plan = sweep_plan(4)
        >>> plan[0], sorted({size for size, _, _ in plan})
        ((256, 5, 'all-MiniLM-L6-v2'), [256, 512, 1024])
    """
    rng = np.random.default_rng([seed, 30_000])  # a stream no run uses
    by_size = {}
    for size in CHUNK_SIZES:
        combos = [(size, k, m) for k, m in itertools.product(TOP_KS, EMBEDDING_MODELS)]
        combos = [c for c in combos if c != BASELINE]
        by_size[size] = [combos[i] for i in rng.permutation(len(combos))]
    # After the baseline (a 256 run), start with 512 so that even a tiny sweep has one.
    order = (512, 1024, 256)
    plan = [BASELINE]
    for i in range(n_runs - 1):
        combos = by_size[order[i % 3]]
        plan.append(combos[(i // 3) % len(combos)])
    return plan


def run_name(size: int, top_k: int, model: str, repeat: int = 0) -> str:
    """``chunk512-k5-bge-base``; repeats of a config (more than 27 runs) get ``-r2``..."""
    name = f"chunk{size}-k{top_k}-{_SHORT_NAMES[model]}"
    return name if repeat == 0 else f"{name}-r{repeat + 1}"


def _config(size: int, top_k: int, model: str) -> dict[str, Any]:
    return {
        "retriever": {"top_k": top_k, "embedding_model": model},
        "chunker": {"size": size, "overlap": size // 8},
        "generator": dict(GENERATOR),
        "finetune": {"lr": 2e-5, "steps": TRAIN_STEPS, "batch_size": 32},
        "dataset": "fiqa-2018-mini",
    }


def _log_sweep_run(
    dir: str | os.PathLike[str] | None,
    project: str,
    combo: tuple[int, int, str],
    repeat: int,
    baseline: bool,
    rng: np.random.Generator,
) -> str:
    size, top_k, model = combo
    with ragtrack.init(
        project=project,
        experiment="chunking",
        name=run_name(size, top_k, model, repeat),
        config=_config(size, top_k, model),
        tags=["sweep", "baseline"] if baseline else ["sweep"],
        notes="The tutorial's defaults: 256-token chunks, MiniLM embeddings." if baseline else "",
        dir=dir,
        capture=_CAPTURE,
    ) as run:
        _log_training(run, _EMBED_FLOOR[model] + 0.05 * (size == 1024), rng)
        run.log(_eval_metrics(size, top_k, model, rng), step=TRAIN_STEPS)
    return run.id


def _log_reranker_run(
    dir: str | os.PathLike[str] | None,
    project: str,
    reranker: tuple[str, float, float, float],
    rng: np.random.Generator,
) -> str:
    name, recall_gain, ndcg_gain, latency = reranker
    size, top_k, model = 512, 5, "bge-base-en-v1.5"
    config = _config(size, top_k, model) | {"reranker": {"model": name, "candidates": 50}}
    with ragtrack.init(
        project=project,
        experiment="reranker",
        name=f"rerank-{name}",
        config=config,
        tags=["candidate"],
        notes="Rerank the top 50 candidates of the best chunking config.",
        dir=dir,
        capture=_CAPTURE,
    ) as run:
        _log_training(run, _EMBED_FLOOR[model], rng)
        metrics = _eval_metrics(size, top_k, model, rng)
        metrics["recall@10"] = min(1.0, metrics["recall@10"] + recall_gain)
        metrics["recall@5"] = min(metrics["recall@10"], metrics["recall@5"] + 1.5 * recall_gain)
        metrics["ndcg@10"] += ndcg_gain
        metrics["mrr"] += ndcg_gain * 1.2
        metrics["latency_ms"] += latency
        run.log(metrics, step=TRAIN_STEPS)
    return run.id


def _log_failing_run(
    dir: str | os.PathLike[str] | None, project: str, rng: np.random.Generator
) -> str:
    size, top_k, model = 512, 5, "bge-base-en-v1.5"
    config = _config(size, top_k, model) | {
        "reranker": {"model": _FAILING_RERANKER, "candidates": 100}
    }
    run = ragtrack.init(
        project=project,
        experiment="reranker",
        name=f"rerank-{_FAILING_RERANKER}",
        config=config,
        tags=["candidate"],
        notes="Twice the candidates with the large reranker: does it fit in memory?",
        dir=dir,
        capture=_CAPTURE,
    )
    try:
        # The `with` block records the exception: status failed, traceback stored.
        with run:
            _log_training(run, _EMBED_FLOOR[model], rng, stop_at=_FAIL_AT_STEP)
            raise DemoFailure(
                "CUDA out of memory: tried to allocate 2.50 GiB while reranking 100 candidates "
                "(simulated: the ragtrack demo fails this run on purpose)"
            )
    except DemoFailure:
        pass
    return run.id


def _log_training(
    run: ragtrack.Run,
    floor: float,
    rng: np.random.Generator,
    stop_at: int | None = None,
) -> None:
    """A fine-tuning curve: exponential decay to ``floor`` with noise, cosine lr."""
    last = TRAIN_STEPS if stop_at is None else stop_at
    for step in range(1, last + 1):
        progress = step / TRAIN_STEPS
        loss = floor + 0.9 * math.exp(-step / 60) + rng.normal(0, 0.025)
        lr = 2e-5 * 0.5 * (1 + math.cos(math.pi * progress))
        run.log({"train/loss": max(0.0, loss), "train/lr": lr}, step=step)
        if step % EVAL_EVERY == 0:
            eval_loss = floor + 0.05 + 0.85 * math.exp(-step / 70) + rng.normal(0, 0.01)
            run.log({"eval/loss": eval_loss}, step=step)


def _eval_metrics(size: int, top_k: int, model: str, rng: np.random.Generator) -> dict[str, float]:
    def noise(scale: float) -> float:
        return float(np.clip(rng.normal(0, scale), -2 * scale, 2 * scale))

    recall10 = (
        _BASE_RECALL
        + _CHUNK_RECALL[size]
        + _EMBED_RECALL[model]
        + float(np.clip(rng.normal(0, _NOISE_BOUND / 2), -_NOISE_BOUND, _NOISE_BOUND))
    )
    recall5 = recall10 - 0.09 + noise(0.005)
    ndcg10 = 0.82 * recall10 - 0.03 + noise(0.005)
    mrr = ndcg10 - 0.06 + noise(0.005)
    faithfulness = 0.8 + _TOPK_FAITHFULNESS[top_k] + 0.3 * (recall10 - _BASE_RECALL) + noise(0.01)
    latency = 110.0 + 0.035 * size * top_k + _EMBED_LATENCY_MS[model] + noise(6.0)
    return {
        "recall@5": round(recall5, 4),
        "recall@10": round(recall10, 4),
        "ndcg@10": round(ndcg10, 4),
        "mrr": round(mrr, 4),
        "faithfulness": round(min(1.0, faithfulness), 4),
        "latency_ms": round(latency, 1),
    }
