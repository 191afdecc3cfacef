"""The command line of a local MLflow tracking server for a team or a cluster of workers.

Workers then speak only HTTP to it (``storage.mlflow: http://HOST:5000``): no database driver,
password or shared artifact folder on the workers. Artifacts are proxied: clients upload through
the server, which writes them under ``--artifacts-destination`` (a folder or an object store).
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

from storage.urls import local_path, storage_kind


def mlflow_server_command(backend_store_uri: str, artifacts_destination: str,
                          host: str = "127.0.0.1", port: int = 5000,
                          workers: int | None = None) -> list[str]:
    """``mlflow server ...`` with proxied artifacts; local paths become absolute."""
    exe = shutil.which("mlflow") or str(Path(sys.executable).with_name("mlflow"))
    cmd = [exe, "server", "--backend-store-uri", backend_store_uri,
           "--artifacts-destination", artifact_destination_uri(artifacts_destination),
           "--serve-artifacts", "--host", host, "--port", str(port)]
    if workers:
        cmd += ["--workers", str(workers)]
    return cmd


def artifact_destination_uri(destination: str) -> str:
    """A URI as MLflow wants it: object stores as given, a local folder absolute."""
    if "://" in destination:
        return destination
    return Path(destination).expanduser().resolve().as_uri()


def prepare_local_paths(backend_store_uri: str, artifacts_destination: str) -> None:
    """Create the folders of a SQLite backend and a local artifact destination."""
    if storage_kind(backend_store_uri) == "sqlite":
        path = local_path(backend_store_uri)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
    if "://" not in artifacts_destination:
        Path(artifacts_destination).expanduser().mkdir(parents=True, exist_ok=True)
