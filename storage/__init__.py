"""Storage URLs for Optuna and MLflow: one place that turns a URL into a working backend."""
from storage.optuna_storage import make_optuna_storage
from storage.urls import redact_url, storage_kind

__all__ = ["make_optuna_storage", "redact_url", "storage_kind"]
