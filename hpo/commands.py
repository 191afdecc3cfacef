"""Handlers of the `hpo` sub-commands: argument in, exit code out, messages on stdout/stderr."""
from __future__ import annotations

import argparse
import sys

import yaml

from hpo.spec import SpecError, StudySpec, load_study_spec, spec_to_dict

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _load(path, args: argparse.Namespace | None = None) -> StudySpec | None:
    """The study spec with any command-line overrides applied; None (and a message) if invalid."""
    try:
        spec = load_study_spec(path)
    except SpecError as exc:
        print(exc, file=sys.stderr)
        return None
    if args is None:
        return spec
    return _with_overrides(spec, args)


def _with_overrides(spec: StudySpec, args: argparse.Namespace) -> StudySpec | None:
    from hpo.runner import BadOverride, Overrides, apply_overrides

    try:
        return apply_overrides(spec, Overrides(
            n_trials=getattr(args, "n_trials", None), timeout=getattr(args, "timeout", None),
            storage=getattr(args, "storage", None),
            tracking_uri=getattr(args, "tracking_uri", None), output=getattr(args, "output", None)))
    except BadOverride as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def _existing_study(spec: StudySpec):
    import optuna

    from hpo.runner import open_study

    try:
        return open_study(spec, create=False)
    except KeyError:
        print(f"error: no study {spec.name!r} in {_safe(spec.optuna_storage_url)}; start it "
              f"with: hpo run {spec.source}", file=sys.stderr)
        return None
    except optuna.exceptions.StorageInternalError as exc:
        from storage.urls import redact_text

        print(f"error: cannot open {_safe(spec.optuna_storage_url)}: "
              f"{redact_text(str(exc), spec.optuna_storage_url)}", file=sys.stderr)
        return None


def _load_with_study(args: argparse.Namespace):
    """(spec, study) for the commands that read an existing study; study None on any problem."""
    spec = _load(args.study, args)
    return spec, (_existing_study(spec) if spec is not None else None)


def _safe(url: str) -> str:
    from storage import redact_url

    return redact_url(url)


def cmd_validate(args: argparse.Namespace) -> int:
    spec = _load(args.study)
    if spec is None:
        return EXIT_BAD_INPUT
    from hpo.optuna_factory import random_phase_note

    print(f"# {args.study}: valid. Resolved study (defaults filled in, paths absolute):")
    note = random_phase_note(spec.study.sampler.name, spec.study.sampler.options,
                             spec.study.n_trials)
    if note:
        print(f"# note: {note}.")
    print(yaml.safe_dump(spec_to_dict(spec), sort_keys=False, default_flow_style=None), end="")
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    from hpo.data import DataError
    from hpo.starter import write_starter_study

    try:
        path = write_starter_study(args.data, out=args.out, model=args.model, name=args.name,
                                   force=args.force)
    except (DataError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"wrote {path}; check it with: hpo validate {path}")
    return EXIT_OK


def cmd_prepare(args: argparse.Namespace) -> int:
    from hpo.data import DataError, prepare_data

    spec = _load(args.study)
    if spec is None:
        return EXIT_BAD_INPUT
    try:
        prepared = prepare_data(spec, force=args.force)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    state = "reused (input unchanged)" if prepared.reused else "written"
    print((prepared.path / "report.txt").read_text(encoding="utf-8"), end="")
    print(f"prepared splits {state}: {prepared.path}")
    return EXIT_OK


def _run_study(spec: StudySpec, again: str):
    """run_study with its failures as messages; the study, or an exit code."""
    from hpo.data import DataError
    from hpo.runner import StudyRunError, run_study
    from storage.transient import is_transient

    try:
        return run_study(spec)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except StudyRunError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(f"\nstopped. The running trial was ended and recorded as failed; resume with: "
              f"{again}", file=sys.stderr)
        return 130
    except Exception as exc:
        if not is_transient(exc):
            raise
        return _storage_unusable(exc, spec.optuna_storage_url)


def _storage_unusable(exc: BaseException, url: str) -> int:
    """A connection error as what failed and what to do, the URL without its password."""
    from storage.check import diagnose
    from storage.urls import redact_text

    problem, advice = diagnose(exc, url)
    print(f"error: cannot use the storage {_safe(url)}: {redact_text(problem, url)}\n"
          f"  to fix: {advice}", file=sys.stderr)
    return EXIT_FAILED


def cmd_run(args: argparse.Namespace) -> int:
    spec = _load(args.study, args)
    if spec is None:
        return EXIT_BAD_INPUT
    study = _run_study(spec, f"hpo run {args.study}")
    if isinstance(study, int):
        return study
    from hpo.reporting import format_status_table

    print(format_status_table(study, spec.study.metric))
    print(f"""
Next:
  hpo best {args.study}                      # the best trial and its parameters
  hpo report {args.study}                    # plots and summary in {spec.report_dir}
  mlflow ui --backend-store-uri {_safe(spec.mlflow_tracking_uri)}   # compare runs side by side""")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from hpo.reporting import format_status_table

    spec, study = _load_with_study(args)
    if study is None:
        return EXIT_BAD_INPUT
    print(format_status_table(study, spec.study.metric))
    return EXIT_OK


