"""Tiny, randomly initialised DNA language models written to disk, for tests without a hub.

``make_tiny_model(dest, family)`` writes a folder that ``AutoModelForSequenceClassification``
and ``AutoTokenizer`` load like any hub checkpoint: the config, safetensors weights of the
*masked/causal LM* (so a classification head is newly initialised on load, as with a real
pretrained DNA model) and a single-base tokenizer built offline with ``tokenizers``.
"""
from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, models, pre_tokenizers, processors
from transformers import PreTrainedTokenizerFast

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
BASES = ("A", "C", "G", "T", "N")
FAMILIES = ("bert", "esm", "llama", "modernbert")
VOCABS = ("single-base",)

# Small enough that a training step takes milliseconds on one CPU core, large enough that
# attention has more than one head and the model has more than one layer to adapt.
HIDDEN, LAYERS, HEADS, INTERMEDIATE, MAX_POSITIONS = 32, 2, 2, 64, 512


def make_dna_tokenizer() -> PreTrainedTokenizerFast:
    """One token per base; ``[CLS] ... [SEP]`` added around every sequence."""
    vocab = {token: i for i, token in enumerate(SPECIAL_TOKENS + BASES)}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    # Split every character: DNA has no whitespace to split on.
    backend.pre_tokenizer = pre_tokenizers.Split(pattern="", behavior="isolated")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]", model_max_length=MAX_POSITIONS)


def _config(family: str, tokenizer: PreTrainedTokenizerFast):
    ids = {"vocab_size": len(tokenizer), "pad_token_id": tokenizer.pad_token_id}
    if family == "bert":
        from transformers import BertConfig
        return BertConfig(hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                          intermediate_size=INTERMEDIATE, max_position_embeddings=MAX_POSITIONS,
                          **ids)
    if family == "esm":
        from transformers import EsmConfig
        return EsmConfig(hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                         intermediate_size=INTERMEDIATE, max_position_embeddings=MAX_POSITIONS + 2,
                         position_embedding_type="rotary", mask_token_id=tokenizer.mask_token_id,
                         **ids)
    if family == "llama":
        from transformers import LlamaConfig
        return LlamaConfig(hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                           num_key_value_heads=HEADS, intermediate_size=INTERMEDIATE,
                           max_position_embeddings=MAX_POSITIONS,
                           bos_token_id=tokenizer.cls_token_id, eos_token_id=tokenizer.sep_token_id,
                           **ids)
    if family == "modernbert":
        from transformers import ModernBertConfig
        return ModernBertConfig(hidden_size=HIDDEN, num_hidden_layers=LAYERS,
                                num_attention_heads=HEADS, intermediate_size=INTERMEDIATE,
                                max_position_embeddings=MAX_POSITIONS, local_attention=16,
                                bos_token_id=tokenizer.cls_token_id,
                                cls_token_id=tokenizer.cls_token_id,
                                eos_token_id=tokenizer.sep_token_id,
                                sep_token_id=tokenizer.sep_token_id, **ids)
    raise ValueError(f"unknown family {family!r}; expected one of {', '.join(FAMILIES)}")


def _pretraining_class(family: str):
    import transformers
    name = {"bert": "BertForMaskedLM", "esm": "EsmForMaskedLM", "llama": "LlamaForCausalLM",
            "modernbert": "ModernBertForMaskedLM"}[family]
    return getattr(transformers, name)


def make_tiny_model(dest: Path, family: str = "bert", vocab: str = "single-base",
                    seed: int = 0, dropout: float | None = None) -> Path:
    """Write a tiny LM checkpoint + tokenizer of ``family`` to ``dest``; returns ``dest``.

    ``dropout``: override every dropout probability of the config (0.0 makes training a pure
    function of the data order, e.g. to compare gradient accumulation with one large batch).
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; expected one of {', '.join(FAMILIES)}")
    if vocab not in VOCABS:
        raise ValueError(f"unknown vocab {vocab!r}; expected one of {', '.join(VOCABS)}")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    tokenizer = make_dna_tokenizer()
    config = _config(family, tokenizer)
    if dropout is not None:
        for key in ("hidden_dropout_prob", "attention_probs_dropout_prob", "attention_dropout",
                    "embedding_dropout", "mlp_dropout", "classifier_dropout"):
            if hasattr(config, key):
                setattr(config, key, dropout)
    torch.manual_seed(seed)  # the same folder content for the same seed
    model = _pretraining_class(family)(config)
    model.save_pretrained(dest)
    tokenizer.save_pretrained(dest)
    return dest


def make_tiny_classifier(dest: Path, num_labels: int, family: str = "bert",
                         id2label: dict[int, str] | None = None) -> Path:
    """A checkpoint that already HAS a sequence-classification head of ``num_labels`` outputs
    (like a model fine-tuned elsewhere), to test label/head mismatches."""
    import transformers
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    tokenizer = make_dna_tokenizer()
    config = _config(family, tokenizer)
    config.num_labels = num_labels
    if id2label is not None:
        config.id2label = dict(id2label)
        config.label2id = {v: k for k, v in id2label.items()}
    name = {"bert": "BertForSequenceClassification", "esm": "EsmForSequenceClassification",
            "llama": "LlamaForSequenceClassification",
            "modernbert": "ModernBertForSequenceClassification"}[family]
    getattr(transformers, name)(config).save_pretrained(dest)
    tokenizer.save_pretrained(dest)
    return dest
