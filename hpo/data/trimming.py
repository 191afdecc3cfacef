"""3' adapter read-through trimming with cutadapt's library (its C aligner and k-mer filter).

A read shorter than its insert runs into the adapter; everything from the adapter's first
aligned base on is removed, as ``cutadapt -a ADAPTER`` does (one round, best-scoring adapter).
About 1.5 us per read with the four Illumina presets: each adapter's k-mer filter rejects most
reads before the aligner runs. (A combined k-mer filter over all adapters, built from cutadapt
internals, saved only ~15%, not worth depending on private modules.)
"""
from __future__ import annotations

from cutadapt.adapters import BackAdapter, MultipleAdapters

from hpo.spec.schema import CleanSpec


def adapter_matcher(clean: CleanSpec) -> MultipleAdapters | None:
    """All of the spec's adapters as one cutadapt matcher; None when there are none."""
    sequences = clean.adapter_sequences()
    if not sequences:
        return None
    return MultipleAdapters([
        BackAdapter(sequence, max_errors=clean.adapter_max_error_rate,
                    min_overlap=clean.adapter_min_overlap, name=f"adapter{i + 1}")
        for i, sequence in enumerate(sequences)])


def trim_adapters(sequences: list[str], qualities: list[str] | None,
                  matcher: MultipleAdapters) -> tuple[list[str], list[str] | None, list[int]]:
    """Sequences (and qualities) with adapter read-through removed, and the trimmed positions."""
    match_to = matcher.match_to
    trimmed_sequences = list(sequences)
    trimmed_qualities = list(qualities) if qualities is not None else None
    trimmed: list[int] = []
    for i, sequence in enumerate(sequences):
        match = match_to(sequence)
        if match is None:
            continue
        cut = match.rstart  # a 3' adapter match removes the read from here on
        trimmed_sequences[i] = sequence[:cut]
        if trimmed_qualities is not None:
            trimmed_qualities[i] = trimmed_qualities[i][:cut]
        trimmed.append(i)
    return trimmed_sequences, trimmed_qualities, trimmed
