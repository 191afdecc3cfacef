"""Progress lines while a study runs: trial k of N, the live validation metric, best so far."""
from __future__ import annotations

import sys
import time
from typing import TextIO

import optuna
from optuna.trial import TrialState


def _clock(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class StudyProgress:
    """Prints one line per new validation result of the running trial, and one per trial end."""

    def __init__(self, study: optuna.Study, metric: str, budget: int | None,
                 timeout: float | None, stream: TextIO = sys.stderr):
        self.study, self.metric, self.budget, self.timeout = study, metric, budget, timeout
        self.stream = stream
        self.started = time.monotonic()
        self._last_step: dict[int, int] = {}

    def counts(self) -> dict[str, int]:
        trials = self.study.get_trials(deepcopy=False)
        return {name: sum(t.state == state for t in trials) for name, state in (
            ("completed", TrialState.COMPLETE), ("pruned", TrialState.PRUNED),
            ("failed", TrialState.FAIL), ("running", TrialState.RUNNING))}

    def _best(self) -> str:
        try:
            best = self.study.best_trial
        except ValueError:
            return "best -"
        return f"best {self.metric}={best.value:.4f} (trial {best.number})"

    def _times(self, done: int) -> str:
        elapsed = time.monotonic() - self.started
        text = f"{_clock(elapsed)} elapsed"
        if self.timeout:
            text += f", {_clock(self.timeout - elapsed)} left"
        elif self.budget and done:
            text += f", ~{_clock(elapsed / done * (self.budget - done))} left"
        return text

    def on_tick(self, trial: optuna.trial.Trial) -> None:
        frozen = self.study._storage.get_trial(trial._trial_id)
        if not frozen.intermediate_values:
            return
        step = max(frozen.intermediate_values)
        if self._last_step.get(trial.number) == step:
            return
        self._last_step[trial.number] = step
        c = self.counts()
        done = c["completed"] + c["pruned"]
        self._print(f"trial {trial.number} ({done + 1}/{self.budget or '?'}) step {step}: "
                    f"{self.metric}={frozen.intermediate_values[step]:.4f} | {self._best()} | "
                    f"{c['completed']} completed, {c['pruned']} pruned, {c['failed']} failed | "
                    f"{self._times(done)}")

    def on_trial_end(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        c = self.counts()
        done = c["completed"] + c["pruned"]
        value = f" {self.metric}={trial.value:.4f}" if trial.value is not None else ""
        extra = ""
        if trial.state == TrialState.PRUNED:
            extra = f" at step {trial.user_attrs.get('pruned_at_step')}"
        elif trial.state == TrialState.FAIL:
            extra = f": {trial.user_attrs.get('fail_reason', 'see its log')}"
        self._print(f"trial {trial.number} {trial.state.name.lower()}{extra}{value} | "
                    f"{self._best()} | {done}/{self.budget or '?'} done | {self._times(done)}")

    def _print(self, line: str) -> None:
        print(f"[hpo] {line}", file=self.stream, flush=True)
