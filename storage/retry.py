"""Re-enqueue the trial of a dead worker, whatever its parameters.

Optuna's ``RetryHeartbeatStaleTrialCallback`` re-creates the stale trial with its parameters and
their distributions, and ``create_trial`` rejects a value outside its distribution. An enqueued
trial may hold exactly that (the study's baseline, trial 0, uses the field's default learning
rate even when the search range excludes it), and the callback's ValueError would then escape
from ``fail_stale_trials`` and stop the worker that found the dead trial. Such a trial is
re-enqueued the way ``enqueue_trial`` does it instead: its parameters as fixed ones.
"""
from __future__ import annotations

from typing import Any

import optuna
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState


class RetryStaleTrial(RetryHeartbeatStaleTrialCallback):
    def __init__(self, max_retry: int | None = None):
        super().__init__(max_retry=max_retry)
        self.max_retry = max_retry

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        try:
            super().__call__(study, trial)
        except ValueError:  # a parameter outside its distribution: retry it as a fixed one
            history = [*trial.system_attrs.get("retry_history", []), trial.number]
            if self.max_retry is not None and self.max_retry < len(history):
                return
            system_attrs: dict[str, Any] = {
                "failed_trial": trial.number, **trial.system_attrs,
                "retry_history": history,
                "fixed_params": {**trial.system_attrs.get("fixed_params", {}), **trial.params}}
            study.add_trial(optuna.create_trial(state=TrialState.WAITING,
                                                user_attrs=trial.user_attrs,
                                                system_attrs=system_attrs))
