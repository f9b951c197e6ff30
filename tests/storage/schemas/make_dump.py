"""Write the stored database of the current schema revision, for the migration tests.

Run it once per released revision, with the ragtrack of that revision, and commit
the output beside the older dumps (they are never regenerated)::

    .venv/bin/python tests/storage/schemas/make_dump.py

It logs what every dump holds — project ``legacy``, experiment ``chunking``, one
finished run ``old-run`` with params, a tag, 30 steps of ``loss`` and
``recall@10`` and a summary value — plus what the revision added (0002: the
experiment's definition and a log chunk with a batch id; 0003: a run in project
``kinds`` whose params are the string ``"null"`` and JSON ``null``), then writes
``<revision>.sql`` with :meth:`sqlite3.Connection.iterdump`.
"""

from __future__ import annotations

import math
import sqlite3
import tempfile
from pathlib import Path

import ragtrack
from ragtrack.entities import ExperimentMetric, MetricGoal
from ragtrack.storage import open_store
from ragtrack.storage.sql._schema import SCHEMA_REVISION


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        store = open_store(dir=directory)
        store.create_experiment(
            "legacy",
            "chunking",
            description="chunk size sweep",
            datasets=["msmarco-dev"],
            models=["bge-small-en"],
            hyperparameters={"chunk_size": [256, 512], "temperature": math.nan},
            metrics=[ExperimentMetric("recall@10"), ExperimentMetric("loss", MetricGoal.MIN)],
            command="python train.py",
        )
        run = ragtrack.init(
            project="legacy",
            experiment="chunking",
            name="old-run",
            config={"chunk_size": 512, "retriever": {"top_k": 5}},
            tags=["baseline"],
            dir=directory,
            capture=False,
        )
        for step in range(30):
            run.log({"loss": 1 / (step + 1), "recall@10": step / 30}, step=step)
        run.summary["best"] = 0.9
        run.finish()
        store.append_logs(run.id, "stdout", "epoch 1\n", batch_id="log-batch-1")
        store.create_run(project="kinds", config={"text": "null", "none": None, "on": True})
        store.close()
        con = sqlite3.connect(Path(directory) / "ragtrack.db")
        dump = "\n".join(con.iterdump()) + "\n"
        con.close()
    out = Path(__file__).with_name(f"{SCHEMA_REVISION}.sql")
    out.write_text(dump)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