def cmd_best(args: argparse.Namespace) -> int:
    import json

    from hpo.reporting import best_trial_summary

    spec, study = _load_with_study(args)
    if study is None:
        return EXIT_BAD_INPUT
    try:
        best = best_trial_summary(study)
    except LookupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(best, indent=2, default=str))
    else:
        print(f"best trial {best['number']}: {spec.study.metric} = {best['value']:.4f}")
        for key, value in best["params"].items():
            print(f"  {key}: {value}")
        if best.get("mlflow_run_id"):
            print(f"  MLflow run: {best['mlflow_run_id']}")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from hpo.reporting import format_summary, write_report

    spec, study = _load_with_study(args)
    if study is None:
        return EXIT_BAD_INPUT
    out_dir = spec.report_dir
    summary = write_report(study, out_dir, spec.study.metric)
    run_id = study.user_attrs.get("mlflow_study_run_id")
    if run_id:
        from hpo.tracking import StudyTracker

        StudyTracker(spec.mlflow_tracking_uri, spec.name).log_study_artifacts(run_id, out_dir)
    print(format_summary(summary), end="")
    print(f"report written to {out_dir}")
    return EXIT_OK


def cmd_dashboard(args: argparse.Namespace) -> int:
    import shutil
    import subprocess

    spec = _load(args.study, args)
    if spec is None:
        return EXIT_BAD_INPUT
    exe = shutil.which("optuna-dashboard")
    if exe is None:
        print("error: optuna-dashboard is not installed; pip install 'dnahpo[dashboard]'",
              file=sys.stderr)
        return EXIT_FAILED
    print(f"optuna-dashboard on http://{args.host}:{args.port} (Ctrl-C to stop)")
    return subprocess.call([exe, spec.optuna_storage_url, "--host", args.host,
                            "--port", str(args.port)])


def cmd_promote(args: argparse.Namespace) -> int:
    from hpo.promotion import PromotionError, describe, promote

    spec = _load(args.study, args)
    if spec is None:
        return EXIT_BAD_INPUT
    if _existing_study(spec) is None:
        return EXIT_BAD_INPUT
    try:
        result = promote(spec, top_k=args.top_k, seeds=args.seeds)
    except PromotionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(describe(result, spec))
    return EXIT_OK


def cmd_worker(args: argparse.Namespace) -> int:
    from hpo.runner import BadOverride, StudyRunError, check_override_urls
    from hpo.spec import SpecError
    from hpo.trial_loop import study_counts
    from hpo.worker import pin_gpu, spec_from_storage
    from storage import storage_kind
    from storage.transient import is_transient

    if args.gpu is not None:
        pin_gpu(args.gpu)
    if args.study_file is not None:
        if args.study:
            print("error: give a study file or --study NAME, not both", file=sys.stderr)
            return EXIT_BAD_INPUT
        spec = _load(args.study_file, args)
        again = f"hpo worker {args.study_file}"
    elif args.study and args.storage:
        try:
            check_override_urls(args.storage, args.tracking_uri)
            spec = spec_from_storage(args.study, args.storage)
        except (BadOverride, StudyRunError, SpecError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except Exception as exc:
            if not is_transient(exc):
                raise
            return _storage_unusable(exc, args.storage)
        spec = _with_overrides(spec, args)
        again = f"hpo worker --study {args.study} --storage {_safe(args.storage)}"
    else:
        print("error: give a study file, or --study NAME with --storage URL", file=sys.stderr)
        return EXIT_BAD_INPUT
    if spec is None:
        return EXIT_BAD_INPUT
    if storage_kind(spec.optuna_storage_url) == "sqlite":
        print(f"note: {_safe(spec.optuna_storage_url)} is SQLite, fine for workers on this "
              f"machine only; for several machines use PostgreSQL (docs/distributed.md)",
              file=sys.stderr)
    study = _run_study(spec, again)
    if isinstance(study, int):
        return study
    counts = study_counts(study)
    print(f"worker done: study {spec.name!r} has {counts.done} completed or pruned trials of "
          f"{spec.study.n_trials or 'no'} budgeted ({counts.running} still running elsewhere)")
    return EXIT_OK


def cmd_storage(args: argparse.Namespace) -> int:
    import json

    from storage.check import check_storage

    report = check_storage(args.url)  # subcommand "check": the only one so far
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.format())
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_server(args: argparse.Namespace) -> int:
    import os
    from storage import storage_kind
    from storage.check import check_connection
    from storage.mlflow_server import mlflow_server_command, prepare_local_paths
    from storage.urls import url_password

    backend = args.backend_store_uri
    if url_password(backend):
        print(f"error: --backend-store-uri {_safe(backend)}: a password on the command line "
              f"shows in `ps` and in logs; give it in PGPASSWORD or ~/.pgpass instead",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    prepare_local_paths(backend, args.artifacts_destination)
    if storage_kind(backend) not in ("sqlite", "file"):
        report = check_connection(backend)
        if not report.ok:
            print(f"error: the backend store {report.url} is not usable: {report.problem}\n"
                  f"  to fix: {report.advice}", file=sys.stderr)
            return EXIT_FAILED
    cmd = mlflow_server_command(backend, args.artifacts_destination, host=args.host,
                                port=args.port, workers=args.workers)
    print(f"MLflow tracking server on http://{args.host}:{args.port} (backend {_safe(backend)}, "
          f"artifacts {cmd[cmd.index('--artifacts-destination') + 1]}); workers use "
          f"storage.mlflow: http://{args.host}:{args.port}", flush=True)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print("note: reachable from other machines; MLflow has no authentication by default, so "
              "keep it on a private network (and see --allowed-hosts of `mlflow server`)",
              file=sys.stderr, flush=True)
    os.execv(cmd[0], cmd)  # the server becomes this process: signals reach it directly
