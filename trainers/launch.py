"""Launch one trial through ``accelerate launch`` and exit with the trainer's own exit code.

    python -m trainers.launch [--num_processes N] [--timeout S] TRIAL.json [-- ACCELERATE ARGS]

Why this exists: ``accelerate launch`` (1.16) turns every non-zero exit of its children into 1
(it raises ``CalledProcessError``, or ``ChildFailedError`` under torchrun), so the documented
codes 2 (bad trial file) and 75 (pruned) never reach the parent. The trainer writes its outcome
to result.json on rank 0 before exiting; this wrapper maps it back:

    completed -> 0 | pruned -> 75 | failed, reason invalid_trial_file -> 2 | failed / none -> 1
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from trainers.errors import (EXIT_COMPLETED, EXIT_FAILED, EXIT_INVALID, EXIT_PRUNED,
                             REASON_INVALID)
from trainers.outputs import clear_stale_result, read_result
from trainers.trial_file import output_dir_of


def _free_port() -> int:
    # Several trials on one machine must not share torchrun's default port 29500.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # honours container and taskset limits
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def accelerate_command(trial_file: str | Path, num_processes: int = 1,
                       extra_args: Sequence[str] = ()) -> list[str]:
    """The ``accelerate launch`` command line for one trial (the trainer sets its own mixed
    precision from the trial file; dynamo stays off, its compile time would dwarf a trial)."""
    command = [sys.executable, "-m", "accelerate.commands.launch", "--num_machines", "1",
               "--num_processes", str(num_processes), "--mixed_precision", "no",
               "--dynamo_backend", "no"]
    if num_processes > 1:
        command += ["--multi_gpu", "--main_process_port", str(_free_port())]
    # accelerate sets OMP_NUM_THREADS=1 unless told otherwise, which leaves all but one core
    # idle on a CPU; share the cores this process may use among the ranks instead.
    threads = os.environ.get("OMP_NUM_THREADS") or str(max(1, _usable_cores() // num_processes))
    command += ["--num_cpu_threads_per_process", threads]
    return [*command, *extra_args, "-m", "trainers.finetune", str(trial_file)]


def exit_code_from_result(result: Mapping | None, launcher_exit_code: int) -> int:
    """The trainer's exit code, recovered from its result.json."""
    if result is None:
        # No result: the trainer died before writing one (killed, or a crash on rank > 0).
        # A launcher that passes codes through (a future accelerate) is still believed.
        known = launcher_exit_code in (EXIT_INVALID, EXIT_PRUNED)
        return launcher_exit_code if known else EXIT_FAILED
    status = result.get("status")
    if status == "completed":
        return EXIT_COMPLETED
    if status == "pruned":
        return EXIT_PRUNED
    if status == "failed" and result.get("reason") == REASON_INVALID:
        return EXIT_INVALID
    return EXIT_FAILED


def launch_trial(trial_file: str | Path, num_processes: int = 1, timeout: float | None = None,
                 extra_args: Sequence[str] = (), env: Mapping[str, str] | None = None) -> int:
    """Run the trial to its end (or ``timeout`` seconds) and return the trainer's exit code."""
    output_dir = output_dir_of(trial_file)
    if output_dir is not None:
        clear_stale_result(output_dir)
    process = subprocess.Popen(accelerate_command(trial_file, num_processes, extra_args),
                               env=dict(env) if env is not None else None,
                               start_new_session=True)  # its own group: a timeout ends all ranks
    try:
        launcher_exit_code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        print(f"error: trial {trial_file} ran past its timeout of {timeout} s", file=sys.stderr)
        return EXIT_FAILED
    result = read_result(output_dir) if output_dir is not None else None
    return exit_code_from_result(result, launcher_exit_code)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trainers.launch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("trial_file")
    parser.add_argument("--num_processes", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=None, help="seconds")
    parser.add_argument("accelerate_args", nargs="*",
                        help="after `--`: extra `accelerate launch` arguments")
    args = parser.parse_args(argv)
    return launch_trial(args.trial_file, args.num_processes, args.timeout, args.accelerate_args)


if __name__ == "__main__":
    sys.exit(main())
