"""AdamW groups, the effective batch rule, schedulers, and the evaluation grid."""
from __future__ import annotations

import pytest
import torch

from tests.helpers.trial_file import make_trial
from trainers.evaluation import EvalGrid
from trainers.modeling import load_model, load_tokenizer, plan_model
from trainers.optimization import build_optimizer, build_scheduler, plan_batches
from trainers.trial_file import parse_trial_file


def _full_model(tmp_path, model_path):
    trial = parse_trial_file(make_trial(tmp_path, model={"name_or_path": str(model_path)},
                                        params={"lora_rank": 0}), tmp_path)
    plan = plan_model(trial.model, ["a", "b"], 0)
    return load_model(trial.model, trial.params, plan, load_tokenizer(trial.model).pad_token_id)


@pytest.mark.parametrize("family", ["bert", "llama"])
def test_no_weight_decay_on_biases_and_norms(tmp_path, tiny_models, family):
    model = _full_model(tmp_path, tiny_models[family])
    optimizer = build_optimizer(model, 1e-3, weight_decay=0.1)
    names = {id(p): n for n, p in model.named_parameters()}
    decayed = {names[id(p)] for g in optimizer.param_groups if g["weight_decay"] == 0.1
               for p in g["params"]}
    exempt = {names[id(p)] for g in optimizer.param_groups if g["weight_decay"] == 0.0
              for p in g["params"]}
    assert decayed and exempt and not decayed & exempt
    assert decayed | exempt == set(names.values())
    for name in exempt:
        assert name.endswith(".bias") or "norm" in name.lower(), name
    for name in decayed:
        assert not name.endswith(".bias") and "norm" not in name.lower(), name
    if family == "llama":  # LlamaRMSNorm is not an nn.LayerNorm, still exempt
        assert "model.norm.weight" in exempt


@pytest.mark.parametrize("batch, max_device, processes, device_batch, accumulation, effective", [
    (16, 32, 1, 16, 1, 16),
    (64, 32, 1, 32, 2, 64),
    (16, 4, 1, 4, 4, 16),
    (16, 4, 2, 4, 2, 16),
    (8, 32, 2, 4, 1, 8),
    (33, 32, 1, 17, 2, 34),  # not divisible: rounded up to the next product, recorded
])
def test_effective_batch_rule(batch, max_device, processes, device_batch, accumulation,
                              effective):
    plan = plan_batches(batch, max_device, processes)
    assert (plan.device_batch_size, plan.accumulation_steps) == (device_batch, accumulation)
    assert plan.effective_batch_size == effective
    assert plan.device_batch_size <= max_device


@pytest.mark.parametrize("name", ["linear", "cosine", "cosine_with_restarts", "polynomial",
                                  "constant_with_warmup", "constant"])
def test_every_scheduler_name_builds_with_warmup(name):
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = build_scheduler(name, optimizer, total_steps=10, warmup_ratio=0.25)
    rates = []
    for _ in range(10):
        rates.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    if name != "constant":  # ceil(0.25 * 10) = 3 warmup steps from 0
        assert rates[0] == 0.0 and rates[1] < rates[2] < rates[3] == pytest.approx(1.0)


def test_eval_grid_counts_examples_and_reports_grid_points():
    grid = EvalGrid(n_train_prepared=100, evals_per_epoch=3)  # interval ceil(100/3) = 34
    assert grid.interval == 34
    seen = [16, 32, 48, 64, 80, 96, 112]
    assert [grid.due(s) for s in seen] == [None, None, 34, None, 68, None, 102]


def test_eval_grid_step_jumping_two_points_reports_the_last():
    grid = EvalGrid(n_train_prepared=10, evals_per_epoch=2)  # interval 5
    assert [grid.due(s) for s in (12, 24, 25)] == [10, 20, 25]


def test_fractional_evals_per_epoch():
    assert EvalGrid(n_train_prepared=10, evals_per_epoch=0.5).interval == 20
