"""Running the trainer from tests: in-process (fast) or as the real launcher subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for trainer subprocesses: repo importable, offline, one thread per rank."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               OMP_NUM_THREADS="1", **extra)
    return env


def read_json(path: Path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def run_in_process(trial_file: Path) -> tuple[int, dict | None]:
    """``trainers.finetune.main`` in this process (one rank); (exit code, result.json or None).

    accelerate keeps process-wide singletons; they are reset afterwards so the next run in the
    same test session starts clean.
    """
    from accelerate.state import AcceleratorState, GradientState

    from trainers.finetune import main
    from trainers.outputs import read_result
    from trainers.trial_file import output_dir_of
    try:
        code = main([str(trial_file)])
    finally:
        AcceleratorState._reset_state(reset_partial_state=True)
        GradientState._reset_state()
    output_dir = output_dir_of(trial_file)
    return code, read_result(output_dir) if output_dir is not None else None


def run_module(module: str, args: Sequence[str], timeout: float = 300,
               cwd: Path = REPO_ROOT, launcher: Sequence[str] | None = None
               ) -> subprocess.CompletedProcess:
    """``python -m module args`` (or ``launcher + [-m module args]``) with the test env."""
    command = [*(launcher or [sys.executable]), "-m", module, *map(str, args)]
    return subprocess.run(command, cwd=cwd, env=subprocess_env(), capture_output=True,
                          text=True, timeout=timeout)
