"""Screenshot of the MLflow UI's run comparison for a study, in headless Chromium.

    python scripts/mlflow_ui_screenshot.py --tracking-uri sqlite:///runs/demo/mlflow.db \
        --experiment demo --out runs/demo/mlflow-compare.png

Starts `mlflow server` on 127.0.0.1 (a free port) over the study's store, opens the comparison
of the study's trial runs, waits for the page to render, saves a PNG, and stops the server.
The same view by hand: `mlflow ui --backend-store-uri URI`, open the experiment, tick the trial
runs (or "Select all"), press "Compare".
"""
from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from mlflow.tracking import MlflowClient

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_chromium() -> str | None:
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


def compare_url(base: str, experiment_id: str, run_ids: list[str]) -> str:
    query = urllib.parse.urlencode({"runs": json.dumps(run_ids),
                                    "experiments": json.dumps([experiment_id])})
    return f"{base}/#/compare-runs?{query}"


def wait_until_up(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"mlflow server at {url} did not come up within {timeout:.0f} s")


def screenshot(tracking_uri: str, experiment: str, out: Path, chromium: str | None = None,
               width: int = 1600, height: int = 1000) -> Path:
    chromium = chromium or find_chromium()
    if chromium is None:
        raise FileNotFoundError("no Chromium found; on Debian: apt-get install chromium")
    client = MlflowClient(tracking_uri)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        raise LookupError(f"no MLflow experiment {experiment!r} in {tracking_uri}")
    runs = client.search_runs([exp.experiment_id], "tags.`dnahpo.role` = 'trial'")
    if not runs:
        raise LookupError(f"experiment {experiment!r} has no trial runs to compare")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
             "--backend-store-uri", tracking_uri, "--workers", "1"],
            stdout=subprocess.DEVNULL, stderr=open(Path(tmp) / "server.log", "w"))
        try:
            wait_until_up(base)
            out.parent.mkdir(parents=True, exist_ok=True)
            url = compare_url(base, exp.experiment_id, [r.info.run_id for r in runs])
            subprocess.run(
                [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", f"--user-data-dir={tmp}/profile", "--hide-scrollbars",
                 f"--window-size={width},{height}", "--virtual-time-budget=20000",
                 f"--screenshot={out.resolve()}", url],
                check=True, timeout=180, capture_output=True)
        finally:
            server.terminate()
            server.wait(timeout=30)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--experiment", required=True, help="the study name")
    parser.add_argument("--out", type=Path, default=Path("mlflow-compare.png"))
    args = parser.parse_args()
    path = screenshot(args.tracking_uri, args.experiment, args.out)
    print(f"screenshot written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
