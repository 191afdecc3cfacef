"""Exit codes of ``trainers.finetune`` and the exceptions that lead to them.

The codes are the contract with the orchestrator (docs/architecture.md, "Exit codes").
"""
from __future__ import annotations

from collections.abc import Iterable

EXIT_COMPLETED = 0
EXIT_FAILED = 1  # exception, out of memory, NaN loss; result.json "reason" says which
EXIT_INVALID = 2  # bad trial file or data, found before the model loads
EXIT_PRUNED = 75  # pruned by the study's pruner; result.json names the step

# result.json "reason" values of a failed trial.
REASON_INVALID = "invalid_trial_file"
REASON_NAN_LOSS = "nan_loss"
REASON_OOM = "out_of_memory"
REASON_METRIC_UNDEFINED = "metric_undefined"
REASON_EXCEPTION = "exception"


class InvalidTrialError(ValueError):
    """The trial file or its data cannot be used; ``problems`` lists every reason at once."""

    def __init__(self, problems: Iterable[str], source: str | None = None):
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{source}: " if source else ""
        lines = [f"{head}{count} problem{'s' if count != 1 else ''} in the trial file or its data:"]
        lines += [f"  - {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))


class TrialFailed(RuntimeError):
    """Training cannot go on; ``reason`` is the machine-readable cause for result.json."""

    def __init__(self, reason: str, message: str):
        self.reason = reason
        super().__init__(message)
