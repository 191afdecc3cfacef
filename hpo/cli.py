"""The `hpo` command line. Each sub-command lives in its own module; this file only dispatches.

Exit codes: 0 success, 1 a failure while working, 2 bad input (study file, data, arguments).
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from hpo import __version__

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _add_study_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("study", type=Path, help="study file (YAML)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hpo", description="Hyperparameter optimisation for fine-tuning DNA language models.")
    parser.add_argument("--version", action="version", version=f"dnahpo {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check a study file and print the resolved spec")
    _add_study_arg(p)

    p = sub.add_parser("init", help="write a commented starter study for a data file")
    p.add_argument("--data", type=Path, required=True, help="CSV/TSV/FASTA/FASTQ(.gz) file")
    p.add_argument("--model", default=None, help="hub id or local folder of the base model")
    p.add_argument("--out", type=Path, default=Path("study.yaml"), help="where to write it")
    p.add_argument("--name", default=None, help="study name (default: from the data file name)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")

    p = sub.add_parser("prepare", help="clean and split the study's data, write a data report")
    _add_study_arg(p)
    p.add_argument("--force", action="store_true", help="rebuild even if prepared data exists")

    p = sub.add_parser("run", help="run (or resume) the study until its budget is spent")
    _add_study_arg(p)
    p.add_argument("--n-trials", type=int, help="total budget of completed + pruned trials")
    p.add_argument("--timeout", type=float, help="stop starting trials after this many seconds")
    p.add_argument("--storage", help="Optuna storage URL (overrides storage.optuna)")
    p.add_argument("--tracking-uri", help="MLflow tracking URI (overrides storage.mlflow)")
    p.add_argument("--output", type=Path, help="output folder (overrides output)")

    for name, text in (("status", "print a table of the study's trials"),
                       ("best", "print the best trial"),
                       ("report", "write the study's plots and summary")):
        p = sub.add_parser(name, help=text)
        _add_study_arg(p)
        p.add_argument("--storage", help="Optuna storage URL (overrides storage.optuna)")
        p.add_argument("--output", type=Path, help="output folder (overrides output)")
        if name == "best":
            p.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "report":
            p.add_argument("--tracking-uri", help="MLflow tracking URI (overrides storage.mlflow)")

    p = sub.add_parser("promote", help="test the best trial once and register it in MLflow")
    _add_study_arg(p)
    p.add_argument("--top-k", type=int, default=1,
                   help="retrain the k best trials with several seeds; pick by mean validation")
    p.add_argument("--seeds", type=int, nargs="+", help="seeds for --top-k retraining (0 1 2)")
    p.add_argument("--storage", help="Optuna storage URL (overrides storage.optuna)")
    p.add_argument("--tracking-uri", help="MLflow tracking URI (overrides storage.mlflow)")
    p.add_argument("--output", type=Path, help="output folder (overrides output)")

    p = sub.add_parser("worker", help="join a study and run trials until its total budget is spent",
                       description="Run trials of a study that other workers (on this or other "
                       "machines) may be running too; together they run exactly the study's "
                       "budget. Give the study file, or --study and --storage to use the study "
                       "file stored in the study by whoever started it.")
    p.add_argument("study_file", type=Path, nargs="?", metavar="STUDY",
                   help="study file (YAML); optional with --study and --storage")
    p.add_argument("--study", metavar="NAME", help="name of a study already in --storage")
    p.add_argument("--storage", help="Optuna storage URL (overrides storage.optuna)")
    p.add_argument("--tracking-uri", help="MLflow tracking URI (overrides storage.mlflow)")
    p.add_argument("--output", type=Path, help="output folder (overrides output)")
    p.add_argument("--n-trials", type=int, help="total budget of completed + pruned trials")
    p.add_argument("--timeout", type=float, help="stop starting trials after this many seconds")
    p.add_argument("--gpu", metavar="ID", help="run trials on this GPU only (sets "
                   "CUDA_VISIBLE_DEVICES; '0,1' for trials with training.processes: 2)")

    p = sub.add_parser("storage", help="storage tools: `hpo storage check URL`")
    storage_sub = p.add_subparsers(dest="storage_command", required=True, metavar="ACTION")
    check = storage_sub.add_parser(
        "check", help="is an Optuna storage usable: reachable, schema version, studies",
        description="Connect read-only and say whether the storage is usable, its Optuna "
                    "schema version and the studies in it, or what is wrong and what to do. "
                    "Exit code 0 when usable, 1 when not.")
    check.add_argument("url", help="Optuna storage URL (password from PGPASSWORD or ~/.pgpass)")
    check.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("server", help="start an MLflow tracking server for many workers",
                       description="An MLflow tracking server with proxied artifacts; workers "
                       "then need only its address (storage.mlflow: http://HOST:PORT).")
    p.add_argument("--backend-store-uri", required=True,
                   help="postgresql+psycopg://USER@HOST:PORT/DB (password from PGPASSWORD or "
                        "~/.pgpass), or sqlite:///PATH for a quick local server")
    p.add_argument("--artifacts-destination", required=True,
                   help="folder (or s3://..., gs://...) where the server stores artifacts")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--workers", type=int, help="server processes (MLflow's default: 4)")

    p = sub.add_parser("dashboard", help="open optuna-dashboard on the study's storage")
    _add_study_arg(p)
    p.add_argument("--storage", help="Optuna storage URL (overrides storage.optuna)")
    p.add_argument("--output", type=Path, help="output folder (overrides output)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
    p.add_argument("--port", type=int, default=8080)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import warnings

    # Optuna flags heartbeats, PatientPruner and friends as experimental on every use; users
    # of the CLI cannot act on that, so keep the output for what they can act on.
    warnings.filterwarnings("ignore", message=r".*is experimental.*")
    warnings.filterwarnings("ignore", message=r".*experimental feature.*")
    # dnahpo says itself when the baseline lies outside a searched range (hpo.params).
    warnings.filterwarnings("ignore", message=r"Fixed parameter .* is out of range")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    from hpo import commands  # imported late: `hpo --help` stays fast

    handler = getattr(commands, f"cmd_{args.command.replace('-', '_')}")
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
