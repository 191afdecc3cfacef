"""The real launcher as a subprocess: one process with an Optuna study, two gloo ranks pruned
together at one step, and the exit codes the parent sees."""
from __future__ import annotations

import re
import socket
import sys

import optuna
import pytest

from tests.helpers.trainer_runs import read_json, run_module
from tests.helpers.trial_file import write_trial_file
from trainers.errors import EXIT_COMPLETED, EXIT_FAILED, EXIT_INVALID, EXIT_PRUNED
from trainers.launch import accelerate_command, exit_code_from_result

STOP_LINE = re.compile(r"rank (\d+) stopped at step (\d+) \((\w+)\)")


def _free_port() -> int:  # tests of other engineers may hold torchrun's default 29500
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _study(tmp_path, name="launch-test"):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(study_name=name, storage=storage, direction="maximize")
    return study, storage


def _optuna_link(storage, trial, pruner):
    return {"storage": storage, "trial_id": trial._trial_id, "pruner": pruner,
            "metric": "mcc", "direction": "maximize"}


def test_one_process_completes_and_reports_on_the_grid(tmp_path, tiny_bert, tiny_data):
    study, storage = _study(tmp_path)
    trial = study.ask()
    trial_file = write_trial_file(
        tmp_path / "trial.json", study_name=study.study_name, data_dir=str(tiny_data),
        model={"name_or_path": str(tiny_bert)}, params={"epochs": 2},
        optuna=_optuna_link(storage, trial, {"name": "median", "options": {}, "wrapped": None}))
    done = run_module("accelerate.commands.launch",
                      ["--num_processes", "1", "--num_machines", "1", "--mixed_precision", "no",
                       "--dynamo_backend", "no", "-m", "trainers.finetune", trial_file])
    assert done.returncode == EXIT_COMPLETED, done.stderr[-3000:]
    result = read_json(tmp_path / "out" / "result.json")
    assert result["status"] == "completed"
    # 96 training rows, 2 evaluations per epoch, 2 epochs: steps 48, 96, 144, 192 examples
    reported = study.trials[0].intermediate_values
    assert sorted(reported) == [48, 96, 144, 192]
    assert max(reported.values()) == result["value"]
    # The child never finishes the trial: that is the parent's job.
    assert study.trials[0].state == optuna.trial.TrialState.RUNNING


def test_two_ranks_are_pruned_at_the_same_step(tmp_path, tiny_bert, tiny_data):
    study, storage = _study(tmp_path)
    trial = study.ask()
    # Any metric in [-1, 1] is below 2.0: the first report at step >= 100 prunes (step 144).
    pruner = {"name": "threshold", "options": {"lower": 2.0, "n_warmup_steps": 100},
              "wrapped": None}
    trial_file = write_trial_file(
        tmp_path / "trial.json", study_name=study.study_name, data_dir=str(tiny_data),
        model={"name_or_path": str(tiny_bert)}, params={"epochs": 3},
        optuna=_optuna_link(storage, trial, pruner))
    command = accelerate_command(trial_file, num_processes=2)
    assert {"--multi_gpu", "--mixed_precision", "--dynamo_backend"} <= set(command)
    done = run_module("trainers.launch", ["--num_processes", "2", trial_file])
    assert done.returncode == EXIT_PRUNED, done.stderr[-3000:]

    stops = {int(rank): (int(step), status) for rank, step, status in
             STOP_LINE.findall(done.stderr)}
    assert stops == {0: (144, "pruned"), 1: (144, "pruned")}, done.stderr[-3000:]
    result = read_json(tmp_path / "out" / "result.json")
    assert (result["status"], result["pruned_at_step"], result["processes"]) == ("pruned", 144, 2)
    assert result["effective_batch_size"] == 8 and result["device_batch_size"] == 4
    assert sorted(study.trials[0].intermediate_values) == [48, 96, 144]
    assert not (tmp_path / "out" / "model").exists()


def test_bad_trial_file_exits_2_through_the_launcher(tmp_path, tiny_bert, tiny_data):
    trial_file = write_trial_file(tmp_path / "trial.json", data_dir=str(tiny_data),
                                  model={"name_or_path": str(tiny_bert)},
                                  params={"scheduler": "cosin"})
    done = run_module("trainers.launch", [trial_file])
    assert done.returncode == EXIT_INVALID, done.stderr[-3000:]
    assert "params.scheduler" in done.stderr


@pytest.mark.parametrize("result, launcher_code, expected", [
    ({"status": "completed"}, 0, EXIT_COMPLETED),
    ({"status": "pruned"}, 1, EXIT_PRUNED),
    ({"status": "failed", "reason": "invalid_trial_file"}, 1, EXIT_INVALID),
    ({"status": "failed", "reason": "nan_loss"}, 1, EXIT_FAILED),
    (None, 1, EXIT_FAILED),  # died before writing a result
    (None, 75, EXIT_PRUNED),  # a launcher that passes codes through is believed
])
def test_exit_code_from_result(result, launcher_code, expected):
    assert exit_code_from_result(result, launcher_code) == expected


def test_launcher_uses_this_python():
    assert accelerate_command("t.json")[0] == sys.executable


def test_two_ranks_complete_with_exit_0_and_one_model(tmp_path, tiny_bert, tiny_data):
    # Effective batch 16 over 2 ranks of at most 4: 2 micro-batches of 4 accumulated per rank.
    trial_file = write_trial_file(
        tmp_path / "trial.json", data_dir=str(tiny_data), model={"name_or_path": str(tiny_bert)},
        params={"epochs": 1, "batch_size": 16}, training={"max_device_batch_size": 4})
    done = run_module("accelerate.commands.launch",
                      ["--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                       "--mixed_precision", "no", "--dynamo_backend", "no",
                       "--main_process_port", str(_free_port()), "-m", "trainers.finetune",
                       trial_file])
    assert done.returncode == EXIT_COMPLETED, done.stderr[-3000:]  # every rank exited 0
    stops = {int(rank): status for rank, _step, status in STOP_LINE.findall(done.stderr)}
    assert stops == {0: "completed", 1: "completed"}
    result = read_json(tmp_path / "out" / "result.json")
    assert (result["processes"], result["gradient_accumulation_steps"]) == (2, 2)
    assert result["optimizer_steps"] == 96 // 16
    # Metrics over the whole validation split, each example once, gathered from both ranks.
    matrix = read_json(tmp_path / "out" / "confusion_matrix.json")["matrix"]
    assert sum(map(sum, matrix)) == 48
    assert (tmp_path / "out" / "model" / "adapter_model.safetensors").exists()
