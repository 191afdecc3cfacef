#!/usr/bin/env python
"""Measure the DNA tokenizer options for dnahpo-ssu-tiny.

For each option (single base, non-overlapping 3-mer / 6-mer, BPE with 256/512/1024/4096 tokens)
this reports, on held-out molecules' reads (both strands):

* mean tokens per 200 bp read (without [CLS]/[SEP]) and bp per token;
* mean / max sequence length of 150-250 bp windows including [CLS]/[SEP];
* unigram entropy of the tokens (bits/token and bits/bp);
* model size of the dnahpo-ssu-tiny architecture with that vocabulary;
* the CPU cost of one MLM training step (forward+backward+AdamW, batch 64 windows of
  150-250 bp), median over interleaved repeats;
* with ``--mlm-seconds S``: a fresh model trained for S wall-clock seconds with each tokenizer
  (same budget, same schedule), then held-out masked-token accuracy, loss and loss per masked bp.

    python assets/model/compare_tokenizers.py --out assets/model/tokenizer_comparison.json [--mlm-seconds 150]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ssu_corpus as C  # noqa: E402
from pretrain import evaluate, mask_tokens, tokenizer_training_sample, train_mlm  # noqa: E402


def step_seconds(tok, windows, hidden, layers, heads, max_pos, reps, seed=0):
    from transformers import BertForMaskedLM

    torch.manual_seed(seed)
    model = BertForMaskedLM(C.bert_config(tok, hidden, layers, heads, max_pos=max_pos))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    enc = tok(windows, padding=True, truncation=True, return_tensors="pt")
    ids, labels = mask_tokens(enc["input_ids"], tok, generator=torch.Generator().manual_seed(0))

    def one():
        t = time.perf_counter()
        out = model(input_ids=ids, attention_mask=enc["attention_mask"], labels=labels)
        out.loss.backward()
        opt.step()
        opt.zero_grad()
        return time.perf_counter() - t

    one()  # warm-up
    return [one() for _ in range(reps)], sum(p.numel() for p in model.parameters())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "tokenizer_comparison.json"))
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--dump", default=None)
    p.add_argument("--reads", type=int, default=2000)
    p.add_argument("--tokenizer-molecules", type=int, default=10000)
    p.add_argument("--options", default="char,3mer,6mer,bpe256,bpe512,bpe1024,bpe4096")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--timing-rounds", type=int, default=3)
    p.add_argument("--timing-reps", type=int, default=3)
    p.add_argument("--mlm-seconds", type=float, default=0.0)
    p.add_argument("--mlm-options", default="char,bpe256,bpe512,bpe1024")
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    log = lambda s: print(s, flush=True)  # noqa: E731

    split = C.split_corpus(C.load_molecules(args.dump))
    train, held = split["train"], split["heldout"]
    reads200 = C.fixed_windows(held, args.reads, seed=args.seed + 1, length=200)
    windows = C.fixed_windows(held, args.reads, seed=args.seed + 2)
    bpe_sample = None

    toks, results = {}, {}
    for name in args.options.split(","):
        t = time.time()
        if name == "char":
            tok = C.kmer_tokenizer(1, 512)
        elif name.endswith("mer"):
            tok = C.kmer_tokenizer(int(name[:-3]), 512)
        elif name.startswith("bpe"):
            if bpe_sample is None:
                bpe_sample = tokenizer_training_sample(train, args.seed, args.tokenizer_molecules)
            tok = C.train_bpe_tokenizer(bpe_sample, int(name[3:]), 512)
        else:
            raise SystemExit(f"unknown option {name}")
        build_s = time.time() - t
        toks[name] = tok
        ids200 = tok(reads200, add_special_tokens=False)["input_ids"]
        n200 = [len(x) for x in ids200]
        nwin = [len(x) for x in tok(windows)["input_ids"]]
        counts = Counter(i for x in ids200 for i in x)
        total = sum(counts.values())
        ent = -sum(c / total * math.log2(c / total) for c in counts.values())
        bp_per_tok = 200 / statistics.mean(n200)
        unk = counts.get(tok.unk_token_id, 0) / total
        results[name] = {
            "vocab_size": len(tok),
            "vocab_used_on_heldout": len(counts),
            "build_seconds": round(build_s, 1),
            "tokens_per_200bp_read": round(statistics.mean(n200), 2),
            "tokens_per_200bp_read_min_max": [min(n200), max(n200)],
            "bp_per_token": round(bp_per_tok, 3),
            "window_150_250bp_len_with_specials_mean_max": [round(statistics.mean(nwin), 1), max(nwin)],
            "unigram_entropy_bits_per_token": round(ent, 3),
            "unigram_entropy_bits_per_bp": round(ent / bp_per_tok, 3),
            "unk_fraction": unk,
        }
        log(f"{name}: {results[name]}")

    # CPU cost of one MLM step, interleaved across options to spread the machine's load noise.
    batch = windows[:64]
    times = {n: [] for n in toks}
    for _ in range(args.timing_rounds):
        for name, tok in toks.items():
            ts, n_params = step_seconds(tok, batch, args.hidden, args.layers, args.heads, 512, args.timing_reps)
            times[name] += ts
            results[name]["model_parameters"] = n_params
            results[name]["model_fp32_MB"] = round(n_params * 4 / 1e6, 2)
    base = statistics.median(times["bpe512"]) if "bpe512" in times else None
    for name in toks:
        med = statistics.median(times[name])
        results[name]["mlm_step_seconds_batch64_median"] = round(med, 3)
        if base:
            results[name]["mlm_step_cost_vs_bpe512"] = round(med / base, 2)
        log(f"{name}: step {med:.3f}s  ({results[name]['model_parameters']:,} params)")

    if args.mlm_seconds > 0:
        from transformers import BertForMaskedLM

        ev_windows = C.fixed_windows(held, 1024, seed=args.seed + 1)
        for name in args.mlm_options.split(","):
            tok = toks[name]
            torch.manual_seed(args.seed)
            model = BertForMaskedLM(C.bert_config(tok, args.hidden, args.layers, args.heads, max_pos=512))
            rows = train_mlm(
                model, tok, train, steps=100000, batch_size=64, lr=1e-3, warmup_frac=0.05,
                weight_decay=0.01, seed=args.seed, device="cpu", log_every=50,
                max_seconds=args.mlm_seconds, log=lambda s: None,
            )
            ev = evaluate(model, tok, ev_windows, "cpu")
            bp = results[name]["bp_per_token"]
            results[name]["mlm_fixed_budget"] = {
                "seconds": args.mlm_seconds,
                "steps": rows[-1]["step"],
                "windows_seen": rows[-1]["windows_seen"],
                "heldout_masked_token_acc": round(ev["acc"], 4),
                "heldout_loss_nats_per_masked_token": round(ev["loss"], 4),
                "heldout_loss_nats_per_masked_bp_approx": round(ev["loss"] / bp, 4),
                "chance_acc_1_over_vocab": round(1 / (len(tok) - 5), 4),
            }
            log(f"{name}: MLM {args.mlm_seconds:.0f}s -> {results[name]['mlm_fixed_budget']}")

    meta = {
        "reads": args.reads,
        "reads_from": f"{len(held)} MLM held-out molecules, both strands (seed {args.seed})",
        "bpe_trained_on": f"{args.tokenizer_molecules} pretraining molecules + reverse complements",
        "architecture_for_timing": f"BERT hidden {args.hidden}, {args.layers} layers, {args.heads} heads",
        "torch_threads": torch.get_num_threads(),
        "note": "timings are on a shared 2-core CPU (other jobs running), so absolute values are noisy; "
        "ratios from interleaved repeats are the useful part",
    }
    Path(args.out).write_text(json.dumps({"meta": meta, "options": results}, indent=2) + "\n")
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
