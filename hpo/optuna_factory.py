"""Optuna samplers and pruners from the study file's names and options.

Options are checked against the Optuna class's own signature, so every keyword the installed
Optuna accepts works and a typo is an error naming the valid ones. The trainer rebuilds the same
pruner from the trial file: Optuna does not store the pruner, and a child that loads the study
without one silently gets a MedianPruner.
"""
from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import optuna

from hpo.spec.errors import suggest

_SAMPLERS = {
    "tpe": optuna.samplers.TPESampler,
    "random": optuna.samplers.RandomSampler,
    "cmaes": optuna.samplers.CmaEsSampler,
    "gp": optuna.samplers.GPSampler,
    "qmc": optuna.samplers.QMCSampler,
    "grid": optuna.samplers.GridSampler,
}
_PRUNERS = {
    "hyperband": optuna.pruners.HyperbandPruner,
    "successive_halving": optuna.pruners.SuccessiveHalvingPruner,
    "median": optuna.pruners.MedianPruner,
    "percentile": optuna.pruners.PercentilePruner,
    "patient": optuna.pruners.PatientPruner,
    "threshold": optuna.pruners.ThresholdPruner,
    "none": optuna.pruners.NopPruner,
}
# Filled in by dnahpo itself, never by the user.
_RESERVED = {"seed", "search_space", "wrapped_pruner"}


def _check_options(cls: type, options: Mapping[str, Any]) -> list[str]:
    accepted = [name for name in inspect.signature(cls.__init__).parameters
                if name not in ("self", "args", "kwargs") and name not in _RESERVED]
    problems = []
    for key in options:
        if key in _RESERVED:
            problems.append(f"{key!r} is set by dnahpo (use the sampler's `seed` key)")
        elif key not in accepted:
            problems.append(f"unknown option {key!r} for {cls.__name__}{suggest(key, accepted)} "
                            f"(accepted: {', '.join(accepted) or 'none'})")
    return problems


def check_sampler_options(name: str, options: Mapping[str, Any]) -> list[str]:
    return _check_options(_SAMPLERS[name], options)


def check_pruner_options(name: str, options: Mapping[str, Any]) -> list[str]:
    return _check_options(_PRUNERS[name], options)


def build_sampler(name: str, seed: int | None, options: Mapping[str, Any],
                  grid: Mapping[str, list[Any]] | None = None) -> optuna.samplers.BaseSampler:
    cls = _SAMPLERS[name]
    kwargs = dict(options)
    if name == "grid":
        if not grid:
            raise ValueError("the grid sampler needs every searched dimension to be a choice; "
                             "write ranges as {choices: [...]}")
        kwargs["search_space"] = {k: list(v) for k, v in grid.items()}
    if "seed" in inspect.signature(cls.__init__).parameters:
        kwargs["seed"] = seed
    return cls(**kwargs)


def random_phase_note(name: str, options: Mapping[str, Any], n_trials: int | None) -> str | None:
    """A note when the study's budget ends before a model-based sampler's random start-up phase
    (TPE's and GP's ``n_startup_trials``) does: such a study is a random search under another
    name. Only for the installed default: a study file that sets n_startup_trials has made that
    choice knowingly. (Random, QMC and grid never model; CMA-ES counts its start-up differently.)"""
    if name not in ("tpe", "gp") or "n_startup_trials" in options or n_trials is None:
        return None
    parameter = inspect.signature(_SAMPLERS[name].__init__).parameters.get("n_startup_trials")
    if parameter is None or n_trials > parameter.default:
        return None
    startup = parameter.default
    return (f"sampler {name!r} draws its first {startup} trials at random (n_startup_trials) and "
            f"study.n_trials is {n_trials}, so this study is a random search. For {name} to "
            f"use what it learns, raise study.n_trials above {startup} or set "
            f"study.sampler.options.n_startup_trials below {n_trials}")


def build_pruner(spec: Mapping[str, Any]) -> optuna.pruners.BasePruner:
    """A pruner from its plain form ``{"name": ..., "options": {...}, "wrapped": {...}}``."""
    name = spec.get("name", "hyperband")
    if name not in _PRUNERS:
        raise ValueError(f"unknown pruner {name!r}; expected one of {', '.join(_PRUNERS)}")
    options = dict(spec.get("options") or {})
    problems = check_pruner_options(name, options)
    if problems:
        raise ValueError("; ".join(problems))
    if name == "patient":
        wrapped = spec.get("wrapped")
        options.setdefault("patience", 3)
        return optuna.pruners.PatientPruner(build_pruner(wrapped) if wrapped else None, **options)
    return _PRUNERS[name](**options)
