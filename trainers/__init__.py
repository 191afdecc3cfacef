"""dnahpo's trial trainer: one fine-tuning run per Optuna trial, launched by ``accelerate launch``.

Entry points: ``python -m trainers.finetune TRIAL.json`` (the trainer; runs under ``accelerate
launch``) and ``python -m trainers.launch TRIAL.json`` (launches it and returns the trainer's
exit code, which ``accelerate launch`` itself loses). See trainers/README.md.
"""
from trainers.errors import EXIT_COMPLETED, EXIT_FAILED, EXIT_INVALID, EXIT_PRUNED

__all__ = ["EXIT_COMPLETED", "EXIT_FAILED", "EXIT_INVALID", "EXIT_PRUNED"]
