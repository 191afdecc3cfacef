#!/usr/bin/env python
"""Smoke check: the shipped model loads like a hub model for sequence classification + LoRA.

    python assets/model/check_model.py [--model assets/model/dnahpo-ssu-tiny]

Loads the tokenizer with AutoTokenizer, the model with
AutoModelForSequenceClassification(num_labels=3) (printing the load report), wraps it with PEFT
LoRA on the attention projections, and runs forward + backward on two 200 bp reads.
"""

from __future__ import annotations

import argparse
import io
import logging
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ssu_corpus as C  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default=str(C.DEFAULT_MODEL_DIR))
    args = p.parse_args(argv)

    import torch
    import transformers
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    # capture what transformers logs while loading
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    tlog = logging.getLogger("transformers")
    tlog.addHandler(handler)
    transformers.logging.set_verbosity_warning()

    tok = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForSequenceClassification.from_pretrained(args.model, num_labels=3)
    tlog.removeHandler(handler)
    print("tokenizer:", type(tok).__name__, "vocab", len(tok), "model_max_length", tok.model_max_length)
    print("model:", type(model).__name__, f"{sum(p.numel() for p in model.parameters()):,} params")
    print("load messages:\n  " + (buf.getvalue().strip().replace("\n", "\n  ") or "(none)"))

    linear = sorted({n.split(".")[-1] for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)})
    print("nn.Linear module names:", linear)
    lcfg = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.05, target_modules=["query", "key", "value"], task_type="SEQ_CLS")
    peft_model = get_peft_model(model, lcfg)
    peft_model.print_trainable_parameters()

    rng = random.Random(0)
    reads = ["".join(rng.choice("ACGT") for _ in range(200)) for _ in range(2)]
    reads[1] = C.revcomp(reads[0]).lower()[:150] + "NRYACGT" + reads[0][:43]
    enc = tok(reads, padding=True, truncation=True, return_tensors="pt")
    print("input_ids shape:", tuple(enc["input_ids"].shape), "first tokens:", tok.convert_ids_to_tokens(enc["input_ids"][0][:6]))
    out = peft_model(**enc, labels=torch.tensor([0, 2]))
    out.loss.backward()
    print("logits:", tuple(out.logits.shape), "loss:", round(out.loss.item(), 4), "backward OK")


if __name__ == "__main__":
    main()
