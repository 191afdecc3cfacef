"""Trial throughput of 1, 2, 4 and 8 workers on one PostgreSQL study, as ratios to one worker.

Each trial sleeps a fixed time (default 0.5 s) instead of training, so N workers would ideally
finish N / sleep trials per second; what they lose is the storage's work per trial (the study
lock, counting, ask, tell, heartbeats) and the workers' contention for the lock and the database.
The workers run the same loop as `hpo worker` (hpo.trial_loop.run_trials, storage/), as separate
processes released together by a barrier. The benchmark starts its own PostgreSQL server in a
temporary folder (storage.local_postgres), durable (fsync on) unless --fast.

    python benchmarks/worker_scaling.py                     # 1, 2, 4, 8 workers, 0.5 s trials
    python benchmarks/worker_scaling.py --workers 1 2 4 8 16 --sleep 0.5 --rounds 20

Target: throughput at least 0.9 x N up to 8 workers. "overhead/trial" is the worker time per
trial not spent in the objective: N x wall / trials - sleep; "worker CPU/trial" is the CPU the
worker processes spent per trial (the database server's is not counted). With more workers than
free cores the wall figures measure the machine's load as much as the code.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import optuna  # noqa: E402

from storage.local_postgres import LocalPostgres  # noqa: E402
from tests.helpers.sleep_worker import sleep_objective  # noqa: E402

HEARTBEAT, GRACE = 60, 180  # the study file's defaults: the stale-trial check runs every trial


def worker(url: str, study_name: str, budget: int, sleep: float, barrier, results) -> None:
    # Everything that opens a connection happens here, after the fork.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    from hpo.trial_loop import run_trials
    from storage import make_optuna_storage
    from storage.locks import study_lock

    storage = make_optuna_storage(url, HEARTBEAT, GRACE, failed_trial_retries=1)
    # Warm up first (connections, SQLAlchemy's statement cache) on a study of this worker's
    # own: the figures are for a long study's steady state, not for a process's first trial.
    warm_name = f"warm-up-{os.getpid()}"
    warm_lock = study_lock(url, warm_name)
    warm = optuna.create_study(study_name=warm_name, storage=storage)
    run_trials(warm, sleep_objective(0.0), 3, warm_lock, storage=storage)
    warm_lock.dispose()
    lock = study_lock(url, study_name)
    with lock():
        study = optuna.create_study(study_name=study_name, storage=storage, load_if_exists=True,
                                    sampler=optuna.samplers.RandomSampler())
    barrier.wait()
    started, cpu = time.perf_counter(), time.process_time()
    result = run_trials(study, sleep_objective(sleep), budget, lock, storage=storage,
                        poll_interval=0.05)
    results.put((len(result.trials), time.perf_counter() - started, time.process_time() - cpu))
    lock.dispose()


def measure(pg: LocalPostgres, n_workers: int, trials: int, sleep: float) -> dict:
    url = pg.create_database(f"scaling_{n_workers}")
    ctx = multiprocessing.get_context("fork")  # imports done once, in the parent
    barrier, results = ctx.Barrier(n_workers + 1), ctx.Queue()
    procs = [ctx.Process(target=worker, args=(url, "scaling", trials, sleep, barrier, results))
             for _ in range(n_workers)]
    for proc in procs:
        proc.start()
    barrier.wait()
    started = time.time()
    per_worker = [results.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join()
        if proc.exitcode != 0:
            raise RuntimeError(f"a worker exited with {proc.exitcode}")
    study = optuna.load_study(study_name="scaling", storage=url)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == trials == len(study.trials), "the budget was not exact"
    wall = max(t.datetime_complete.timestamp() for t in done) - started
    return {"workers": n_workers, "trials": trials, "wall": wall, "throughput": trials / wall,
            "overhead_ms": (n_workers * wall / trials - sleep) * 1000,
            "cpu_ms": sum(c for _, _, c in per_worker) / trials * 1000,
            "spread": [n for n, _, _ in per_worker]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--sleep", type=float, default=0.5, help="seconds per trial")
    parser.add_argument("--rounds", type=int, default=20,
                        help="trials per worker: the budget is rounds x workers")
    parser.add_argument("--fast", action="store_true",
                        help="fsync off on the server (measures the code, not the disk)")
    args = parser.parse_args()
    print(f"# {os.cpu_count()} CPUs, trials of {args.sleep} s, {args.rounds} per worker, "
          f"PostgreSQL {'fsync off' if args.fast else 'durable (fsync on)'}, "
          f"heartbeat {HEARTBEAT} s")
    rows = []
    with LocalPostgres(fast=args.fast) as pg:
        os.environ.update(pg.client_env())
        for n in args.workers:
            rows.append(measure(pg, n, args.rounds * n, args.sleep))
            r = rows[-1]
            print(f"  measured {n} worker(s): {r['trials']} trials in {r['wall']:.2f} s",
                  flush=True)
    base = next((r["throughput"] for r in rows if r["workers"] == 1), None)
    print(f"\n{'workers':>7} {'trials/s':>9} {'x 1 worker':>10} {'target':>7} "
          f"{'overhead/trial':>15} {'worker CPU/trial':>17}  trials per worker")
    for r in rows:
        ratio = r["throughput"] / base if base else float("nan")
        target = 0.9 * r["workers"]
        mark = "ok" if ratio >= target else "BELOW"
        print(f"{r['workers']:>7} {r['throughput']:>9.2f} {ratio:>10.2f} {target:>5.1f} "
              f"{mark:<5} {r['overhead_ms']:>8.1f} ms {r['cpu_ms']:>12.1f} ms    "
              f"{sorted(r['spread'])}")
    one = [r for r in rows if r["workers"] == 1]
    if one:
        print(f"\nstorage overhead per trial, one worker: {one[0]['overhead_ms']:.1f} ms wall, "
              f"{statistics.median(r['cpu_ms'] for r in rows):.1f} ms of worker CPU (median over "
              f"sizes; the wall figure swings with other load on the machine, the CPU one not)")
    try:
        print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
