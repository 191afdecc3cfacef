"""`hpo worker`: one more process on a study, until the study's total budget is spent.

A worker is `hpo run` for a study that others may be running too (hpo.trial_loop keeps the
count exact). It joins with the study file, or with only the study's name and storage URL: the
first `hpo run` or `hpo worker` stored the resolved study file in the study (paths absolute),
so machines that mount the same data and output folders need nothing else.
"""
from __future__ import annotations

import os
from pathlib import Path

import optuna

from hpo.runner import ATTR_SPEC, StudyRunError
from hpo.spec import StudySpec, parse_study_spec
from storage import make_optuna_storage, redact_url
from storage.locks import study_lock


def spec_from_storage(study_name: str, storage_url: str) -> StudySpec:
    """The study file stored in study ``study_name`` (raises StudyRunError or SpecError)."""
    storage = make_optuna_storage(storage_url)
    lock = study_lock(storage_url, study_name)
    try:
        with lock():  # the first worker creates the study and stores its spec in one step
            study = optuna.load_study(study_name=study_name, storage=storage)
            raw = study.user_attrs.get(ATTR_SPEC)
    except KeyError:
        raise StudyRunError(
            f"no study {study_name!r} in {redact_url(storage_url)}; start it with `hpo run "
            f"STUDY.yaml` or `hpo worker STUDY.yaml` (`hpo storage check URL` lists the studies "
            f"there)") from None
    finally:
        lock.dispose()
    if not isinstance(raw, dict):
        raise StudyRunError(
            f"study {study_name!r} in {redact_url(storage_url)} has no stored study file (it was "
            f"started by an older dnahpo); join it with `hpo worker STUDY.yaml`")
    # Stored paths are absolute; a missing data file on this machine is reported as usual.
    return parse_study_spec(raw, base_dir=Path("/"))


def pin_gpu(devices: str) -> None:
    """Run this worker's trials on ``devices`` only (one GPU per worker on a multi-GPU machine).

    Trials inherit the environment, and CUDA numbers the visible devices from 0, so each
    trial sees its GPU as cuda:0 whichever it is."""
    os.environ["CUDA_VISIBLE_DEVICES"] = devices
