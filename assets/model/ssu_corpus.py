"""Shared corpus, tokenizer and model helpers for the dnahpo-ssu-tiny DNA language model.

Used by ``pretrain.py``, ``evaluate_mlm.py`` and ``compare_tokenizers.py`` (all in this
folder; run them as scripts, e.g. ``python assets/model/pretrain.py``).

Corpus contract (shared with the fine-tuning data set built from the same database)
----------------------------------------------------------------------------------
Source: the Debian ``ncbi-rrna-data`` BLAST database
``/usr/share/ncbi/data/SSU_nomito_nochloro_noplastid`` (202,914 SILVA SSU rRNA molecules),
dumped with ``blastdbcmd -db ... -entry all -outfmt "%a|%t|%s"``.

ACC is the GenBank accession with the ``gb|`` prefix and every ``|`` removed, e.g. ``EU043621``.
NOTE: with BLAST 2.12 on this database ``%a`` prints ``BL_ORD_ID:<n>`` (the database has no
parsed seq-ids); the ``gb|EU043621|`` identifier is the first word of the title ``%t``. So a
dump line looks like ``BL_ORD_ID:0|gb|AB049052| uncultured archaeon ...|CCCGACC...`` and we take
ACC from the ``gb|...|`` token (9 of the 202,914 records carry ``gi|<number>|`` instead; for those
ACC is the number).

    fine-tuning pool  <=>  int(sha256(ACC).hexdigest()[:8], 16) % 4 == 0
    pretraining pool  =    everything else
    MLM held-out set  =    pretraining-pool molecules with int(sha256(ACC).hexdigest()[8:16], 16) % 256 == 0
    MLM training set  =    pretraining pool minus the held-out set

Molecules that share an accession (several rRNA operons of one genome) always land on the same
side because the rule depends only on ACC.
"""

from __future__ import annotations

import hashlib
import random
import subprocess
from dataclasses import dataclass
from pathlib import Path

BLAST_DB = "/usr/share/ncbi/data/SSU_nomito_nochloro_noplastid"
HERE = Path(__file__).resolve().parent
DEFAULT_MODEL_DIR = HERE / "dnahpo-ssu-tiny"

FINETUNE_RULE = "int(hashlib.sha256(ACC.encode()).hexdigest()[:8], 16) % 4 == 0"
HELDOUT_RULE = (
    "not fine-tuning pool and int(hashlib.sha256(ACC.encode()).hexdigest()[8:16], 16) % 256 == 0"
)
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


@dataclass(frozen=True)
class Molecule:
    acc: str
    title: str
    seq: str


def in_finetune_pool(acc: str) -> bool:
    return int(hashlib.sha256(acc.encode()).hexdigest()[:8], 16) % 4 == 0


def in_mlm_heldout(acc: str) -> bool:
    """Held-out slice of the *pretraining* pool (never true for fine-tuning-pool molecules)."""
    return (not in_finetune_pool(acc)) and int(
        hashlib.sha256(acc.encode()).hexdigest()[8:16], 16
    ) % 256 == 0


def parse_dump_line(line: str) -> Molecule:
    """Parse one ``%a|%t|%s`` line (works whether ``%a`` is ``BL_ORD_ID:n`` or ``gb|ACC|``)."""
    line = line.rstrip("\n")
    head, seq = line.rsplit("|", 1)
    parts = head.split("|")
    # Find the first "<db>|<id>|" pair with a real database tag (gb, emb, dbj, gi, ...).
    acc = None
    title = parts[-1].strip()
    for i in range(len(parts) - 1):
        tag = parts[i].strip()
        if tag in {"gb", "emb", "dbj", "gi", "ref", "lcl"} and parts[i + 1].strip():
            acc = parts[i + 1].strip()
            break
    if acc is None:  # fall back to whatever %a gave
        acc = parts[0].strip()
    acc = acc.replace("|", "")
    return Molecule(acc=acc, title=title, seq=seq.strip())


