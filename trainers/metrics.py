"""Validation metrics, all from scikit-learn, on the whole validation split.

Names match the study file's ``study.metric`` choices. Macro averages weigh every class
equally (label ids 0..n-1, a class never predicted scores 0 rather than raising). AUROC and
AUPRC use the positive-class probability for two classes and one-vs-rest macro averages for
more; they are undefined when a class is absent from the validation split: NaN with a warning,
so a trial optimising another metric goes on.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
from sklearn.metrics import (accuracy_score, average_precision_score, confusion_matrix,
                             log_loss, matthews_corrcoef, precision_recall_fscore_support,
                             roc_auc_score)
from sklearn.preprocessing import label_binarize

METRIC_NAMES = ("accuracy", "precision_macro", "recall_macro", "f1_macro", "mcc", "auroc",
                "auprc", "loss")


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def _ranking_metrics(y_true: np.ndarray, probs: np.ndarray) -> tuple[float, float]:
    n_classes = probs.shape[1]
    absent = sorted(set(range(n_classes)) - set(np.unique(y_true).tolist()))
    if absent:
        warnings.warn(f"classes {absent} are absent from the validation split; AUROC and AUPRC "
                      f"are undefined (NaN)", RuntimeWarning, stacklevel=3)
        return math.nan, math.nan
    if n_classes == 2:
        positive = probs[:, 1]
        return (float(roc_auc_score(y_true, positive)),
                float(average_precision_score(y_true, positive)))
    classes = list(range(n_classes))
    auroc = roc_auc_score(y_true, probs, multi_class="ovr", average="macro", labels=classes)
    auprc = average_precision_score(label_binarize(y_true, classes=classes), probs,
                                    average="macro")
    return float(auroc), float(auprc)


def compute_metrics(y_true: np.ndarray, probs: np.ndarray,
                    labels: list[int] | None = None) -> dict[str, float]:
    """Every metric of METRIC_NAMES for true class ids and class probabilities (one column per
    class id; ``labels``, if given, must be those ids 0..n-1 and is only checked)."""
    y_true = np.asarray(y_true)
    n_classes = probs.shape[1]
    if labels is not None and list(labels) != list(range(n_classes)):
        raise ValueError(f"labels must be the class ids 0..{n_classes - 1} (one per column of "
                         f"probs), got {labels!r}")
    labels = list(range(n_classes))
    y_pred = probs.argmax(axis=1)
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average="macro", zero_division=0)
    with warnings.catch_warnings():  # constant predictions: sklearn warns and returns 0.0
        warnings.simplefilter("ignore", RuntimeWarning)
        mcc = matthews_corrcoef(y_true, y_pred)
    auroc, auprc = _ranking_metrics(y_true, probs)
    return {"accuracy": float(accuracy_score(y_true, y_pred)),
            "precision_macro": float(precision), "recall_macro": float(recall),
            "f1_macro": float(f1), "mcc": float(mcc), "auroc": auroc, "auprc": auprc,
            "loss": float(log_loss(y_true, probs, labels=labels))}


def confusion(y_true: np.ndarray, probs: np.ndarray) -> list[list[int]]:
    """Rows: true class id; columns: predicted class id."""
    labels = list(range(probs.shape[1]))
    return confusion_matrix(y_true, probs.argmax(axis=1), labels=labels).tolist()
