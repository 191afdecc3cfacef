"""Throughput of ``hpo.data.prepare_into`` on synthetic reads.

Generates N reads of 150 bp (default one million) as a TSV in a temporary folder: 5% exact
duplicates, 0.5% with Illumina adapter read-through, two labels. Then prepares them (load,
clean, split, write) and prints reads per second and the peak resident memory.

    python benchmarks/prepare_throughput.py              # 1,000,000 reads
    python benchmarks/prepare_throughput.py --reads 100000 --profile

The target is 50,000 reads/s on two cores. On a shared machine the wall-clock figure swings
with other people's work; the CPU-time figure printed after it does not.
"""
from __future__ import annotations

import argparse
import cProfile
import logging
import multiprocessing
import pstats
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from hpo.data import prepare_into  # noqa: E402
from hpo.spec.schema import DataSpec  # noqa: E402

READ_LENGTH = 150
DUPLICATE_FRACTION = 0.05
ADAPTER_FRACTION = 0.005
ADAPTER = "AGATCGGAAGAGCACACGTCTGAACTCCAGTCA"


def write_reads(path: Path, count: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    bases = np.frombuffer(b"ACGT", dtype=np.uint8)[rng.integers(0, 4, size=(count, READ_LENGTH))]
    sequences = [row.tobytes().decode("ascii") for row in bases]
    for i in rng.choice(count, size=int(count * ADAPTER_FRACTION), replace=False).tolist():
        cut = int(rng.integers(40, 120))
        sequences[i] = (sequences[i][:cut] + ADAPTER * 5)[:READ_LENGTH]
    labels = rng.integers(0, 2, size=count)
    copies = rng.choice(count, size=int(count * DUPLICATE_FRACTION), replace=False)
    originals = rng.choice(count, size=copies.size, replace=True)
    for copy, original in zip(copies.tolist(), originals.tolist()):
        sequences[copy] = sequences[original]
        labels[copy] = labels[original]
    with open(path, "w", encoding="ascii") as handle:
        handle.write("id\tsequence\tlabel\n")
        handle.write("".join(f"r{i}\t{s}\t{'pos' if y else 'neg'}\n"
                             for i, (s, y) in enumerate(zip(sequences, labels.tolist()))))


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=1_000_000)
    parser.add_argument("--profile", action="store_true", help="print the top functions by time")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(relativeCreated)8.0f ms  %(message)s")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "reads.tsv"
        started = time.perf_counter()
        # A separate process writes the input, so that the peak memory below is preparation's.
        writer = multiprocessing.get_context("spawn").Process(target=write_reads,
                                                             args=(source, args.reads))
        writer.start()
        writer.join()
        if writer.exitcode != 0:
            sys.exit(f"generating the input failed (exit code {writer.exitcode})")
        print(f"generated {args.reads:,} reads in {time.perf_counter() - started:.1f} s "
              f"({source.stat().st_size / 1e6:.0f} MB)")
        data = DataSpec(path=source, id_column="id")
        profiler = cProfile.Profile() if args.profile else None
        cpu_before = _cpu_seconds()
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        prepared = prepare_into(data, Path(tmp) / "prepared")
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - started
        cpu = _cpu_seconds() - cpu_before
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(prepared.path.joinpath("report.txt").read_text())
        print(f"prepare_into: {args.reads:,} reads in {elapsed:.1f} s = "
              f"{args.reads / elapsed:,.0f} reads/s; peak memory {peak_mb:,.0f} MB (maxrss)")
        # CPU time is what a busy shared machine does not inflate: compare runs by this one.
        print(f"CPU time {cpu:.1f} s = {args.reads / cpu:,.0f} reads per CPU-second")
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
