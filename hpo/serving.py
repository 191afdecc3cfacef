"""The registered model: a pyfunc that takes DNA sequences and returns labels and probabilities.

It carries the fine-tuned adapter (or the fully fine-tuned weights), the tokenizer and the label
names, and *names* its base model. A hub base is fetched by transformers on load (id and
revision are recorded), so registered versions stay megabytes, not gigabytes; a base that is a
local folder is carried along, because a path on the training machine means nothing elsewhere.

    model = mlflow.pyfunc.load_model("models:/dnahpo-demo@champion")
    model.predict(["ACGT..."])   # DataFrame: label, probability, p_<label> per class
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd  # loaded by mlflow anyway


def _as_sequences(model_input: Any) -> list[str]:
    if isinstance(model_input, pd.DataFrame):
        column = "sequence" if "sequence" in model_input.columns else model_input.columns[0]
        return [str(s) for s in model_input[column]]
    if isinstance(model_input, str):
        return [model_input]
    return [str(s) for s in model_input]


def load_sequence_classifier(weights: Path, base: str, labels: list[str],
                             trust_remote_code: bool = False, revision: str | None = None):
    """(tokenizer, model in eval mode) from a trial's saved ``model/`` folder: a LoRA adapter
    with its head on top of ``base`` (when adapter_config.json is there), else a whole model."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    weights = Path(weights)
    tokenizer = AutoTokenizer.from_pretrained(weights)
    kwargs = {"num_labels": len(labels), "id2label": dict(enumerate(labels)),
              "label2id": {name: i for i, name in enumerate(labels)},
              "trust_remote_code": trust_remote_code}
    if (weights / "adapter_config.json").exists():
        from peft import PeftModel

        model = AutoModelForSequenceClassification.from_pretrained(base, revision=revision,
                                                                   **kwargs)
        if model.config.pad_token_id is None:
            model.config.pad_token_id = tokenizer.pad_token_id
        model = PeftModel.from_pretrained(model, weights)
    else:  # full fine-tuning: the weights are the whole model
        model = AutoModelForSequenceClassification.from_pretrained(weights, **kwargs)
    return tokenizer, model.eval()


def predict_probabilities(tokenizer, model, sequences: list[str], max_length: int,
                          batch_size: int = 64):
    """Class probabilities (n reads x n classes, numpy float32) for normalised sequences."""
    import torch

    probabilities = []
    with torch.no_grad():
        for start in range(0, len(sequences), batch_size):
            enc = tokenizer(sequences[start:start + batch_size], padding=True, truncation=True,
                            max_length=max_length, return_tensors="pt")
            probabilities.append(torch.softmax(model(**enc).logits.float(), dim=-1))
    n_classes = model.config.num_labels
    return (torch.cat(probabilities) if probabilities else torch.zeros((0, n_classes))).numpy()


class DnaSequenceClassifier(mlflow.pyfunc.PythonModel):
    """Base model + adapter + tokenizer, predicting a label and class probabilities per read."""

    def load_context(self, context: Any) -> None:
        meta = json.loads(Path(context.artifacts["meta"]).read_text())
        self.labels: list[str] = meta["labels"]
        self.max_length: int = meta["max_length"]
        local_base = context.artifacts.get("base")
        self.tokenizer, self.model = load_sequence_classifier(
            Path(context.artifacts["weights"]), local_base or meta["base_model"], self.labels,
            trust_remote_code=meta.get("trust_remote_code", False),
            revision=None if local_base else meta.get("base_revision"))

    # MLflow reads predict's type hints as the input schema: `Any` (or no hint) makes it warn at
    # every class definition and log_model, while a DataFrame hint is taken as "no schema from
    # hints", so the signature logged with the model (hpo.promotion: one string column) applies,
    # and the loaded model hands predict a DataFrame whatever the caller passed.
    def predict(self, context: Any, model_input: pd.DataFrame,
                params: dict[str, Any] | None = None) -> pd.DataFrame:
        sequences = [s.upper().replace("U", "T") for s in _as_sequences(model_input)]
        probs = predict_probabilities(self.tokenizer, self.model, sequences, self.max_length,
                                      int((params or {}).get("batch_size", 64)))
        frame = pd.DataFrame({"label": [self.labels[i] for i in probs.argmax(axis=1)],
                              "probability": probs.max(axis=1) if len(probs) else []})
        for i, name in enumerate(self.labels):
            frame[f"p_{name}"] = probs[:, i]
        return frame
