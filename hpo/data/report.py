"""The data report: what came in, what was removed and why, what each split holds."""
from __future__ import annotations

from hpo.data.cleaning import CleaningResult


def build_report(*, digest: str, source: str, fmt: str, rows_in: int, cleaning: CleaningResult,
                 cross_split_removed: int, labels: list[str], subsampled: int = 0,
                 counts: dict[str, dict[str, int]]) -> dict:
    removed = dict(cleaning.removed)
    removed["cross_split_duplicate"] = cross_split_removed
    if subsampled:
        removed["subsampled (max_reads)"] = subsampled
    rows_out = sum(sum(per_label.values()) for per_label in counts.values())
    return {
        "digest": digest,
        "source": source,
        "format": fmt,
        "rows_in": rows_in,
        "removed": removed,
        "modified": dict(cleaning.modified),
        "skipped_rules": dict(cleaning.skipped),
        "rows_out": rows_out,
        "labels": labels,
        "splits": {name: {"rows": sum(per_label.values()), "classes": per_label}
                   for name, per_label in counts.items()},
    }


def format_report(report: dict) -> str:
    """A short plain-text table of ``report`` for people (report.json is for programs)."""
    lines = [f"source    {report['source']} ({report['format']})",
             f"prepared  {report['digest']}", ""]
    width = max(len(key) for key in [*report["removed"], *report["modified"], "rows out"]) + 2
    lines.append(f"{'rows in':<{width + 9}}{report['rows_in']:>10}")
    for title, section in (("removed", report["removed"]), ("modified", report["modified"])):
        for i, (reason, count) in enumerate(section.items()):
            lines.append(f"{title if i == 0 else '':<9}{reason:<{width}}{count:>10}")
    lines.append(f"{'rows out':<{width + 9}}{report['rows_out']:>10}")
    for rule, why in report["skipped_rules"].items():
        lines.append(f"(skipped {rule}: {why})")
    splits = list(report["splits"])
    label_width = max(len("class"), *(len(label) for label in report["labels"])) + 2
    lines += ["", f"{'class':<{label_width}}" + "".join(f"{name:>12}" for name in splits)]
    for label in report["labels"]:
        lines.append(f"{label:<{label_width}}" + "".join(
            f"{report['splits'][name]['classes'][label]:>12}" for name in splits))
    lines.append(f"{'total':<{label_width}}" + "".join(
        f"{report['splits'][name]['rows']:>12}" for name in splits))
    return "\n".join(lines) + "\n"
