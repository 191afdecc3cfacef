"""Does the search pay off? Four ways to pick a fine-tuning configuration on the demo task, each
with the same data, model, search space and trial budget, over several seeds.

    python benchmarks/search_efficiency.py [--study studies/demo.yaml] [--n-trials 8]
        [--seeds 0 1 2] [--arms default random hf_trainer dnahpo] [--out runs/bench/search]

Arms
- ``default``: the field's default configuration alone (hpo.spec.BASELINE: learning rate 2e-5,
  linear, weight decay 0.01, batch 16, no balancing, LoRA rank 8, three epochs), one trial.
- ``random``: random search without pruning (dnahpo with ``sampler: random``, ``pruner: none``,
  no warm start).
- ``hf_trainer``: transformers ``Trainer.hyperparameter_search`` with the Optuna backend
  (benchmarks/hf_search.py): TPE and Optuna's default MedianPruner, as an HF user gets them.
- ``dnahpo``: the study file as it is (TPE, Hyperband, baseline warm start).

All arms sample the study file's search space (hpo.params.suggest_params), train with its
evaluation cadence and early-stopping patience, and use the seed for the sampler and for
training. Each arm's chosen model is evaluated on the test split once, here, with the code the
registered model serves with (hpo.serving). Training cost is counted in training examples seen,
the trainer's step unit (batch sizes differ between trials, so optimizer steps do not compare).

Results go to OUT/results/<arm>-seed<k>.json as each arm ends, so an interrupted benchmark goes on
where it stopped; ``--report`` alone re-aggregates. The summary (markdown), best-so-far plot
(OUT/best_so_far.png) and OUT/summary.json are written at the end.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
for key, value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                   "TOKENIZERS_PARALLELISM": "false"}.items():
    os.environ.setdefault(key, value)

ARMS = ("default", "random", "hf_trainer", "dnahpo")


# --- the arms run through dnahpo ---------------------------------------------------------------

def arm_spec(spec, arm: str, seed: int, n_trials: int):
    """The study file, changed only where the arm says so."""
    from hpo.spec import BASELINE, PrunerSpec, SamplerSpec
    from hpo.spec.search_space import Dimension, SearchSpec

    study = dataclasses.replace(spec.study, n_trials=n_trials, timeout=None,
                                enqueue=[], enqueue_best_of=[],
                                sampler=dataclasses.replace(spec.study.sampler, seed=seed))
    search = spec.search
    if arm == "default":
        search = SearchSpec(**{name: Dimension.fixed(value) for name, value in BASELINE.items()})
        study = dataclasses.replace(study, n_trials=1, warm_start=False,
                                    pruner=PrunerSpec(name="none"))
    elif arm == "random":
        study = dataclasses.replace(study, warm_start=False, pruner=PrunerSpec(name="none"),
                                    sampler=SamplerSpec(name="random", seed=seed))
    elif arm != "dnahpo":
        raise ValueError(arm)
    return spec.replace(name=f"bench-{arm}-seed{seed}", search=search, study=study,
                        training=dataclasses.replace(spec.training, seed=seed))


def run_dnahpo_arm(spec, arm: str, seed: int, n_trials: int) -> dict[str, Any]:
    from optuna.trial import TrialState

    from hpo.objective import ATTR_DIR, ATTR_EXAMPLES, ATTR_PARAMS
    from hpo.promotion import best_completed_trials
    from hpo.runner import run_study

    STATES = {TrialState.COMPLETE: "completed", TrialState.PRUNED: "pruned",
              TrialState.FAIL: "failed"}
    bench = arm_spec(spec, arm, seed, n_trials)
    _forget_study(bench)
    started = time.perf_counter()
    study = run_study(bench)
    wall = time.perf_counter() - started
    trials = []
    for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        seconds = ((t.datetime_complete - t.datetime_start).total_seconds()
                   if t.datetime_complete and t.datetime_start else None)
        trials.append({"number": t.number, "state": STATES.get(t.state, t.state.name.lower()),
                       "value": t.value if t.state == TrialState.COMPLETE else None,
                       "examples_seen": int(t.user_attrs.get(ATTR_EXAMPLES) or 0),
                       "seconds": seconds, "params": t.user_attrs.get(ATTR_PARAMS)})
    best = best_completed_trials(study, 1)[0]
    return {"arm": arm, "seed": seed, "wall_seconds": wall, "trials": trials,
            "best": {"trial": best.number, "validation": best.value,
                     "model_dir": str(Path(best.user_attrs[ATTR_DIR]) / "model")}}


def _forget_study(spec) -> None:
    """An arm interrupted before it wrote its result starts again from nothing."""
    import optuna

    try:
        optuna.delete_study(study_name=spec.name, storage=spec.optuna_storage_url)
    except KeyError:
        pass
    shutil.rmtree(spec.trials_dir, ignore_errors=True)


# --- the test split, once per arm and seed -----------------------------------------------------

def test_metrics(spec, prepared_dir: Path, model_dir: Path) -> dict[str, float]:
    from hpo.promotion import score_test_split
    from hpo.serving import load_sequence_classifier, predict_probabilities

    manifest = json.loads((prepared_dir / "manifest.json").read_text())
    tokenizer, model = load_sequence_classifier(model_dir, spec.model.name_or_path,
                                                manifest["labels"])
    return score_test_split(prepared_dir, manifest, lambda sequences: predict_probabilities(
        tokenizer, model, sequences, spec.model.max_length))


# --- aggregation -------------------------------------------------------------------------------

def best_so_far(result: dict[str, Any]) -> list[tuple[int, float | None]]:
    """(training examples spent so far, best completed validation metric so far) per trial."""
    spent, best, curve = 0, None, []
    for t in result["trials"]:
        spent += t["examples_seen"]
        if t["value"] is not None and (best is None or t["value"] > best):
            best = t["value"]
        curve.append((spent, best))
    return curve


def examples_to_reach(result: dict[str, Any], target: float) -> int | None:
    for spent, best in best_so_far(result):
        if best is not None and best >= target:
            return spent
    return None


def best_within(result: dict[str, Any], budget: int) -> float | None:
    """The best completed validation metric among the trials finished within ``budget``
    training examples (trials in order)."""
    reached = [best for spent, best in best_so_far(result) if spent <= budget]
    return reached[-1] if reached else None


def mean_sd(values: list[float]) -> str:
    if not values:
        return "n/a"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {sd:.3f}"


def summarise(results: list[dict[str, Any]], metric: str) -> tuple[str, dict[str, Any]]:
    by_arm: dict[str, list[dict]] = {}
    for r in results:
        by_arm.setdefault(r["arm"], []).append(r)
    rows, summary = [], {"arms": {}, "targets": {}}
    header = (f"| arm | seeds | best validation {metric} | test {metric} of its best | "
              "training examples spent | trials completed / pruned | wall time (min) |")
    rows += [header, "|---|---|---|---|---|---|---|"]
    for arm in ARMS:
        runs = by_arm.get(arm, [])
        if not runs:
            continue
        val = [r["best"]["validation"] for r in runs]
        test = [r["test"][metric] for r in runs]
        spent = [sum(t["examples_seen"] for t in r["trials"]) for r in runs]
        wall = [r["wall_seconds"] / 60 for r in runs]
        done = [sum(t["state"] == "completed" for t in r["trials"]) for r in runs]
        pruned = [sum(t["state"] == "pruned" for t in r["trials"]) for r in runs]
        summary["arms"][arm] = {"seeds": [r["seed"] for r in runs], "best_validation": val,
                                "test": test, "examples_spent": spent, "wall_minutes": wall}
        rows.append(f"| {arm} | {len(runs)} | {mean_sd(val)} | {mean_sd(test)} | "
                    f"{statistics.mean(spent):,.0f} ± {statistics.pstdev(spent):,.0f} | "
                    f"{statistics.mean(done):.1f} / {statistics.mean(pruned):.1f} | "
                    f"{mean_sd(wall)} |")
    lines = ["\n".join(rows), ""]
    # Target 1: dnahpo reaches random search's best with at most 40% of its training.
    pairs = [(d, r) for d in by_arm.get("dnahpo", []) for r in by_arm.get("random", [])
             if d["seed"] == r["seed"]]
    if pairs:
        lines.append("dnahpo against random search, seed by seed:")
        lines.append("| seed | random: best val / test | its examples | dnahpo: best val / test "
                     "| dnahpo examples to reach random's best val | fraction | dnahpo's whole "
                     "spend, fraction | random's best val within dnahpo's spend |")
        lines.append("|---|---|---|---|---|---|---|---|")
        fractions, totals = [], []
        for d, r in sorted(pairs, key=lambda p: p[0]["seed"]):
            r_spent = sum(t["examples_seen"] for t in r["trials"])
            reach = examples_to_reach(d, r["best"]["validation"])
            fraction = reach / r_spent if reach is not None else None
            fractions.append(fraction)
            d_spent = sum(t["examples_seen"] for t in d["trials"])
            totals.append(d_spent / r_spent)
            same_spend = best_within(r, d_spent)
            lines.append(f"| {d['seed']} | {r['best']['validation']:.3f} / {r['test'][metric]:.3f} "
                         f"| {r_spent:,} | {d['best']['validation']:.3f} / "
                         f"{d['test'][metric]:.3f} | "
                         f"{'not reached' if reach is None else f'{reach:,}'} | "
                         f"{'-' if fraction is None else f'{fraction:.0%}'} | "
                         f"{totals[-1]:.0%} | "
                         f"{'none finished' if same_spend is None else f'{same_spend:.3f}'} |")
        summary["targets"]["fraction_of_random_examples_to_reach_its_best"] = fractions
        summary["targets"]["fraction_of_random_examples_spent_in_all"] = totals
        lines.append("")
    if by_arm.get("default") and by_arm.get("dnahpo"):
        d = [r["test"][metric] for r in by_arm["dnahpo"]]
        b = [r["test"][metric] for r in by_arm["default"]]
        summary["targets"]["test_dnahpo_minus_default"] = statistics.mean(d) - statistics.mean(b)
    return "\n".join(lines), summary


def plot_best_so_far(results: list[dict[str, Any]], metric: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"default": "tab:gray", "random": "tab:blue", "hf_trainer": "tab:orange",
               "dnahpo": "tab:green"}
    fig, ax = plt.subplots(figsize=(7, 4.2))
    labelled = set()
    for r in sorted(results, key=lambda r: (ARMS.index(r["arm"]), r["seed"])):
        points = [(x, y) for x, y in best_so_far(r) if y is not None]
        if not points:
            continue
        xs, ys = zip(*points)
        label = r["arm"] if r["arm"] not in labelled else None
        labelled.add(r["arm"])
        if len(xs) == 1:  # the default configuration: one trial, one point
            ax.scatter(xs, ys, color=colours[r["arm"]], marker="X", s=80, label=label, zorder=3)
        else:
            ax.step(xs, ys, where="post", color=colours[r["arm"]], alpha=0.8, label=label,
                    marker="o", markersize=3)
    ax.set_xlabel("training examples spent (all trials so far)")
    ax.set_ylabel(f"best validation {metric} so far")
    ax.set_title("Best-so-far validation metric against training spent (one line per seed)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# --- driver ------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", type=Path, default=REPO_ROOT / "studies" / "demo.yaml")
    parser.add_argument("--n-trials", type=int, default=8, help="trial budget of each search arm")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS))
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "runs" / "bench" / "search")
    parser.add_argument("--report", action="store_true", help="only aggregate existing results")
    args = parser.parse_args()

    from hpo.data import prepare_data
    from hpo.runner import Overrides, apply_overrides
    from hpo.spec import load_study_spec

    out = args.out.resolve()
    results_dir = out / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    spec = apply_overrides(load_study_spec(args.study), Overrides(output=out / "studies"))
    prepared = prepare_data(spec).path  # once: every arm trains on the same splits
    if not args.report:
        for seed in args.seeds:
            for arm in args.arms:
                path = results_dir / f"{arm}-seed{seed}.json"
                if path.exists():
                    print(f"[bench] {arm} seed {seed}: done before, {path}", flush=True)
                    continue
                print(f"[bench] {arm} seed {seed}: running", flush=True)
                if arm == "hf_trainer":
                    from benchmarks.hf_search import run_hf_search
                    result = run_hf_search(spec, prepared, args.n_trials, seed,
                                           out / "hf_trainer" / f"seed{seed}")
                else:
                    result = run_dnahpo_arm(spec, arm, seed, args.n_trials)
                result["test"] = test_metrics(spec, prepared, Path(result["best"]["model_dir"]))
                path.write_text(json.dumps(result, indent=2))
                print(f"[bench] {arm} seed {seed}: best validation "
                      f"{result['best']['validation']:.3f}, test {result['test'][spec.study.metric]:.3f},"
                      f" {sum(t['examples_seen'] for t in result['trials']):,} examples, "
                      f"{result['wall_seconds'] / 60:.1f} min", flush=True)
    results = [json.loads(p.read_text()) for p in sorted(results_dir.glob("*.json"))]
    if not results:
        print("no results yet", file=sys.stderr)
        return 1
    table, summary = summarise(results, spec.study.metric)
    plot_best_so_far(results, spec.study.metric, out / "best_so_far.png")
    summary.update({"n_trials": args.n_trials, "study": str(args.study),
                    "cpu_count": os.cpu_count(), "load_average": os.getloadavg()})
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    (out / "summary.md").write_text(table + "\n")
    print(table)
    print(f"plot: {out / 'best_so_far.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
