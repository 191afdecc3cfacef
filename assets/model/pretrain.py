#!/usr/bin/env python
"""Pretrain dnahpo-ssu-tiny: a small BERT masked-language model on SILVA SSU rRNA windows.

Reproduce (31 min on a shared 2-core CPU; uses CUDA automatically when available):

    python assets/model/pretrain.py --steps 5000 --max-minutes 30 --seed 42 --out assets/model/dnahpo-ssu-tiny

``--max-minutes`` makes the run wall-clock bounded: the LR schedule follows
max(step/steps, elapsed/budget), so on a loaded CPU it stops early with a fully decayed schedule
(the shipped run did 3151 of 5000 steps).  Drop ``--max-minutes`` for a purely step-based,
load-independent run (e.g. on a GPU, where 5000 steps take a few minutes).

Corpus: every molecule of the local BLAST database NOT in the fine-tuning pool
(``int(sha256(ACC)[:8], 16) % 4 != 0``), minus an MLM held-out slice
(``int(sha256(ACC)[8:16], 16) % 256 == 0``); see ``ssu_corpus.py`` for the exact rules.
Training examples are random 150-250 bp windows of random training molecules, reverse-
complemented with probability 0.5, drawn fresh every step from a seeded RNG.

Writes into --out: config.json, model.safetensors, tokenizer files, pretraining.json;
and next to this script (unless --no-artifacts): pretraining_log.csv, pretraining_curve.png.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ssu_corpus as C  # noqa: E402


def mask_tokens(input_ids, tokenizer, prob=0.15, generator=None):
    """BERT masking: choose ``prob`` of the non-special tokens; 80% -> [MASK], 10% -> random
    non-special token, 10% unchanged.  Returns (corrupted ids, labels with -100 elsewhere)."""
    labels = input_ids.clone()
    special = torch.zeros_like(input_ids, dtype=torch.bool)
    for tid in tokenizer.all_special_ids:
        special |= input_ids == tid
    probs = torch.full(input_ids.shape, prob)
    probs[special] = 0.0
    chosen = torch.bernoulli(probs, generator=generator).bool()
    # guarantee at least one masked token per sequence
    none = ~chosen.any(dim=1)
    if none.any():
        for i in torch.nonzero(none).flatten().tolist():
            cand = torch.nonzero(~special[i]).flatten()
            j = cand[torch.randint(len(cand), (1,), generator=generator)]
            chosen[i, j] = True
    labels[~chosen] = -100
    ids = input_ids.clone()
    r = torch.rand(input_ids.shape, generator=generator)
    ids[chosen & (r < 0.8)] = tokenizer.mask_token_id
    rand_pos = chosen & (r >= 0.8) & (r < 0.9)
    n_special = len(C.SPECIAL_TOKENS)  # special tokens occupy ids 0..4
    ids[rand_pos] = torch.randint(
        n_special, len(tokenizer), (int(rand_pos.sum()),), generator=generator
    )
    return ids, labels


def encode(tokenizer, windows, device):
    enc = tokenizer(windows, padding=True, truncation=True, return_tensors="pt")
    return {k: v.to(device) for k, v in enc.items()}


@torch.no_grad()
def evaluate(model, tokenizer, windows, device, seed=0, batch_size=128):
    """Masked-token loss and accuracy on fixed windows with a fixed masking seed."""
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    tot_loss = tot_correct = tot_n = 0.0
    for i in range(0, len(windows), batch_size):
        enc = tokenizer(windows[i : i + batch_size], padding=True, truncation=True, return_tensors="pt")
        ids, labels = mask_tokens(enc["input_ids"], tokenizer, generator=gen)
        out = model(
            input_ids=ids.to(device),
            attention_mask=enc["attention_mask"].to(device),
            token_type_ids=enc["token_type_ids"].to(device),
        )
        logits = out.logits.float().cpu()
        sel = labels != -100
        lg, lb = logits[sel], labels[sel]
        tot_loss += torch.nn.functional.cross_entropy(lg, lb, reduction="sum").item()
        tot_correct += (lg.argmax(-1) == lb).sum().item()
        tot_n += sel.sum().item()
    model.train()
    return {"loss": tot_loss / tot_n, "acc": tot_correct / tot_n, "n_masked": int(tot_n)}


def train_mlm(
    model,
    tokenizer,
    train_mols,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    warmup_frac: float,
    weight_decay: float,
    seed: int,
    device: str,
    eval_windows=None,
    eval_every: int = 200,
    log_every: int = 25,
    max_seconds: float | None = None,
    log=print,
):
    """Plain PyTorch MLM loop with AdamW + linear warm-up + cosine decay.  Returns the log rows."""
    rng = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    model.to(device).train()
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr,
        betas=(0.9, 0.98),
        eps=1e-6,
    )
    # Progress runs from 0 to 1 over ``steps``; with ``max_seconds`` it is
    # max(step / steps, elapsed / max_seconds), so on a slow/contended CPU the warm-up + cosine
    # schedule is compressed to finish inside the wall-clock budget (the run then stops early and
    # records steps_done < steps_requested). Without ``max_seconds`` it is purely step-based.
    def lr_at(progress: float) -> float:
        if progress < warmup_frac:
            return lr * progress / warmup_frac
        return lr * 0.5 * (1.0 + math.cos(math.pi * min(1.0, (progress - warmup_frac) / (1 - warmup_frac))))

    rows, t0 = [], time.time()
    progress = 0.0
    acc_loss = acc_correct = acc_masked = 0.0
    n_windows = n_tokens = 0
    for step in range(1, steps + 1):
        cur_lr = lr_at(max(progress, 0.5 / steps))
        for g in opt.param_groups:
            g["lr"] = cur_lr
        windows = [C.sample_window(rng, train_mols) for _ in range(batch_size)]
        enc = tokenizer(windows, padding=True, truncation=True, return_tensors="pt")
        ids, labels = mask_tokens(enc["input_ids"], tokenizer, generator=gen)
        n_windows += len(windows)
        n_tokens += int(enc["attention_mask"].sum())
        out = model(
            input_ids=ids.to(device),
            attention_mask=enc["attention_mask"].to(device),
            token_type_ids=enc["token_type_ids"].to(device),
            labels=labels.to(device),
        )
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        elapsed = time.time() - t0
        progress = step / steps if max_seconds is None else max(step / steps, elapsed / max_seconds)
        with torch.no_grad():
            sel = labels.to(device) != -100
            nm = int(sel.sum())
            acc_loss += out.loss.item() * nm
            acc_correct += (out.logits[sel].argmax(-1) == labels.to(device)[sel]).sum().item()
            acc_masked += nm
        stop = progress >= 1.0 and step < steps
        if step % log_every == 0 or step == steps or stop:
            row = {
                "step": step,
                "elapsed_s": round(time.time() - t0, 1),
                "lr": cur_lr,
                "windows_seen": n_windows,
                "tokens_seen": n_tokens,
                "train_loss": acc_loss / acc_masked,
                "train_acc": acc_correct / acc_masked,
                "heldout_loss": "",
                "heldout_acc": "",
            }
            acc_loss = acc_correct = acc_masked = 0.0
            if eval_windows is not None and (step % eval_every == 0 or step == steps or stop):
                ev = evaluate(model, tokenizer, eval_windows, device)
                row["heldout_loss"], row["heldout_acc"] = ev["loss"], ev["acc"]
            rows.append(row)
            log(
                f"step {step}/{steps} {row['elapsed_s']}s lr {row['lr']:.2e} "
                f"train_loss {row['train_loss']:.4f} train_acc {row['train_acc']:.4f}"
                + (
                    f" heldout_loss {row['heldout_loss']:.4f} heldout_acc {row['heldout_acc']:.4f}"
                    if row["heldout_loss"] != ""
                    else ""
                )
            )
        if stop:
            log(f"wall-clock budget of {max_seconds:.0f}s reached at step {step}/{steps}")
            break
    return rows


def tokenizer_training_sample(train_mols, seed: int, n: int) -> list[str]:
    """``n`` random training molecules (cleaned) plus their reverse complements."""
    rng = random.Random(seed)
    seqs = [C.clean(m.seq) for m in rng.sample(train_mols, min(n, len(train_mols)))]
    return seqs + [C.revcomp(s) for s in seqs]


def pick_device(arg: str) -> str:
    if arg != "auto":
        return arg
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def plot_curve(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in rows]
    ev = [r for r in rows if r["heldout_loss"] != ""]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    a1.plot(steps, [r["train_loss"] for r in rows], label="train (masked tokens)")
    a1.plot([r["step"] for r in ev], [r["heldout_loss"] for r in ev], "o-", label="held-out molecules")
    a1.set_xlabel("step")
    a1.set_ylabel("MLM cross-entropy (nats / masked token)")
    a1.legend()
    a1.grid(alpha=0.3)
    a2.plot(steps, [r["train_acc"] for r in rows], label="train")
    a2.plot([r["step"] for r in ev], [r["heldout_acc"] for r in ev], "o-", label="held-out molecules")
    a2.set_xlabel("step")
    a2.set_ylabel("masked-token accuracy")
    a2.legend()
    a2.grid(alpha=0.3)
    fig.suptitle("dnahpo-ssu-tiny MLM pretraining")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=5000)
    p.add_argument("--out", default=str(C.DEFAULT_MODEL_DIR))
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup-frac", type=float, default=0.05)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--max-positions", type=int, default=128)
    p.add_argument("--vocab-size", type=int, default=512, help="BPE vocabulary size incl. 5 specials")
    p.add_argument("--tokenizer-molecules", type=int, default=10000)
    p.add_argument("--dump", default=None, help="pre-made blastdbcmd '%%a|%%t|%%s' dump (else runs blastdbcmd)")
    p.add_argument("--eval-windows", type=int, default=1024)
    p.add_argument("--eval-every", type=int, default=200)
    p.add_argument("--log-every", type=int, default=25)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    p.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        help="wall-clock budget for the training loop: the LR schedule follows max(step/steps, "
        "time/budget) and training stops when either reaches 1 (default: no budget, step-based)",
    )
    p.add_argument("--no-artifacts", action="store_true", help="don't write the CSV/PNG next to this script")
    args = p.parse_args(argv)

    t_start = time.time()
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = lambda s: print(s, flush=True)  # noqa: E731

    import tokenizers
    import transformers
    from transformers import BertForMaskedLM

    mols = C.load_molecules(args.dump)
    split = C.split_corpus(mols)
    train, held = split["train"], split["heldout"]
    log(
        f"molecules: total {len(mols)}, fine-tuning pool (excluded) {len(split['finetune'])}, "
        f"pretraining {len(train)}, MLM held-out {len(held)}; device {device}"
    )

    t = time.time()
    tok = C.train_bpe_tokenizer(
        tokenizer_training_sample(train, args.seed, args.tokenizer_molecules),
        vocab_size=args.vocab_size,
        model_max_length=args.max_positions,
    )
    tok_seconds = time.time() - t
    log(f"BPE tokenizer: vocab {len(tok)} trained in {tok_seconds:.0f}s")

    torch.manual_seed(args.seed)
    config = C.bert_config(tok, args.hidden, args.layers, args.heads, max_pos=args.max_positions)
    model = BertForMaskedLM(config)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"BertForMaskedLM: {n_params:,} parameters")

    eval_windows = C.fixed_windows(held, args.eval_windows, seed=args.seed + 1)
    t_train = time.time()
    rows = train_mlm(
        model,
        tok,
        train,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        warmup_frac=args.warmup_frac,
        weight_decay=args.weight_decay,
        seed=args.seed,
        device=device,
        eval_windows=eval_windows,
        eval_every=args.eval_every,
        log_every=args.log_every,
        max_seconds=None if args.max_minutes is None else 60 * args.max_minutes,
        log=log,
    )
    train_seconds = time.time() - t_train

    model.to("cpu")
    model.save_pretrained(out)
    tok.save_pretrained(out)
    C.portable_tokenizer_config(out)

    last = rows[-1]
    ev_rows = [r for r in rows if r["heldout_loss"] != ""]
    info = {
        "model": "dnahpo-ssu-tiny",
        "architecture": "BertForMaskedLM",
        "parameters": n_params,
        "config": {
            "hidden_size": args.hidden,
            "num_hidden_layers": args.layers,
            "num_attention_heads": args.heads,
            "intermediate_size": config.intermediate_size,
            "max_position_embeddings": args.max_positions,
            "vocab_size": len(tok),
        },
        "seed": args.seed,
        "corpus": {
            "source": f"blastdbcmd -db {C.BLAST_DB} -entry all -outfmt '%a|%t|%s'",
            "accession": "ACC = GenBank accession from the 'gb|ACC|' token (title field with BLAST 2.12; "
            "'%a' prints BL_ORD_ID:n here), '|' removed; 9 'gi|N|' records use N",
            "finetune_pool_rule_excluded": C.FINETUNE_RULE,
            "mlm_heldout_rule": C.HELDOUT_RULE,
            "molecules_total": len(mols),
            "molecules_finetune_pool_excluded": len(split["finetune"]),
            "molecules_pretraining": len(train),
            "molecules_mlm_heldout": len(held),
            "pretraining_bases": sum(len(m.seq) for m in train),
            "windows": "uniform random molecule, uniform length 150-250 bp, uniform offset, "
            "reverse-complemented with p=0.5, fresh every step (python random.Random(seed))",
        },
        "tokenizer": {
            "type": "BPE (tokenizers), N isolated, uppercase/U->T/IUPAC->N normaliser",
            "vocab_size": len(tok),
            "trained_on": f"{args.tokenizer_molecules} random pretraining molecules + reverse complements "
            f"(random.Random({args.seed}))",
            "train_seconds": round(tok_seconds, 1),
            "model_max_length": args.max_positions,
        },
        "training": {
            "objective": "masked LM, 15% of tokens (80% [MASK] / 10% random / 10% kept)",
            "steps_requested": args.steps,
            "steps_done": last["step"],
            "batch_size": args.batch_size,
            "lr": args.lr,
            "schedule": f"AdamW(betas=(0.9,0.98), eps=1e-6, wd={args.weight_decay}), "
            f"linear warm-up {args.warmup_frac:.0%} then cosine to 0, grad-clip 1.0",
            "max_minutes": args.max_minutes,
            "stopped_by_wall_clock_budget": last["step"] < args.steps,
            "windows_seen": last["windows_seen"],
            "tokens_seen": last["tokens_seen"],
            "device": device,
            "torch_threads": torch.get_num_threads(),
        },
        "final": {
            "train_loss_last_interval": last["train_loss"],
            "train_acc_last_interval": last["train_acc"],
            "heldout_loss": ev_rows[-1]["heldout_loss"] if ev_rows else None,
            "heldout_acc": ev_rows[-1]["heldout_acc"] if ev_rows else None,
            "heldout_windows": len(eval_windows),
        },
        "wall_seconds": {"train": round(train_seconds, 1), "total": round(time.time() - t_start, 1)},
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
        },
        "host": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
        "command": "python assets/model/pretrain.py " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    (out / "pretraining.json").write_text(json.dumps(info, indent=2) + "\n")
    if not args.no_artifacts:
        here = Path(__file__).resolve().parent
        with open(here / "pretraining_log.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
            w.writeheader()
            w.writerows(rows)
        plot_curve(rows, here / "pretraining_curve.png")
        plot_curve(rows, out / "pretraining_curve.png")
    log(f"saved to {out} ({train_seconds / 60:.1f} min training, {(time.time() - t_start) / 60:.1f} min total)")


if __name__ == "__main__":
    main()
