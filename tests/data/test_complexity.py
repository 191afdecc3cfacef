"""The vectorised DUST score against a line-by-line port of prinseq-lite's Perl."""
from __future__ import annotations

import numpy as np
import pytest

from hpo.data import dust_scores
from hpo.data.complexity import dust_windows


def prinseq_dust(seq: str) -> float:
    """prinseq-lite's count3mers/calcDust and window loop, transcribed one statement at a time."""
    window, step = 64, 32
    length = len(seq)
    if length <= window:
        rest, steps = length, 0
    else:
        steps = (length - window) // step + 1
        rest = length - steps * step
        if not rest > step:
            rest += step
            steps -= 1
    values = []
    for i in range(steps + 1):
        piece = seq[i * step: i * step + (rest if i == steps else window)]
        counts: dict[str, int] = {}
        num = 0
        for j in range(len(piece) - 2):
            counts[piece[j:j + 3]] = counts.get(piece[j:j + 3], 0) + 1
            num += 1
        if num > 1:
            score = sum(c * (c - 1) / 2 for c in counts.values())
            values.append(score / (num - 1) * ((window - 2) / num) if window > num + 2
                          else score / (num - 1))
        else:
            values.append(31)
    return sum(values) / (steps + 1) * 100 / 31


def test_windows_follow_prinseq():
    assert dust_windows(50) == [(0, 50)]
    assert dust_windows(64) == [(0, 64)]
    assert dust_windows(65) == [(0, 64), (32, 33)]
    assert dust_windows(96) == [(0, 64), (32, 64)]
    assert dust_windows(150) == [(0, 64), (32, 64), (64, 64), (96, 54)]


def test_extremes():
    scores = dust_scores(["A" * 100, "AC", ""])
    assert scores.tolist() == pytest.approx([100.0, 100.0, 100.0])


def test_matches_the_reference_on_mixed_lengths_and_letters():
    rng = np.random.default_rng(3)
    sequences = []
    for length in [1, 2, 3, 4, 10, 63, 64, 65, 96, 97, 128, 150, 151, 300, 400, 1001]:
        for alphabet in ("ACGT", "ACGTN", "AC", "A"):
            sequences.append("".join(rng.choice(list(alphabet), size=length)))
    sequences += ["CA" * 40, "ACGTTGCA" * 12, "AAAAAAAAAACCCCCCCCCCGGGGG"]
    expected = [prinseq_dust(s) for s in sequences]
    assert dust_scores(sequences).tolist() == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_random_dna_scores_low_and_repeats_high():
    rng = np.random.default_rng(4)
    random_reads = ["".join(rng.choice(list("ACGT"), size=150)) for _ in range(50)]
    assert dust_scores(random_reads).max() < 7
    assert dust_scores(["CAG" * 50])[0] > 30  # three words, each a third of the window
