"""dnahpo: hyperparameter optimisation and experiment tracking for fine-tuning DNA language models."""
__version__ = "0.1.0"
