"""Per-trial plots for MLflow: confusion matrix, ROC and precision-recall curves (one-vs-rest
for several classes), drawn by scikit-learn's displays from the best evaluation's predictions."""
from __future__ import annotations

import json
import logging
from pathlib import Path

log = logging.getLogger("hpo.trial_plots")


def make_trial_plots(trial_dir: Path) -> list[Path]:
    """PNG files written into ``trial_dir``; none when the trial left no predictions."""
    source = trial_dir / "validation_predictions.json"
    if not source.exists():
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from sklearn.metrics import (ConfusionMatrixDisplay, PrecisionRecallDisplay,
                                 RocCurveDisplay)

    data = json.loads(source.read_text())
    labels = data["labels"]
    y_true = np.asarray(data["y_true"])
    probs = np.asarray(data["probabilities"])
    written = []

    fig, ax = plt.subplots(figsize=(5, 4.5))
    ConfusionMatrixDisplay.from_predictions(y_true, probs.argmax(axis=1),
                                            labels=list(range(len(labels))),
                                            display_labels=labels, ax=ax, colorbar=False)
    ax.set_title(f"validation, step {data['step']}")
    written.append(_save(fig, trial_dir / "confusion_matrix.png"))

    for name, display in (("roc_curve", RocCurveDisplay), ("pr_curve", PrecisionRecallDisplay)):
        fig, ax = plt.subplots(figsize=(5, 4.5))
        # Binary: the second class's curve says it all; several classes: one-vs-rest each.
        for index in ([1] if len(labels) == 2 else range(len(labels))):
            positives = y_true == index
            if positives.all() or not positives.any():
                continue  # a class absent from validation has no curve
            display.from_predictions(positives, probs[:, index], name=labels[index], ax=ax)
        ax.set_title(f"{'ROC' if name == 'roc_curve' else 'Precision-recall'} "
                     f"(validation, step {data['step']})")
        written.append(_save(fig, trial_dir / f"{name}.png"))
    return written


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