def load_molecules(dump: str | None = None, db: str = BLAST_DB) -> list[Molecule]:
    """All molecules of the database, from a dump file or by running ``blastdbcmd``."""
    if dump:
        text = Path(dump).read_text()
    else:
        text = subprocess.run(
            ["blastdbcmd", "-db", db, "-entry", "all", "-outfmt", "%a|%t|%s"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return [parse_dump_line(line) for line in text.splitlines() if line.strip()]


def split_corpus(molecules: list[Molecule]) -> dict[str, list[Molecule]]:
    out: dict[str, list[Molecule]] = {"finetune": [], "train": [], "heldout": []}
    for m in molecules:
        if in_finetune_pool(m.acc):
            out["finetune"].append(m)
        elif in_mlm_heldout(m.acc):
            out["heldout"].append(m)
        else:
            out["train"].append(m)
    return out


def clean(seq: str) -> str:
    """Uppercase, U->T, every non-ACGT character (IUPAC codes, gaps) -> N."""
    seq = seq.upper().replace("U", "T")
    return "".join(c if c in "ACGTN" else "N" for c in seq) if set(seq) - set("ACGT") else seq


def revcomp(seq: str) -> str:
    return seq.translate(_COMPLEMENT)[::-1]


def sample_window(rng: random.Random, molecules: list[Molecule], min_len=150, max_len=250) -> str:
    """A random ``min_len..max_len`` bp window of a random molecule; reverse-complemented half the time."""
    while True:
        m = molecules[rng.randrange(len(molecules))]
        if len(m.seq) >= min_len:
            break
    length = rng.randint(min_len, min(max_len, len(m.seq)))
    start = rng.randint(0, len(m.seq) - length)
    w = clean(m.seq[start : start + length])
    return revcomp(w) if rng.random() < 0.5 else w


def fixed_windows(molecules: list[Molecule], n: int, seed: int, length: int | None = None) -> list[str]:
    """Deterministic evaluation windows (``length`` fixed, or 150-250 bp when None)."""
    rng = random.Random(seed)
    if length is None:
        return [sample_window(rng, molecules) for _ in range(n)]
    return [sample_window(rng, molecules, length, length) for _ in range(n)]


# --------------------------------------------------------------------------------------------
# Tokenizers
# --------------------------------------------------------------------------------------------
def _dna_normalizer():
    """Tokenizer-side normalisation identical to ``clean``: strip whitespace, uppercase, U->T,
    anything that is not A/C/G/T -> N (so IUPAC codes R, Y, ... and gaps become N)."""
    from tokenizers import Regex, normalizers

    return normalizers.Sequence(
        [
            normalizers.Replace(Regex(r"\s+"), ""),
            normalizers.Replace(Regex("[Uu]"), "T"),
            normalizers.Replace("a", "A"),
            normalizers.Replace("c", "C"),
            normalizers.Replace("g", "G"),
            normalizers.Replace("t", "T"),
            normalizers.Replace(Regex("[^ACGT]"), "N"),
        ]
    )


def _finish(tok, model_max_length: int):
    """Wrap a ``tokenizers.Tokenizer`` as a BERT-style ``PreTrainedTokenizerFast``."""
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=model_max_length,
        padding_side="right",
        truncation_side="right",
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
    )


def train_bpe_tokenizer(sequences, vocab_size: int, model_max_length: int = 128):
    """Byte-pair encoding over A/C/G/T (N is always its own token and never merged)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.normalizer = _dna_normalizer()
    # N runs are isolated so that merges are learnt over real bases only.
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("N+"), behavior="isolated")
    tok.decoder = decoders.Fuse()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=list("ACGTN"),
        limit_alphabet=5,
        min_frequency=2,
        show_progress=False,
    )
    tok.train_from_iterator(sequences, trainer=trainer)
    return _finish(tok, model_max_length)


def kmer_tokenizer(k: int, model_max_length: int = 512):
    """Non-overlapping k-mers: WordLevel over every ACGT word of length 1..k (the shorter ones
    cover read tails) plus ``N``; a chunk containing N inside a k-mer becomes [UNK]."""
    import itertools

    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

    vocab = {t: i for i, t in enumerate(SPECIAL_TOKENS)}
    words = ["N"] + ["".join(p) for n in range(1, k + 1) for p in itertools.product("ACGT", repeat=n)]
    for w in words:
        vocab.setdefault(w, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.normalizer = _dna_normalizer()
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(f".{{1,{k}}}"), behavior="isolated")
    tok.decoder = decoders.Fuse()
    return _finish(tok, model_max_length)


def portable_tokenizer_config(path) -> None:
    """transformers 5 writes ``"tokenizer_class": "TokenizersBackend"``, a name transformers 4.x
    does not know; ``PreTrainedTokenizerFast`` is understood by both (an alias in 5.x)."""
    import json

    cfg_path = Path(path) / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
    cfg_path.write_text(json.dumps(cfg, indent=2, ensure_ascii=False) + "\n")


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------
def bert_config(tokenizer, hidden=192, layers=4, heads=4, intermediate=None, max_pos=128):
    from transformers import BertConfig

    return BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate or 4 * hidden,
        max_position_embeddings=max_pos,
        type_vocab_size=2,
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
