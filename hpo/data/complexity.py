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
_BASES_PER_BLOCK = 1 << 22  # reads are scored in blocks of about this many bases
_WINDOWS_COUNTED_ONE_BY_ONE = 8

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
    # Reads of one length form a matrix, so each window is one numpy operation for all of them.
    order = np.argsort(lengths, kind="stable")
    boundaries = np.flatnonzero(np.diff(lengths[order])) + 1
    for same_length in np.split(order, boundaries):
        if not same_length.size:
            continue
        length = int(lengths[same_length[0]])
        rows_per_block = max(1, _BASES_PER_BLOCK // max(length, 1))
        for begin in range(0, same_length.size, rows_per_block):
            rows = same_length[begin:begin + rows_per_block]
            text = "".join([sequences[i] for i in rows.tolist()])
            block = np.frombuffer(text.encode("ascii", "replace"), dtype=np.uint8)
            scores[rows] = _scores_of_equal_length(_CODE[block].reshape(rows.size, length))
    return scores


def _scores_of_equal_length(codes: np.ndarray) -> np.ndarray:
    rows, length = codes.shape
    windows = dust_windows(length)
    if length < 3:
        return np.full(rows, 100.0)  # one window without two triplets: prinseq's maximum
    # Triplet word ids fit in uint8: at most 4 * 25 + 4 * 5 + 4 = 124. A block of pure ACGT
    # needs only 64 words, which halves the counting work.
    letters = 4 if int(codes.max()) < 4 else 5
    words = codes[:, :-2] * letters ** 2 + codes[:, 1:-1] * letters + codes[:, 2:]
    total = np.zeros(rows, dtype=np.float64)
    # Long reads have many windows: stack the full 64-base ones (all but perhaps the last) as
    # rows of one matrix, one count for all, instead of a numpy call per window. The stacking
    # copies, so short reads (a handful of windows) are faster one window at a time.
    full = sum(1 for _, size in windows if size == WINDOW)
    if full <= _WINDOWS_COUNTED_ONE_BY_ONE:
        full = 0
    if full:
        strided = np.lib.stride_tricks.sliding_window_view(words, WINDOW - 2, axis=1)
        stacked = strided[:, ::STEP][:, :full].reshape(rows * full, WINDOW - 2)
        total += _window_scores(stacked, letters ** 3).reshape(rows, full).sum(axis=1)
    for start, size in windows[full:]:
        total += _window_scores(words[:, start:start + size - 2], letters ** 3)
    return total / len(windows) * 100 / _MAX_WINDOW_SCORE


def _window_scores(words: np.ndarray, n_words: int) -> np.ndarray:
    """prinseq's calcDust for each row of triplet ids (one window per row)."""
    rows, triplets = words.shape
    if triplets <= 1:
        return np.full(rows, _MAX_WINDOW_SCORE)
    cells = ((np.arange(rows, dtype=np.int64) * n_words)[:, None] + words).ravel()
    counts = np.bincount(cells, minlength=rows * n_words).reshape(rows, n_words)
    # sum of c * (c - 1) / 2 = (sum of c**2 - triplets) / 2; einsum avoids temporaries.
    pairs = (np.einsum("ij,ij->i", counts, counts) - triplets) / 2
    score = pairs / (triplets - 1)
    if WINDOW > triplets + 2:
        score *= (WINDOW - 2) / triplets
    return score
