"""Valid trial files (docs/architecture.md format) with only the differences a test needs.

    write_trial_file(path, data_dir=..., output_dir=..., model={"name_or_path": str(model)},
                     params={"lora_rank": 0}, training={"patience": 2})

Nested dicts merge into the defaults key by key; any other value replaces the default (so
``optuna=None`` or ``optuna={...}`` both work). A key set to ``DELETE`` is removed, to test
a missing key.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hpo.spec.search_space import BASELINE

DELETE = object()


def default_trial(root: Path) -> dict[str, Any]:
    """Defaults sized for tests on a tiny model: few examples, a learning rate that moves it."""
    params = dict(BASELINE)
    params.update(learning_rate=3e-3, batch_size=8, lora_rank=4, lora_alpha=None, epochs=2)
    return {
        "version": 1,
        "study_name": "test-study",
        "trial_number": 0,
        "optuna": None,
        "mlflow": None,
        "data_dir": str(root / "data"),
        "output_dir": str(root / "out"),
        "model": {"name_or_path": str(root / "model"), "revision": None, "max_length": 64,
                  "trust_remote_code": False, "lora_target_modules": None},
        "params": params,
        "training": {"evals_per_epoch": 2.0, "patience": None, "min_delta": 0.0,
                     "max_device_batch_size": 32, "mixed_precision": "no", "seed": 0},
    }


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if value is DELETE:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def make_trial(root: Path | None = None, **overrides: Any) -> dict[str, Any]:
    return merge(default_trial(Path(root or ".")), overrides)


def write_trial_file(path: Path, **overrides: Any) -> Path:
    """Write a trial file at ``path``; unset paths default to data/, out/, model/ beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(make_trial(path.parent, **overrides), indent=2), encoding="utf-8")
    return path
