"""The Optuna bridge: rank 0 reports and asks; every rank learns the decision at the same step.

The parent process created the trial and samples nothing more; here rank 0 attaches to it with
the study's own pruner (Optuna does not store pruners: ``load_study`` without one silently gets
a MedianPruner) and other ranks never touch storage. The decision is broadcast from rank 0 so
all ranks stop at the same step; a rank that stopped alone would hang the others in the next
collective (the mistake HF's hyperparameter_search makes under DDP).
"""
from __future__ import annotations

from typing import Any

from accelerate.utils import broadcast_object_list

from hpo.optuna_factory import build_pruner
from storage.transient import retry_transient
from trainers.trial_file import OptunaLink


class OptunaReporter:
    """Reports intermediate values of one running trial (rank 0 only; a no-op elsewhere)."""

    def __init__(self, link: OptunaLink | None, study_name: str, is_main_process: bool):
        self.trial = None
        if link is None or not is_main_process:
            return
        import optuna

        from storage import make_optuna_storage
        # pool_pre_ping and the retries below let a trial ride out a database restart.
        study = retry_transient(lambda: optuna.load_study(
            study_name=study_name, storage=make_optuna_storage(link.storage),
            pruner=build_pruner(link.pruner_plain)), "attaching to the study")
        self.trial = optuna.trial.Trial(study, link.trial_id)

    def report_and_should_prune(self, value: float, step: int) -> bool:
        if self.trial is None:
            return False
        # Reporting a step twice is ignored by Optuna, so a retried report is harmless.
        retry_transient(lambda: self.trial.report(value, step), f"reporting step {step}")
        return bool(retry_transient(self.trial.should_prune, "asking the pruner"))


def share_from_main(accelerator, value: Any) -> Any:
    """``value`` as rank 0 has it, on every rank (a no-op with one process)."""
    box = [value]
    if accelerator.num_processes > 1:
        broadcast_object_list(box, from_process=0)
    return box[0]
