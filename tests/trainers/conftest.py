"""Fixtures for the trainer's tests: tiny models and data made once per session, offline.

The repository root goes on ``sys.path`` here so that ``trainers`` and ``tests.helpers`` import
under ``--import-mode=importlib`` even when pytest is started as a bare ``pytest`` (which,
unlike ``python -m pytest``, does not put the working directory on the path).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

# No hub; one thread: on a small shared machine, torch's thread pool spinning against other
# processes makes tiny models many times slower than one thread does.
for _key, _value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                     "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}.items():
    os.environ.setdefault(_key, _value)

import torch  # noqa: E402

torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

from tests.helpers.tiny_data import write_prepared_data  # noqa: E402
from tests.helpers.tiny_model import make_tiny_model  # noqa: E402


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """family -> folder of a tiny masked/causal LM checkpoint, made lazily once per session."""
    root = tmp_path_factory.mktemp("models")

    class Models(dict):
        def __missing__(self, family: str) -> Path:
            self[family] = make_tiny_model(root / family, family)
            return self[family]
    return Models()


@pytest.fixture(scope="session")
def tiny_bert(tiny_models) -> Path:
    return tiny_models["bert"]


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """Balanced binary data, 96 train / 48 validation rows."""
    return write_prepared_data(tmp_path_factory.mktemp("data"), n_train=96, n_val=48, n_test=16)


@pytest.fixture(scope="session")
def imbalanced_data(tmp_path_factory) -> Path:
    """3:1 binary data, 96 train (72 neg / 24 pos) / 48 validation rows."""
    return write_prepared_data(tmp_path_factory.mktemp("imbalanced"), n_train=96, n_val=48,
                               n_test=16, imbalance=3.0, seed=1)
