#!/usr/bin/env python
"""Held-out masked-token accuracy of dnahpo-ssu-tiny vs an untrained model of the same shape.

    python assets/model/evaluate_mlm.py [--model assets/model/dnahpo-ssu-tiny] [--windows 2000]

Evaluation data: random 150-250 bp windows (both strands, fixed seed) of the MLM held-out
molecules (pretraining pool, ``int(sha256(ACC)[8:16], 16) % 256 == 0``; never trained on).
Masking: BERT 15% (80% [MASK] / 10% random / 10% kept) with a fixed torch seed, identical for
both models.  The untrained model is ``BertForMaskedLM(config)`` with ``torch.manual_seed(--seed)``.
``--split finetune`` evaluates on the fine-tuning pool's molecules instead (also never trained on).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ssu_corpus as C  # noqa: E402
from pretrain import evaluate, mask_tokens  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(C.DEFAULT_MODEL_DIR))
    p.add_argument("--windows", type=int, default=2000)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--split", choices=["heldout", "finetune"], default="heldout")
    p.add_argument("--dump", default=None)
    p.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    args = p.parse_args(argv)

    from transformers import AutoModelForMaskedLM, AutoTokenizer, BertForMaskedLM

    tok = AutoTokenizer.from_pretrained(args.model)
    pretrained = AutoModelForMaskedLM.from_pretrained(args.model)
    torch.manual_seed(args.seed)
    untrained = BertForMaskedLM(pretrained.config)

    split = C.split_corpus(C.load_molecules(args.dump))
    mols = split[args.split]
    windows = C.fixed_windows(mols, args.windows, seed=args.seed)

    # Majority-token baseline: always predict the most frequent token among the masked targets.
    gen = torch.Generator().manual_seed(args.seed)
    targets = Counter()
    for i in range(0, len(windows), 128):
        enc = tok(windows[i : i + 128], padding=True, return_tensors="pt")
        _, labels = mask_tokens(enc["input_ids"], tok, generator=gen)
        targets.update(labels[labels != -100].tolist())
    majority = targets.most_common(1)[0][1] / sum(targets.values())

    res_pre = evaluate(pretrained, tok, windows, "cpu", seed=args.seed)
    res_rand = evaluate(untrained, tok, windows, "cpu", seed=args.seed)
    n_tok = sum(len(x) - 2 for x in tok(windows)["input_ids"])
    out = {
        "model": args.model,
        "split": args.split,
        "molecules": len(mols),
        "windows": len(windows),
        "mean_tokens_per_window": n_tok / len(windows),
        "masked_tokens": res_pre["n_masked"],
        "pretrained": {"masked_token_acc": res_pre["acc"], "loss": res_pre["loss"]},
        "untrained_random_init": {"masked_token_acc": res_rand["acc"], "loss": res_rand["loss"]},
        "majority_token_baseline_acc": majority,
        "chance_acc": 1 / (len(tok) - len(C.SPECIAL_TOKENS)),
    }
    print(
        f"{args.split} molecules: {len(mols)}, windows: {len(windows)} (150-250 bp, both strands), "
        f"masked tokens: {res_pre['n_masked']}"
    )
    print(f"pretrained  masked-token accuracy: {res_pre['acc']:.4f}  (MLM loss {res_pre['loss']:.3f})")
    print(f"untrained   masked-token accuracy: {res_rand['acc']:.4f}  (MLM loss {res_rand['loss']:.3f})")
    print(f"majority-token baseline accuracy:  {majority:.4f}; chance 1/{len(tok) - 5} = {out['chance_acc']:.4f}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
