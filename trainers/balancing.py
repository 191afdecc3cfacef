"""Class balancing of the training split (validation and test are never touched).

``downsample`` and ``upsample`` return row indices into the prepared training split (seeded);
``weighted_loss`` keeps every row and weighs the loss instead, with sklearn's "balanced" class
weights n_samples / (n_classes * count_c).
"""
from __future__ import annotations

import numpy as np
import torch
from sklearn.utils.class_weight import compute_class_weight

METHODS = ("none", "downsample", "upsample", "weighted_loss")


def class_counts(label_ids: np.ndarray, n_classes: int) -> list[int]:
    return np.bincount(label_ids, minlength=n_classes).tolist()


def balanced_indices(label_ids: np.ndarray, method: str, seed: int) -> np.ndarray:
    """Rows of the training split to train on, sorted; a row may repeat under ``upsample``.

    ``downsample`` draws every class down to the smallest class's count (without replacement);
    ``upsample`` keeps every row and draws extra rows of each smaller class (with replacement)
    up to the largest class's count. Classes absent from training stay absent.
    """
    if method not in METHODS:
        raise ValueError(f"unknown balancing {method!r}; expected one of {', '.join(METHODS)}")
    everything = np.arange(len(label_ids))
    if method in ("none", "weighted_loss"):
        return everything
    rng = np.random.default_rng(seed)
    by_class = [everything[label_ids == c] for c in np.unique(label_ids)]
    sizes = [len(rows) for rows in by_class]
    if method == "downsample":
        target = min(sizes)
        chosen = [rng.choice(rows, size=target, replace=False) for rows in by_class]
    else:
        target = max(sizes)
        chosen = [np.concatenate([rows, rng.choice(rows, size=target - len(rows), replace=True)])
                  for rows in by_class]
    return np.sort(np.concatenate(chosen))


def loss_class_weights(label_ids: np.ndarray, n_classes: int) -> torch.Tensor:
    """Weights for ``torch.nn.CrossEntropyLoss(weight=...)``, one per class id.

    sklearn refuses a class missing from ``y``; such a class gets weight 1.0, which never
    matters because no training target has it.
    """
    present = np.unique(label_ids)
    weights = np.ones(n_classes, dtype=np.float64)
    weights[present] = compute_class_weight("balanced", classes=present, y=label_ids)
    return torch.tensor(weights, dtype=torch.float32)
