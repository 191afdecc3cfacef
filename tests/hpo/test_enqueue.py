"""Warm starts: the baseline as trial 0, configurations from files, the best trials of an
earlier study. No training here: the enqueued (WAITING) trials are what is checked."""
from __future__ import annotations

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from hpo.runner import StudyRunError, _enqueue_configurations, open_study
from hpo.spec import load_study_spec

from .conftest import write_study


def test_baseline_then_file_then_best_of_an_earlier_study(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "extra.yaml").write_text(yaml.safe_dump([{"learning_rate": 0.005}]))
    path = write_study(tmp_path, tmp_path / "model", study={
        "n_trials": 5, "enqueue": ["extra.yaml"], "enqueue_best_of": ["earlier"],
        "enqueue_best_k": 2})
    spec = load_study_spec(path)
    study = open_study(spec)  # creates the storage the earlier study shares
    earlier = optuna.create_study(study_name="earlier", storage=spec.optuna_storage_url,
                                  direction="maximize")
    for value in (0.2, 0.9, 0.5):
        trial = earlier.ask({"learning_rate": optuna.distributions.FloatDistribution(
            1e-4, 1e-2, log=True), "batch_size": optuna.distributions.CategoricalDistribution(
                [16, 32]), "unrelated": optuna.distributions.IntDistribution(0, 9)})
        earlier.tell(trial, value)
    _enqueue_configurations(study, spec)
    waiting = study.get_trials(states=(TrialState.WAITING,))
    assert waiting[0].user_attrs["baseline"] is True
    fixed = [t.system_attrs["fixed_params"] for t in waiting]  # what enqueue_trial stored
    assert fixed[0]["learning_rate"] == 2e-5
    assert fixed[1] == {"learning_rate": 0.005}
    best_two = sorted(earlier.trials, key=lambda t: t.value, reverse=True)[:2]
    assert fixed[2:] == [{k: v for k, v in t.params.items() if k != "unrelated"}
                         for t in best_two]


def test_unknown_earlier_study_is_a_clear_error(tmp_path):
    (tmp_path / "model").mkdir()
    path = write_study(tmp_path, tmp_path / "model", study={"n_trials": 2,
                                                            "enqueue_best_of": ["nope"]})
    spec = load_study_spec(path)
    study = open_study(spec)
    with pytest.raises(StudyRunError, match="no study 'nope' in this storage"):
        _enqueue_configurations(study, spec)
