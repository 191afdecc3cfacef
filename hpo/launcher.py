"""Run one trial as an `accelerate launch`-ed process group, with a timeout and clean stops.

The trial runs in its own session (process group) so that a timeout or Ctrl-C can end every
process it started (accelerate's launcher, its workers, data loader workers) at once. On Linux
the launcher also asks the kernel to stop it if the orchestrator dies, so a killed worker
leaves no trainer burning a GPU.
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from trainers.errors import EXIT_COMPLETED, EXIT_FAILED, EXIT_INVALID, EXIT_PRUNED
from trainers.launch import accelerate_command

EXIT_BAD_TRIAL = EXIT_INVALID
__all__ = ["EXIT_BAD_TRIAL", "EXIT_COMPLETED", "EXIT_FAILED", "EXIT_PRUNED", "LaunchResult",
           "accelerate_command", "launch_trial", "stop_process_group"]


@dataclass
class LaunchResult:
    exit_code: int | None
    duration: float
    log_path: Path
    timed_out: bool = False

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def launch_trial(cmd: list[str], log_path: Path, timeout: float | None = None,
                 env: dict[str, str] | None = None,
                 on_tick: Callable[[], None] | None = None, tick_seconds: float = 5.0) -> LaunchResult:
    """Run ``cmd``; stdout and stderr go to ``log_path``. Ctrl-C ends the group and re-raises."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    full_env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1",
                **(env or {})}
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, env=full_env,
                                   start_new_session=True,
                                   preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        try:
            next_tick = started + tick_seconds
            while True:
                try:
                    code = process.wait(timeout=1.0)
                    return LaunchResult(code, time.monotonic() - started, log_path)
                except subprocess.TimeoutExpired:
                    pass
                now = time.monotonic()
                if timeout is not None and now - started > timeout:
                    stop_process_group(process)
                    with open(log_path, "a", encoding="utf-8") as note:
                        note.write(f"\n[dnahpo] trial stopped: timeout after {timeout:.0f} s\n")
                    return LaunchResult(process.returncode, now - started, log_path, timed_out=True)
                if on_tick is not None and now >= next_tick:
                    next_tick = now + tick_seconds
                    on_tick()
        except BaseException:  # Ctrl-C or anything else: leave no process behind
            stop_process_group(process)
            raise


def stop_process_group(process: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the whole group, then SIGKILL what is still alive after ``grace`` seconds."""
    if process.poll() is not None:
        _kill_group(process.pid, signal.SIGKILL)  # stragglers of a finished leader
        return
    _kill_group(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    _kill_group(process.pid, signal.SIGKILL)
    process.wait()


def _kill_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
