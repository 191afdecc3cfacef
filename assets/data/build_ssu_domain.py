#!/usr/bin/env python3
"""Build ``ssu_domain.tsv.gz``: domain-of-origin classification of simulated SSU rRNA reads.

Source: the ``SSU_nomito_nochloro_noplastid`` BLAST database shipped by the Debian package
``ncbi-rrna-data`` (read with ``blastdbcmd`` from ``ncbi-blast+``).  See ``CARD.md`` next to
this file for the label rule, the artifact rates, the measured label noise and the licence.

The output is byte-for-byte reproducible from the Debian package:

    python assets/data/build_ssu_domain.py            # (re)write the shipped files
    python assets/data/build_ssu_domain.py --check    # rebuild to a temp dir, compare sha256

Only the standard library is used.  Randomness comes exclusively from one
``random.Random(SEED)`` instance, drawn with ``random()``/``randint()``/``sample()``/``shuffle()``
in a fixed order over sorted inputs; the gzip stream is written with ``mtime=0`` and an empty
file name so that the compressed bytes do not depend on when or where the build ran.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import random
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DB = "/usr/share/ncbi/data/SSU_nomito_nochloro_noplastid"
OUT_TSV = "ssu_domain.tsv.gz"
OUT_STATS = "ssu_domain_stats.json"

SEED = 20240611
N_MOLECULES = 5600          # molecules sampled (uniformly, without replacement) from the labelled pool
MIN_MOLECULE_LEN = 300      # shorter molecules are skipped (reads are up to 250 bp)
READS_PER_MOLECULE = (1, 4)  # inclusive, uniform
READ_LEN = (150, 250)        # inclusive, uniform

# Illumina TruSeq adapter (read 1 read-through).
ADAPTER = "AGATCGGAAGAGCACACGTCTGAACTCCAGTCA"
ADAPTER_OVERLAP = (6, 33)    # inclusive, uniform: length of the adapter prefix appended

# Per-read artifact rates (mutually exclusive, decided by one uniform draw per base read).
P_ADAPTER = 0.03        # 3' adapter read-through, read length unchanged
P_SCATTERED_N = 0.04    # 1-3 N calls at random positions (should survive a max-N filter)
P_MANY_N = 0.01         # 25-60 % of positions are N (should fail a max-N filter)
P_SHORT = 0.005         # read of only 20-60 bp (should fail a min-length filter)
P_LOW_COMPLEXITY = 0.005  # homopolymer read (poly-A/T/G, 2 % random substitutions)
# Duplicates, drawn afterwards from the base reads (disjoint sets, before shuffling).
P_EXACT_DUP = 0.02      # exact copy under a new id
P_RC_DUP = 0.01         # reverse-complement copy under a new id
P_REVERSE_STRAND = 0.5  # each base read is taken from the reverse strand with this probability

AUDIT_SEED = 7
AUDIT_N = 60
AUDIT_EXTRA_PER_MINORITY = 15

LABELS = ("Archaea", "Bacteria", "Eukaryota")

_COMPLEMENT = str.maketrans("ACGTRYKMSWBDHVN", "TGCAYRMKSWVHDBN")


def revcomp(seq: str) -> str:
    """Reverse complement, IUPAC-aware (R<->Y, K<->M, B<->V, D<->H; S, W, N fixed)."""
    return seq.translate(_COMPLEMENT)[::-1]


# --------------------------------------------------------------------------------------------
# Molecule partition (contract with the pretraining corpus built from the same database)
# --------------------------------------------------------------------------------------------
def fine_tuning_pool(acc: str) -> bool:
    """True iff molecule ``acc`` belongs to the fine-tuning pool (25 %); all others are pretraining.

    ``acc`` is the accession with the ``gb|`` prefix and all ``|`` removed, e.g. ``EU043621``.
    """
    return int(hashlib.sha256(acc.encode()).hexdigest()[:8], 16) % 4 == 0


_ID_RE = re.compile(r"^gb\|([^|\s]+)\|\s*(.*)$")


def accession_from_title(title: str) -> str | None:
    """Accession of a database entry.

    In this database ``blastdbcmd``'s ``%a`` is only the ordinal (``BL_ORD_ID:n``, the database
    was built without parsed seq-ids); the GenBank identifier is the first token of the title,
    ``gb|EU043621|``.  ACC = that token without the ``gb|`` prefix and without ``|``.  The 9
    entries whose title starts with ``gi|`` instead have no accession and are never used.
    """
    m = _ID_RE.match(title)
    return m.group(1) if m else None


# --------------------------------------------------------------------------------------------
# Label rule
# --------------------------------------------------------------------------------------------
# Archaeal genera / higher taxa recognised when the organism name does not say "archaeon".
ARCHAEAL_TAXA = frozenset("""
Acidianus Acidilobus Aciduliprofundum Acidiplasma Aeropyrum Caldisphaera Caldivirga Caldococcus
Desulfurococcus Desulfurococcales Ferroglobus Ferroplasma Fervidicoccus Geogemma Geoglobus
Haladaptatus Halalkalicoccus Haloarcula Halobacteriaceae Halobacteriales Halobacterium
Halobaculum Halobellus Halobiforma Halococcus Haloferax Halogeometricum Halogranum Halolamina
Halomarina Halomicrobium Halonotius Halopelagius Halopiger Haloplanus Haloquadratum Halorhabdus
Halorubrum Halorussus Halosarcina Halosimplex Halostagnicola Haloterrigena Halovivax
Hyperthermus Ignicoccus Ignisphaera Metallosphaera Methanimicrococcus Methanobacteriaceae
Methanobacteriales Methanobacterium Methanobrevibacter Methanocalculus Methanocaldococcus
Methanocella Methanococcales Methanococcoides Methanococcus Methanocorpusculum Methanoculleus
Methanofollis Methanogenium Methanohalobium Methanohalophilus Methanolacinia Methanolinea
Methanolobus Methanomethylovorans Methanomicrobiales Methanomicrobium Methanoplanus Methanopyrus
Methanoregula Methanosaeta Methanosalsum Methanosarcina Methanosarcinales Methanosphaera
Methanosphaerula Methanospirillum Methanothermobacter Methanothermococcus Methanothermus
Methanothrix Methanotorris Methermicoccus Natrialba Natrinema Natronobacterium Natronococcus
Natronolimnobius Natronomonas Natronorubrum Nitrosocaldus Nitrosopumilus Nitrososphaera
Nitrosotalea Palaeococcus Picrophilus Pyrobaculum Pyrococcus Pyrodictium Pyrolobus
Staphylothermus Stetteria Stygiolobus Sulfolobales Sulfolobus Sulfophobococcus Sulfurisphaera
Sulfurococcus Thermocladium Thermococcales Thermococcus Thermodiscus Thermofilum Thermogladius
Thermogymnomonas Thermoplasma Thermoplasmatales Thermoproteales Thermoproteus Thermosphaera
Vulcanisaeta
""".split())

# Eukaryotic genera that occur in this database under a "16S" title (legacy GenBank titles for
# eukaryotic SSU, or plastid 16S filed under the plant/alga name).  Found by (a) listing genera
# that appear under both 16S and 18S titles and (b) a 5-mer cross-check of sequence against
# label (see CARD.md); every entry was then checked by hand to be a eukaryote.  A 16S title
# naming one of these (without a symbiont/phytoplasma/epibiont qualifier) is DROPPED: whether the
# sequence is nuclear 18S-like or plastid 16S-like cannot be told from the title.
EUKARYOTIC_GENERA = frozenset("""
Acanthamoeba Acanthocorbis Acarospora Adriana Alexandrium Amoeba Apokeronopsis Athelia
Aureobasidium Babesia Bacillaria Basidiomycete Biatoridium Blastocladiella Blastocystis
Botryococcus Calonympha Candida Cardiostomatella Chaos Chondrus Cochlosoma Coleps Colletotrichum
Coronympha Costaria Crypthecodinium Cryptomonas Cryptosporidium Cyanophora Cyanoptyche
Cylindrotheca Deltotrichonympha Dermatocarpon Devescovina Dexitrichides Dirofilaria Ditrichomonas
Encephalitozoon Enchelyodon Entamoeba Enterocytozoon Euglena Euglypha Euphorbia Euplotes Fucus
Fusicladium Genicularia Giardia Glaucocystis Glaucosphaera Gloeochaete Glypholecia Gracilaria
Gurleya Haplosporidium Herpetomonas Heterolobosea Heterostegina Hibberdia Honigbergiella
Hypotrichomonas Janacekia Kiitricha Kneallhazia Lacrymaria Lagenidium Larssonia Leucoagaricus
Mallomonas Mantoniella Mesanophrys Mesotaenium Metadevescovina Microciona Microsporidium
Mnemiopsis Monocercomonas Mucor Myrothecium Nannochloropsis Nephroselmis Nicotiana Nosema
Onychodromus Orthosomella Oxytricha Palmaria Paralemanea Paralembus Paramecium Paranophrys
Paranosema Parauronema Paulinella Penicillium Pentatrichomonas Phytomonas Phytophthora Pichia
Pleistophora Pleuronema Pneumocystis Podospora Polysporina Polytoma Prorodon Pseudoamphisiella
Pseudocohnilembus Pseudokeronopsis Pseudoscourfieldia Pseudotrichomonas Pyrenula Rhizosolenia
Rhyzopertha Ricinus Rusavskia Sarcocystis Sarcogyne Scherffelia Schistosoma Schizocalyptra
Schizophyllum Schizosaccharomyces Schroedera Scoliciosporum Sitophilus Skeletonema Sphaerothecum
Staurastrum Strangospora Strombidium Sycon Symbiotaphrina Synura Tetramitus Tetraselmis
Tetratrichomonas Theileria Thelocarpella Toxoplasma Tribonema Trichomitus Trichomonadida
Trichomonas Trichonympha Trichoplax Tripedalia Trithigmostoma Tritrichomonas Tuber Uronema
Ustilago Vahlkampfia Vairimorpha Volvox Weiseria Yarrowia
""".split())

_GENE_RE = re.compile(r"\s(?:(\d+S)\s+(?:small subunit\s+)?|small subunit\s+)ribosomal RNA")
_ARCHAEAL_WORD = re.compile(r"archa?e(?:on|ote|al|um|aceae|oglob)|\bmethanogens?\b", re.I)
_EUKARYOTIC_WORD = re.compile(
    r"eukaryot|\b(?:fung(?:us|i|al)|algae?|diatoms?|ciliates?|protists?|protozoa[an]?|amoebae?"
    r"|flagellates?|prasinophytes?|rhodophytes?|chlorophytes?|Chlorophyta|Rhodophyta"
    r"|cryptomonads?|haptophytes?|dinoflagellates?|stramenopiles?|microsporidi(?:an|um|a)"
    r"|parabasalids?|trichomonads?|oomycetes?|apicomplexans?|kinetoplastids?)\b", re.I)
_HOST_QUALIFIER = re.compile(
    r"symbio|epibiont|phytoplasma|endophyt|epibacter|\bassociated\b|witches|yellows|phyllody"
    r"|little leaf", re.I)
_BACTERIAL_WORD = re.compile(r"\b[a-z-]*bacteri(?:um|a|al)\b")  # lower-case words only
_AMBIGUOUS_WORD = re.compile(
    r"metagenome|\borganism\b|prokaryot|microorganism|\bunknown\b|environmental sample"
    r"|enrichment culture", re.I)
_SKIP_TOKENS = {"uncultured", "unidentified", "Candidatus", "cf.", "aff."}


def _genus(organism: str) -> str:
    for tok in organism.split():
        tok = tok.strip("[]'\"")
        if tok and tok not in _SKIP_TOKENS:
            return tok
    return ""


def _without_epithet(organism: str) -> str:
    """Organism name without the species epithet (the word after a capitalised genus).

    So that "Shewanella algae" or "Mesonia algae" (bacteria named after algae) do not count as
    naming a eukaryotic group, while "uncultured marine alga" still does.
    """
    toks = organism.split()
    for i, tok in enumerate(toks):
        if tok.strip("[]'\"") in _SKIP_TOKENS:
            continue
        if tok[:1].isupper() and i + 1 < len(toks):
            del toks[i + 1]
        break
    return " ".join(toks)


def label_from_title(title: str) -> str | None:
    """Domain label for a database title, or None when the title is ambiguous (dropped).

    The rule (also in CARD.md):
      0. text = title after ``gb|ACC|``; gene = "16S"/"18S" if the text names it, "SSU" for a
         bare "small subunit ribosomal RNA"; any other designation (10S, 12S, ...) -> drop.
         organism = text before the gene designation; genus = its first word after
         uncultured/unidentified/Candidatus.
      1. organism matches metagenome / organism / prokaryote / microorganism / unknown /
         environmental sample / enrichment culture -> drop.
      2. evidence  A: organism says archaeon/-archaeote/archaeal/...archaeum (also the
                      misspelling "archeon") or methanogen, or genus is in ARCHAEAL_TAXA;
                   B: organism has a lower-case word ending in bacterium/bacteria/bacterial;
                   E: organism says eukaryote/eukaryotic or names a eukaryotic group (fungus,
                      alga, ciliate, diatom, microsporidian, ...; a species epithet such as
                      "Shewanella algae" does not count), or genus is in
                      EUKARYOTIC_GENERA -- unless the organism also carries a host qualifier
                      (symbiont, epibiont, endophyte, phytoplasma, associated, ...), in which
                      case the eukaryote is only the host and E is false.
      3. A: drop if B or E or gene 18S; else Archaea.
      4. gene 18S: drop if B; else Eukaryota.
      5. gene 16S: drop if E; else Bacteria.
      6. gene SSU: Eukaryota if E and not B; Bacteria if B and not E; else drop.
    """
    m = _ID_RE.match(title)
    text = m.group(2) if m else title
    g = _GENE_RE.search(text)
    if not g:
        return None
    if g.group(1) is not None:
        gene = g.group(1)
        if gene not in ("16S", "18S"):
            return None
    else:
        gene = "SSU"
    organism = text[: g.start()].strip()
    if _AMBIGUOUS_WORD.search(organism):
        return None
    genus = _genus(organism)
    a = bool(_ARCHAEAL_WORD.search(organism)) or genus in ARCHAEAL_TAXA
    b = bool(_BACTERIAL_WORD.search(organism))
    e = (bool(_EUKARYOTIC_WORD.search(_without_epithet(organism))) or genus in EUKARYOTIC_GENERA) \
        and not _HOST_QUALIFIER.search(organism)
    if a:
        return None if (b or e or gene == "18S") else "Archaea"
    if gene == "18S":
        return None if b else "Eukaryota"
    if gene == "16S":
        return None if e else "Bacteria"
    if e and not b:
        return "Eukaryota"
    if b and not e:
        return "Bacteria"
    return None


# --------------------------------------------------------------------------------------------
# Reading the database
# --------------------------------------------------------------------------------------------
@dataclass
class Molecule:
    acc: str
    label: str
    title: str
    seq: str


def read_pool(db: str) -> tuple[dict[str, Molecule], dict]:
    """Labelled molecules of the fine-tuning pool, keyed by accession.

    Several database entries can share one accession (rRNA operon copies of one genome); the
    accession is the molecule unit: the entry with the lowest ordinal id is used, and the
    accession is dropped if its entries disagree on the label.
    """
    cmd = ["blastdbcmd", "-db", db, "-entry", "all", "-outfmt", "%o\t%t\t%s"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, encoding="ascii",
                            bufsize=1 << 20)
    stats = {"db_entries": 0, "entries_without_accession": 0, "fine_tuning_pool_accessions": 0}
    pool_accs: set[str] = set()
    first: dict[str, tuple[int, str, str | None, str]] = {}
    conflicting: set[str] = set()
    assert proc.stdout is not None
    for line in proc.stdout:
        ordinal, title, seq = line.rstrip("\n").split("\t")
        stats["db_entries"] += 1
        acc = accession_from_title(title)
        if acc is None:
            stats["entries_without_accession"] += 1
            continue
        if not fine_tuning_pool(acc):
            continue
        pool_accs.add(acc)
        label = label_from_title(title)
        o = int(ordinal)
        prev = first.get(acc)
        if prev is None:
            first[acc] = (o, title, label, seq)
        else:
            if prev[2] != label:
                conflicting.add(acc)
            if o < prev[0]:
                first[acc] = (o, title, label, seq)
    if proc.wait() != 0:
        raise RuntimeError(f"blastdbcmd failed with exit code {proc.returncode}")
    stats["fine_tuning_pool_accessions"] = len(pool_accs)
    stats["accessions_with_conflicting_labels"] = len(conflicting)
    molecules: dict[str, Molecule] = {}
    unlabelled = short = 0
    for acc in sorted(first):
        o, title, label, seq = first[acc]
        if acc in conflicting or label is None:
            unlabelled += 1
            continue
        if len(seq) < MIN_MOLECULE_LEN:
            short += 1
            continue
        molecules[acc] = Molecule(acc, label, title, seq.upper())
    stats["pool_accessions_unlabelled_or_conflicting"] = unlabelled
    stats["pool_accessions_shorter_than_min_len"] = short
    stats["pool_labelled_molecules"] = len(molecules)
    stats["pool_labelled_molecules_per_class"] = {
        lab: sum(1 for m in molecules.values() if m.label == lab) for lab in LABELS}
    return molecules, stats


# --------------------------------------------------------------------------------------------
# Read simulation
# --------------------------------------------------------------------------------------------
def _cut(rng: random.Random, seq: str, length: int) -> str:
    start = rng.randint(0, len(seq) - length)
    return seq[start:start + length]


def _mask_n(rng: random.Random, read: str, n: int) -> str:
    chars = list(read)
    for pos in rng.sample(range(len(chars)), n):
        chars[pos] = "N"
    return "".join(chars)


def simulate_reads(rng: random.Random, mol: Molecule, counts: dict) -> list[str]:
    """1-4 reads from one molecule, each from a random strand, each with at most one artifact."""
    t_adapter = P_ADAPTER
    t_scattered = t_adapter + P_SCATTERED_N
    t_many_n = t_scattered + P_MANY_N
    t_short = t_many_n + P_SHORT
    t_lowc = t_short + P_LOW_COMPLEXITY
    reads = []
    for _ in range(rng.randint(*READS_PER_MOLECULE)):
        read_len = rng.randint(*READ_LEN)
        reverse = rng.random() < P_REVERSE_STRAND
        u = rng.random()
        k = rng.randint(*ADAPTER_OVERLAP) if u < t_adapter else 0
        if t_many_n <= u < t_short:
            read_len = rng.randint(20, 60)
        frag = _cut(rng, mol.seq, read_len - k)
        read = revcomp(frag) if reverse else frag
        if u < t_adapter:
            read += ADAPTER[:k]
            kind = "adapter_read_through"
        elif u < t_scattered:
            read = _mask_n(rng, read, rng.randint(1, 3))
            kind = "scattered_n"
        elif u < t_many_n:
            read = _mask_n(rng, read, int(round((0.25 + 0.35 * rng.random()) * len(read))))
            kind = "many_n"
        elif u < t_short:
            kind = "short"
        elif u < t_lowc:
            base = "ATG"[rng.randint(0, 2)]
            chars = [base] * len(read)
            for i in range(len(chars)):
                if rng.random() < 0.02:
                    chars[i] = "ACGT"[rng.randint(0, 3)]
            read = "".join(chars)
            kind = "low_complexity"
        else:
            kind = "clean"
        counts[kind] = counts.get(kind, 0) + 1
        counts["reverse_strand" if reverse else "forward_strand"] += 1
        reads.append(read)
    return reads


def build_rows(molecules: dict[str, Molecule]) -> tuple[list[tuple[str, str, str, str]], dict]:
    rng = random.Random(SEED)
    accs = sorted(molecules)
    chosen = sorted(rng.sample(accs, min(N_MOLECULES, len(accs))))
    counts: dict = {"forward_strand": 0, "reverse_strand": 0}
    base: list[tuple[str, str, str]] = []  # (sequence, label, group)
    for acc in chosen:
        mol = molecules[acc]
        for read in simulate_reads(rng, mol, counts):
            base.append((read, mol.label, acc))
    n_exact = round(P_EXACT_DUP * len(base))
    n_rc = round(P_RC_DUP * len(base))
    picked = rng.sample(range(len(base)), n_exact + n_rc)
    dups = [base[i] for i in picked[:n_exact]]
    dups += [(revcomp(base[i][0]), base[i][1], base[i][2]) for i in picked[n_exact:]]
    rows = base + dups
    rng.shuffle(rows)
    width = len(str(len(rows)))
    out = [(f"ssu{i + 1:0{width}d}", s, lab, grp) for i, (s, lab, grp) in enumerate(rows)]
    counts["base_reads"] = len(base)
    counts["exact_duplicates"] = n_exact
    counts["reverse_complement_duplicates"] = n_rc
    stats = {
        "seed": SEED,
        "molecules": len(chosen),
        "molecules_per_class": {lab: sum(1 for a in chosen if molecules[a].label == lab)
                                for lab in LABELS},
        "reads": len(out),
        "reads_per_class": {lab: sum(1 for r in out if r[2] == lab) for lab in LABELS},
        "artifacts_applied": dict(sorted(counts.items())),
        "reads_containing_iupac_ambiguity_codes_other_than_N": sum(
            1 for r in out if re.search(r"[RYKMSWBDHV]", r[1])),
    }
    return out, stats


def audit_sample(molecules: dict[str, Molecule], chosen_accs: list[str]) -> list[tuple[str, Molecule]]:
    """Seeded sample of labelled titles for the hand audit (label_audit.tsv).

    ``AUDIT_N`` molecules drawn uniformly from the molecules in the data set (set "uniform";
    this gives the unbiased error estimate), plus ``AUDIT_EXTRA_PER_MINORITY`` further molecules
    each of Archaea and Eukaryota (set "extra_<class>") to look closer at the minority classes.
    """
    rng = random.Random(AUDIT_SEED)
    accs = sorted(chosen_accs)
    uniform = sorted(rng.sample(accs, AUDIT_N))
    out = [("uniform", molecules[a]) for a in uniform]
    taken = set(uniform)
    for lab in ("Archaea", "Eukaryota"):
        rest = [a for a in accs if a not in taken and molecules[a].label == lab]
        out += [(f"extra_{lab}", molecules[a])
                for a in sorted(rng.sample(rest, AUDIT_EXTRA_PER_MINORITY))]
    return out


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------
def write_tsv_gz(rows, path: str) -> None:
    buf = io.StringIO()
    buf.write("id\tsequence\tlabel\tgroup\n")
    for r in rows:
        buf.write("\t".join(r) + "\n")
    raw = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(buf.getvalue().encode("ascii"))
    with open(path, "wb") as fh:
        fh.write(raw.getvalue())


def write_stats(stats: dict, path: str) -> None:
    with open(path, "w", encoding="ascii", newline="\n") as fh:
        json.dump(stats, fh, indent=2, sort_keys=True)
        fh.write("\n")


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def content_sha256(path: str) -> str:
    with gzip.open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def build(outdir: str, db: str) -> dict:
    molecules, pool_stats = read_pool(db)
    rows, stats = build_rows(molecules)
    stats = {"source": {"db": os.path.basename(db), **pool_stats}, **stats}
    write_tsv_gz(rows, os.path.join(outdir, OUT_TSV))
    write_stats(stats, os.path.join(outdir, OUT_STATS))
    return stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", default=DEFAULT_DB, help="BLAST database path (default: %(default)s)")
    ap.add_argument("--outdir", default=HERE, help="where to write (default: next to this script)")
    ap.add_argument("--check", action="store_true",
                    help="rebuild into a temporary directory and compare sha256 with the shipped files")
    ap.add_argument("--audit-sample", action="store_true",
                    help="print the seeded audit sample (title<TAB>rule label) and exit")
    args = ap.parse_args(argv)

    if args.audit_sample:
        molecules, _ = read_pool(args.db)
        rows, _ = build_rows(molecules)
        chosen = sorted({r[3] for r in rows})
        for subset, m in audit_sample(molecules, chosen):
            print(f"{subset}\t{m.acc}\t{m.title}\t{m.label}")
        return 0

    if args.check:
        ok = True
        with tempfile.TemporaryDirectory() as tmp:
            build(tmp, args.db)
            for name in (OUT_TSV, OUT_STATS):
                shipped = os.path.join(HERE, name)
                new = sha256_file(os.path.join(tmp, name))
                old = sha256_file(shipped) if os.path.exists(shipped) else "<missing>"
                same = new == old
                ok &= same
                print(f"{'OK  ' if same else 'DIFF'} {name}: shipped {old} rebuilt {new}")
                if not same and name == OUT_TSV and old != "<missing>":
                    # Tell a content change apart from a different zlib producing other bytes.
                    c_old, c_new = (content_sha256(os.path.join(d, name)) for d in (HERE, tmp))
                    print(f"     uncompressed content: shipped {c_old} rebuilt {c_new} "
                          f"({'identical: only the gzip encoding differs' if c_old == c_new else 'DIFFERENT'})")
        return 0 if ok else 1

    os.makedirs(args.outdir, exist_ok=True)
    stats = build(args.outdir, args.db)
    print(json.dumps(stats, indent=2, sort_keys=True))
    out = os.path.join(args.outdir, OUT_TSV)
    print(f"sha256 {OUT_TSV}: {sha256_file(out)} (uncompressed content: {content_sha256(out)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
