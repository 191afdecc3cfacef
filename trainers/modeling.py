"""The classifier: a pretrained DNA language model with a sequence-classification head, wrapped
in LoRA (PEFT) unless ``lora_rank`` is 0 (full fine-tuning).

Two phases, so that a bad model reference fails before any weights are read:
``plan_model`` reads only the config and builds a weightless skeleton on the meta device, to
check that the head can hold the labels and to pick the LoRA target modules; ``load_model``
then reads the weights.

What is "the head" (trained in full under LoRA, saved with the adapter): every top-level module
outside the backbone (``classifier``, ``score``, ModernBERT's ``head``) plus any backbone module
whose weights the checkpoint lacked (e.g. BERT's pooler when the checkpoint is a masked LM), since
a frozen randomly initialised layer would be noise the adapter has to work around.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import (AutoConfig, AutoModelForSequenceClassification, AutoTokenizer,
                          PretrainedConfig, PreTrainedModel)
from transformers.pytorch_utils import Conv1D

from trainers.errors import InvalidTrialError
from trainers.trial_file import ModelConfig, Params

# Checked in this order; the first family with a matching Linear module name wins. Names are
# module-name suffixes as PEFT matches them.
LORA_TARGETS_BY_FAMILY: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Llama/Mistral-like", ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                            "down_proj")),
    ("ModernBERT", ("Wqkv", "Wo", "Wi")),
    ("BERT/ESM-like (DNABERT, Nucleotide Transformer, dnahpo-ssu-tiny)",
     ("query", "key", "value", "dense")),
)
# PEFT's SEQ_CLS task type always trains and saves these in full.
PEFT_SEQ_CLS_HEADS = ("classifier", "score")
LINEAR_TYPES = (nn.Linear, Conv1D)


@dataclass(frozen=True)
class ModelPlan:
    config: PretrainedConfig  # with our labels
    lora_target_modules: list[str] | None  # None: full fine-tuning


def _labelled(labels: list[str]) -> dict:
    return {"num_labels": len(labels), "id2label": dict(enumerate(labels)),
            "label2id": {name: i for i, name in enumerate(labels)}}


def head_problems(config: PretrainedConfig, labels: list[str]) -> list[str]:
    """Why a checkpoint's own classification head cannot hold ``labels`` (empty when it can)."""
    where = "model.name_or_path"
    if getattr(config, "problem_type", None) == "regression":
        return [f"{where}: the checkpoint is a regression model (problem_type='regression'); "
                f"the trainer needs a classifier"]
    has_head = any(a.endswith("ForSequenceClassification") for a in config.architectures or [])
    if not has_head:
        return []  # a language-model checkpoint: the head is new and sized to the labels
    names = [config.id2label[i] for i in sorted(config.id2label)]
    if config.num_labels != len(labels):
        return [f"{where}: the checkpoint's classification head has {config.num_labels} outputs "
                f"({names}), but the data has {len(labels)} labels ({labels})"]
    if names != [f"LABEL_{i}" for i in range(len(names))] and names != labels:
        return [f"{where}: the checkpoint's classification head predicts {names}, the data's "
                f"labels are {labels}; the class order would silently change meaning"]
    return []


def linear_module_names(model: nn.Module) -> list[str]:
    return [name for name, module in model.named_modules() if isinstance(module, LINEAR_TYPES)]


def _matches(name: str, target: str) -> bool:  # PEFT's rule for a list of target names
    return name == target or name.endswith("." + target)


def choose_lora_targets(skeleton: PreTrainedModel, override: list[str] | None) -> list[str]:
    """LoRA target module names for ``skeleton``: the override, checked, or the family's."""
    backbone_linear = linear_module_names(skeleton.base_model)
    leaves = sorted({name.rsplit(".", 1)[-1] for name in backbone_linear})
    shown = f"the model's Linear modules are: {', '.join(leaves) or 'none'}"
    if override is not None:
        unmatched = [t for t in override if not any(_matches(n, t) for n in backbone_linear)]
        if unmatched:
            raise InvalidTrialError([f"model.lora_target_modules: {unmatched} match no Linear "
                                     f"module of the backbone; {shown}"])
        return list(override)
    for _family, candidates in LORA_TARGETS_BY_FAMILY:
        found = [c for c in candidates if c in leaves]
        if found:
            return found
    families = "; ".join(f"{family}: {', '.join(names)}"
                         for family, names in LORA_TARGETS_BY_FAMILY)
    raise InvalidTrialError([
        f"model.lora_target_modules: cannot find LoRA target modules for model type "
        f"{skeleton.config.model_type!r} (known families: {families}); {shown}. "
        f"Set model.lora_target_modules to some of them, or lora_rank to 0 for full fine-tuning"])


