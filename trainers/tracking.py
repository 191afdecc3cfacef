"""Per-evaluation metrics to the trial's MLflow run, from rank 0.

The parent owns the run (creates and ends it); the trainer only appends metrics with explicit
run id and step, through ``MlflowClient`` (no fluent global state). A tracking server outage
costs the curves, not the trial: once training runs, failures are warned about once and
training goes on, since history.json keeps the same numbers. A run id the store does not know
fails at start-up, before any training time is spent.
"""
from __future__ import annotations

import math
import sys
import time

from trainers.trial_file import MlflowLink


class MlflowMetricLogger:
    def __init__(self, link: MlflowLink | None, is_main_process: bool):
        self.client = None
        self.run_id = link.run_id if link else None
        self._warned = False
        if link is not None and is_main_process:
            from mlflow.tracking import MlflowClient
            self.client = MlflowClient(tracking_uri=link.tracking_uri)
            self.client.get_run(link.run_id)  # raises now if the run does not exist

    def log(self, metrics: dict[str, float], step: int) -> None:
        if self.client is None:
            return
        from mlflow.entities import Metric
        timestamp = int(time.time() * 1000)
        # MLflow stores NaN awkwardly and plots it as a gap anyway: leave undefined values out.
        batch = [Metric(key, float(value), timestamp, step) for key, value in metrics.items()
                 if value is not None and math.isfinite(value)]
        try:
            self.client.log_batch(self.run_id, metrics=batch)
        except Exception as exc:  # noqa: BLE001 - any tracking failure must not end the trial
            if not self._warned:
                print(f"warning: cannot log metrics to MLflow run {self.run_id}: {exc}; "
                      f"going on (history.json has them)", file=sys.stderr, flush=True)
                self._warned = True
