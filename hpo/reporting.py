"""What a study found: the trial table (`hpo status`), the best trial (`hpo best`), and the
report (`hpo report`): Optuna's plots as HTML (plotly) and PNG (matplotlib), and a summary of
what the pruner saved and how the best trial compares with the baseline.
"""
from __future__ import annotations

import json
import logging
import math
import warnings
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from hpo.objective import (ATTR_BASELINE, ATTR_EXAMPLES, ATTR_PARAMS, ATTR_PLANNED,
                           ATTR_PRUNED_AT, ATTR_REASON, ATTR_RUN_ID)

log = logging.getLogger("hpo.reporting")

PLOTS = ("optimization_history", "intermediate_values", "parallel_coordinate",
         "param_importances", "timeline")


def trial_rows(study: optuna.Study) -> list[dict[str, Any]]:
    rows = []
    for t in study.get_trials(deepcopy=False):
        duration = (t.datetime_complete - t.datetime_start).total_seconds() if (
            t.datetime_complete and t.datetime_start) else None
        rows.append({
            "number": t.number, "state": t.state.name.lower(), "value": t.value,
            "duration_s": round(duration, 1) if duration is not None else None,
            "pruned_at_step": t.user_attrs.get(ATTR_PRUNED_AT),
            "baseline": bool(t.user_attrs.get(ATTR_BASELINE)),
            "params": t.user_attrs.get(ATTR_PARAMS) or t.params,
            "fail_reason": t.user_attrs.get(ATTR_REASON),
            "mlflow_run_id": t.user_attrs.get(ATTR_RUN_ID),
        })
    return rows


def format_status_table(study: optuna.Study, metric: str) -> str:
    rows = trial_rows(study)
    if not rows:
        return f"study {study.study_name!r}: no trials yet"
    keys = sorted({k for r in rows for k, v in (r["params"] or {}).items()})
    header = ["#", "state", metric, "time", "pruned@"] + [_abbrev(k) for k in keys]
    table = [header]
    for r in rows:
        p = r["params"] or {}
        table.append([f"{r['number']}{'*' if r['baseline'] else ''}", r["state"],
                      f"{r['value']:.4f}" if r["value"] is not None else "-",
                      f"{r['duration_s']:.0f}s" if r["duration_s"] is not None else "-",
                      str(r["pruned_at_step"] or "-")] + [_fmt(p.get(k)) for k in keys])
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]
    counts = {s: sum(r["state"] == s for r in rows) for s in ("complete", "pruned", "fail", "running")}
    lines.append(f"{len(rows)} trials: {counts['complete']} completed, {counts['pruned']} pruned, "
                 f"{counts['fail']} failed, {counts['running']} running (* = baseline)")
    failed = [r for r in rows if r["state"] == "fail" and r["fail_reason"]]
    lines += [f"trial {r['number']} failed: {r['fail_reason']}" for r in failed]
    return "\n".join(lines)


def ranked_completed_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Completed trials with a value, best first in the study's direction."""
    completed = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                 if t.value is not None and not math.isnan(t.value)]
    reverse = study.direction == optuna.study.StudyDirection.MAXIMIZE
    return sorted(completed, key=lambda t: t.value, reverse=reverse)


def best_trial_summary(study: optuna.Study) -> dict[str, Any]:
    try:
        best = study.best_trial
    except ValueError:
        raise LookupError(f"study {study.study_name!r} has no completed trial yet") from None
    return {"study": study.study_name, "number": best.number, "value": best.value,
            "params": best.user_attrs.get(ATTR_PARAMS) or best.params,
            "mlflow_run_id": best.user_attrs.get(ATTR_RUN_ID),
            "trial_dir": best.user_attrs.get("trial_dir"),
            "duration_s": (best.datetime_complete - best.datetime_start).total_seconds()}