def plan_model(model: ModelConfig, labels: list[str], lora_rank: int) -> ModelPlan:
    """Check the model against the labels and pick LoRA targets, without reading weights."""
    kwargs = {"revision": model.revision, "trust_remote_code": model.trust_remote_code}
    try:
        original = AutoConfig.from_pretrained(model.name_or_path, **kwargs)
    except (OSError, ValueError, KeyError) as exc:
        raise InvalidTrialError([f"model.name_or_path: cannot read the model config of "
                                 f"{model.name_or_path!r}: {exc}"]) from None
    problems = head_problems(original, labels)
    if problems:
        raise InvalidTrialError(problems)
    config = AutoConfig.from_pretrained(model.name_or_path, **kwargs, **_labelled(labels))
    try:
        with torch.device("meta"):  # shapes and names only: no memory, no weights read
            skeleton = AutoModelForSequenceClassification.from_config(
                config, trust_remote_code=model.trust_remote_code)
    except ValueError as exc:  # transformers' "Unrecognized configuration class ..."
        raise InvalidTrialError([f"model.name_or_path: model type {config.model_type!r} has no "
                                 f"sequence-classification class: {exc}"]) from None
    targets = choose_lora_targets(skeleton, model.lora_target_modules) if lora_rank > 0 else None
    return ModelPlan(config, targets)


def load_tokenizer(model: ModelConfig):
    try:
        tokenizer = AutoTokenizer.from_pretrained(model.name_or_path, revision=model.revision,
                                                  trust_remote_code=model.trust_remote_code)
    except (OSError, ValueError) as exc:
        raise InvalidTrialError([f"model.name_or_path: cannot load the tokenizer of "
                                 f"{model.name_or_path!r}: {exc}"]) from None
    return ensure_pad_token(tokenizer)


def ensure_pad_token(tokenizer):
    """Decoder tokenizers (Llama, Mistral, HyenaDNA) often lack a pad token: reuse EOS (or UNK),
    the usual choice; the attention mask hides it, so its identity does not matter."""
    if tokenizer.pad_token is None:
        fallback = tokenizer.eos_token or tokenizer.unk_token
        if fallback is None:
            raise InvalidTrialError(["model.name_or_path: the tokenizer has no pad, EOS or UNK "
                                     "token to pad batches with"])
        tokenizer.pad_token = fallback
    return tokenizer


def modules_to_train_fully(model: PreTrainedModel, missing_keys: set[str]) -> list[str]:
    """Head modules: top-level modules outside the backbone, and newly initialised modules."""
    backbone = model.base_model_prefix
    names = [name for name, child in model.named_children()
             if name != backbone and any(True for _ in child.parameters())]
    names += sorted({key.rsplit(".", 1)[0] for key in missing_keys})
    chosen: list[str] = []
    for name in names:  # drop names inside an already chosen module, and PEFT's own
        covered = chosen + list(PEFT_SEQ_CLS_HEADS)
        if not any(name == c or name.startswith(c + ".") for c in covered):
            chosen.append(name)
    return chosen


def load_model(model: ModelConfig, params: Params, plan: ModelPlan, pad_token_id: int):
    """The classifier with LoRA (or all weights trainable when ``lora_rank`` is 0)."""
    classifier, info = AutoModelForSequenceClassification.from_pretrained(
        model.name_or_path, config=plan.config, revision=model.revision,
        trust_remote_code=model.trust_remote_code, output_loading_info=True)
    # Decoder classifiers pool at the last non-pad token, so they must know the pad id.
    if getattr(classifier.config, "pad_token_id", None) is None:
        classifier.config.pad_token_id = pad_token_id
    if params.lora_rank == 0:
        return classifier
    from peft import LoraConfig, TaskType, get_peft_model
    lora = LoraConfig(task_type=TaskType.SEQ_CLS, r=params.lora_rank,
                      lora_alpha=params.resolved_lora_alpha, lora_dropout=params.lora_dropout,
                      target_modules=plan.lora_target_modules,
                      modules_to_save=modules_to_train_fully(classifier,
                                                             set(info["missing_keys"])),
                      revision=model.revision)
    return get_peft_model(classifier, lora)


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())
