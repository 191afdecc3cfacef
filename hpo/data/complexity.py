"""Low-complexity score: DUST as defined by prinseq-lite (``-lc_method dust``), scale 0-100.

Definition (prinseq-lite 0.20, ``count3mers``/``calcDust``), for a read of length L:

- Windows of 64 bases every 32 bases; a read of at most 64 bases is one window. Otherwise
  ``steps = (L - 64) // 32 + 1`` and ``rest = L - 32 * steps``; when ``rest <= 32`` the last full
  window is merged into the tail (``rest += 32``, ``steps -= 1``). Windows start at ``32 * i`` for
  ``i = 0 .. steps``; all are 64 long except the last, which is ``rest`` long.
- In a window with ``k = len - 2`` overlapping triplets, each distinct triplet occurring
  ``c`` times adds ``c * (c - 1) / 2``; the window's score is ``sum / (k - 1)``, multiplied by
  ``62 / k`` when the window is shorter than 64 (so short windows compare with full ones),
  and 31 (the maximum) when ``k <= 1``.
- The read's score is the mean over its windows times ``100 / 31``: 0 for maximally varied
  sequence, 100 for a homopolymer; random DNA of 150 bp scores about 1.5.

prinseq drops a read when ``int(score) > threshold`` (its recommended threshold is 7); the
cleaning rule compares the same way so that a threshold means what it means in prinseq.
Triplets containing N (or any non-ACGT letter) are words of their own, as in prinseq.
"""
from __future__ import annotations

import numpy as np

WINDOW = 64
STEP = 32
_MAX_WINDOW_SCORE = 31.0  # prinseq's value for a window too short to score
_WORDS = 125  # 5 ** 3 triplets over A, C, G, T and "other"
_ROWS_PER_BLOCK = 1 << 14

_CODE = np.full(256, 4, dtype=np.uint8)
for _code, _base in enumerate(b"ACGT"):
    _CODE[_base] = _code


def dust_windows(length: int) -> list[tuple[int, int]]:
    """(start, length) of each window of a read of ``length`` bases, as prinseq cuts them."""
    if length <= WINDOW:
        return [(0, length)]
    steps = (length - WINDOW) // STEP + 1
    rest = length - steps * STEP
    if rest <= STEP:
        rest += STEP
        steps -= 1
    return [(i * STEP, WINDOW if i < steps else rest) for i in range(steps + 1)]


def dust_scores(sequences: list[str]) -> np.ndarray:
    """The prinseq DUST score (0-100) of each sequence (uppercase expected)."""
    scores = np.empty(len(sequences), dtype=np.float64)
    lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
    # Reads of one length form a matrix, so every window is one numpy operation for all of them.
    order = np.argsort(lengths, kind="stable")
    boundaries = np.flatnonzero(np.diff(lengths[order])) + 1
    for same_length in np.split(order, boundaries):
        if not same_length.size:
            continue
        length = int(lengths[same_length[0]])
        for begin in range(0, same_length.size, _ROWS_PER_BLOCK):
            rows = same_length[begin:begin + _ROWS_PER_BLOCK]
            text = "".join([sequences[i] for i in rows.tolist()])
            block = np.frombuffer(text.encode("ascii", "replace"), dtype=np.uint8)
            scores[rows] = _scores_of_equal_length(_CODE[block].reshape(rows.size, length))
    return scores


def _scores_of_equal_length(codes: np.ndarray) -> np.ndarray:
    rows, length = codes.shape
    windows = dust_windows(length)
    total = np.zeros(rows, dtype=np.float64)
    if length >= 3:
        # Triplet word ids 0..124 fit in uint8: 4 * 25 + 4 * 5 + 4 = 124.
        words = codes[:, :-2] * 25 + codes[:, 1:-1] * 5 + codes[:, 2:]
        row_offset = (np.arange(rows, dtype=np.int64) * _WORDS)[:, None]
    for start, size in windows:
        triplets = size - 2
        if triplets <= 1:
            total += _MAX_WINDOW_SCORE
            continue
        cells = (row_offset + words[:, start:start + triplets]).ravel()
        counts = np.bincount(cells, minlength=rows * _WORDS).reshape(rows, _WORDS)
        pairs = (counts * (counts - 1)).sum(axis=1) / 2
        score = pairs / (triplets - 1)
        if WINDOW > triplets + 2:
            score *= (WINDOW - 2) / triplets
        total += score
    return total / len(windows) * 100 / _MAX_WINDOW_SCORE