def pruning_savings(study: optuna.Study) -> dict[str, Any]:
    """Training examples spent, and what pruned trials would have cost had they run to the end
    (their planned epochs over their balanced training split)."""
    trials = study.get_trials(deepcopy=False)
    spent = sum(_examples(t) for t in trials)
    saved = sum(max(int(t.user_attrs.get(ATTR_PLANNED) or 0) - _examples(t), 0)
                for t in trials if t.state == TrialState.PRUNED)
    return {"examples_spent": spent, "examples_saved_by_pruning": saved,
            "saved_fraction": saved / (spent + saved) if spent + saved else 0.0}


def _examples(t: FrozenTrial) -> int:
    return int(t.user_attrs.get(ATTR_EXAMPLES) or 0)


def write_report(study: optuna.Study, out_dir: Path, metric: str) -> dict[str, Any]:
    """Plots (HTML + PNG) and summary.json/summary.md; returns the summary."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna.visualization as vis
    import optuna.visualization.matplotlib as vis_mpl

    out_dir.mkdir(parents=True, exist_ok=True)
    finished = [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    written = []
    for name in PLOTS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if name in ("param_importances", "parallel_coordinate") and len(finished) < 2:
                    raise ValueError("needs at least two finished trials")
                getattr(vis, f"plot_{name}")(study).write_html(out_dir / f"{name}.html",
                                                               include_plotlyjs="cdn")
                axes = getattr(vis_mpl, f"plot_{name}")(study)
                figure = axes.flat[0].figure if hasattr(axes, "flat") else axes.figure
                figure.savefig(out_dir / f"{name}.png", dpi=110, bbox_inches="tight")
                plt.close("all")
            written.append(name)
        except (ValueError, RuntimeError, ZeroDivisionError) as exc:
            log.warning("skipped plot %s: %s", name, exc)
    summary = {"study": study.study_name, "metric": metric, "plots": written,
               "trials": {s.name.lower(): sum(t.state == s for t in study.trials)
                          for s in TrialState}, "pruning": pruning_savings(study)}
    baseline = next((t for t in study.trials if t.user_attrs.get(ATTR_BASELINE)), None)
    try:
        best = best_trial_summary(study)
    except LookupError:
        best = None
    summary["best"] = best
    if baseline is not None:
        summary["baseline"] = {"number": baseline.number, "state": baseline.state.name.lower(),
                               "value": baseline.value}
        if best and baseline.value is not None:
            summary["best_minus_baseline"] = best["value"] - baseline.value
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    (out_dir / "summary.md").write_text(format_summary(summary))
    return summary


def format_summary(s: dict[str, Any]) -> str:
    lines = [f"# Study {s['study']}", ""]
    t = s["trials"]
    lines.append(f"- trials: {t.get('complete', 0)} completed, {t.get('pruned', 0)} pruned, "
                 f"{t.get('fail', 0)} failed")
    p = s["pruning"]
    lines.append(f"- training examples spent: {p['examples_spent']:,}; the pruner saved about "
                 f"{p['examples_saved_by_pruning']:,} ({p['saved_fraction']:.0%} of what running "
                 f"every trial to the end would have cost)")
    if s.get("best"):
        b = s["best"]
        lines.append(f"- best: trial {b['number']}, {s['metric']} = {b['value']:.4f}")
    if s.get("baseline"):
        base = s["baseline"]
        value = f"{base['value']:.4f}" if base["value"] is not None else base["state"]
        lines.append(f"- baseline (trial {base['number']}, the field's default settings): "
                     f"{s['metric']} = {value}")
        if "best_minus_baseline" in s:
            lines.append(f"- best minus baseline: {s['best_minus_baseline']:+.4f}")
    lines.append(f"- plots: {', '.join(s['plots'])} (HTML and PNG)")
    return "\n".join(lines) + "\n"


def _abbrev(key: str) -> str:
    return {"learning_rate": "lr", "weight_decay": "wd", "batch_size": "bs",
            "lora_rank": "rank", "lora_alpha": "alpha", "lora_dropout": "ldrop",
            "warmup_ratio": "warmup", "scheduler": "sched", "balancing": "balance"}.get(key, key)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)
