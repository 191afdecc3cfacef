"""LoRA targets per model family, what is trainable, and the pad-token fallback."""
from __future__ import annotations

import pytest

from tests.helpers.trial_file import make_trial
from trainers.errors import InvalidTrialError
from trainers.modeling import (count_parameters, ensure_pad_token, load_model, load_tokenizer,
                               plan_model)
from trainers.trial_file import parse_trial_file

LABELS = ["a", "b", "c"]
EXPECTED_TARGETS = {
    "bert": ["query", "key", "value", "dense"],
    "esm": ["query", "key", "value", "dense"],
    "llama": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "modernbert": ["Wqkv", "Wo", "Wi"],
}
# Top-level head modules each family's classifier adds (trained in full under LoRA).
EXPECTED_HEADS = {"bert": {"classifier", "bert.pooler.dense"}, "esm": {"classifier"},
                  "llama": {"score"}, "modernbert": {"head", "classifier"}}


def _trial(tmp_path, model_path, model=None, **overrides):
    model = {"name_or_path": str(model_path), **(model or {})}
    return parse_trial_file(make_trial(tmp_path, model=model, **overrides), tmp_path)


def _build(trial):
    plan = plan_model(trial.model, LABELS, trial.params.lora_rank)
    tokenizer = load_tokenizer(trial.model)
    return plan, load_model(trial.model, trial.params, plan, tokenizer.pad_token_id)


@pytest.mark.parametrize("family", sorted(EXPECTED_TARGETS))
def test_lora_targets_found_and_only_adapter_and_head_train(tmp_path, tiny_models, family):
    trial = _trial(tmp_path, tiny_models[family], params={"lora_rank": 4})
    plan, model = _build(trial)
    assert plan.lora_target_modules == EXPECTED_TARGETS[family]

    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    not_adapter_or_head = [n for n in trainable if "lora_" not in n and "modules_to_save" not in n]
    assert not_adapter_or_head == []
    lora_layers = {n.split(".lora_")[0].rsplit(".", 1)[-1] for n in trainable if "lora_" in n}
    assert lora_layers == set(EXPECTED_TARGETS[family])
    heads = {n.split(".modules_to_save")[0].removeprefix("base_model.model.")
             for n in trainable if "modules_to_save" in n}
    assert heads == EXPECTED_HEADS[family]
    # LoRA never lands inside a head module: the head is trained in full instead.
    assert not any("lora_" in n and any(h in n for h in heads) for n in trainable)
    n_trainable, n_total = count_parameters(model)
    assert 0 < n_trainable < n_total / 2
    assert model.peft_config["default"].r == 4
    assert model.peft_config["default"].lora_alpha == 8  # null alpha -> 2 x rank


def test_full_fine_tuning_trains_everything(tmp_path, tiny_bert):
    _plan, model = _build(_trial(tmp_path, tiny_bert, params={"lora_rank": 0}))
    trainable, total = count_parameters(model)
    assert trainable == total
    assert model.config.id2label == dict(enumerate(LABELS))


def test_target_override_is_used(tmp_path, tiny_bert):
    trial = _trial(tmp_path, tiny_bert, model={"lora_target_modules": ["query", "value"]})
    plan, model = _build(trial)
    assert plan.lora_target_modules == ["query", "value"]
    targeted = {n.split(".lora_")[0].rsplit(".", 1)[-1] for n, _ in model.named_parameters()
                if "lora_" in n}
    assert targeted == {"query", "value"}


def test_unknown_override_lists_linear_modules(tmp_path, tiny_bert):
    trial = _trial(tmp_path, tiny_bert, model={"lora_target_modules": ["q_proj"]})
    with pytest.raises(InvalidTrialError, match=r"\['q_proj'\] match no Linear module.*"
                                                r"dense, key, query, value"):
        plan_model(trial.model, LABELS, 4)


def test_unknown_family_error_lists_linear_modules(tmp_path):
    from transformers import GPT2Config, GPT2LMHeadModel

    from tests.helpers.tiny_model import make_dna_tokenizer
    folder = tmp_path / "gpt2"
    tokenizer = make_dna_tokenizer()
    GPT2LMHeadModel(GPT2Config(n_embd=16, n_layer=1, n_head=2, vocab_size=len(tokenizer),
                               pad_token_id=tokenizer.pad_token_id)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    trial = _trial(tmp_path, folder)
    with pytest.raises(InvalidTrialError) as caught:
        plan_model(trial.model, LABELS, 4)
    message = str(caught.value)
    assert "cannot find LoRA target modules for model type 'gpt2'" in message
    assert "the model's Linear modules are: c_attn, c_fc, c_proj" in message
    assert "Set model.lora_target_modules" in message
    # ... and following the advice works (GPT-2's Conv1D layers are LoRA-able).
    fixed = _trial(tmp_path, folder, model={"lora_target_modules": ["c_attn"]})
    assert plan_model(fixed.model, LABELS, 4).lora_target_modules == ["c_attn"]


def test_pad_token_falls_back_to_eos(tiny_models):
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(tiny_models["llama"])
    tokenizer.eos_token = "[SEP]"
    tokenizer.pad_token = None
    assert ensure_pad_token(tokenizer).pad_token == "[SEP]"
