"""Processes that open a new SQLite study database at the same moment (the first `hpo run` and an
`hpo status` started beside it) all get a working storage: creating Optuna's tables is done once,
under a lock, instead of racing in CREATE TABLE and in stamping the schema version."""
from __future__ import annotations

import multiprocessing

import optuna

from storage import make_optuna_storage

PROCESSES, ROUNDS = 4, 5  # without the lock most rounds had a loser (8 of 10 when measured)


def open_together(url: str, barrier, results) -> None:
    barrier.wait()  # all open the empty file at once
    try:
        storage = make_optuna_storage(url)
        optuna.create_study(study_name="s", storage=storage, load_if_exists=True)
        results.put("ok")
    except Exception as exc:  # noqa: BLE001 - the loser's error is what the test reports
        results.put(f"{type(exc).__name__}: {exc}".splitlines()[0])


def test_processes_opening_a_new_database_together_all_succeed(tmp_path):
    context = multiprocessing.get_context("fork")  # optuna is imported already: fast starts
    for round_ in range(ROUNDS):
        url = f"sqlite:///{tmp_path / f'round{round_}' / 'optuna.db'}"
        barrier, results = context.Barrier(PROCESSES), context.Queue()
        workers = [context.Process(target=open_together, args=(url, barrier, results))
                   for _ in range(PROCESSES)]
        for worker in workers:
            worker.start()
        outcomes = [results.get(timeout=120) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)
        assert outcomes == ["ok"] * PROCESSES, f"round {round_}: {outcomes}"
    studies = optuna.get_all_study_names(make_optuna_storage(url))
    assert studies == ["s"]
