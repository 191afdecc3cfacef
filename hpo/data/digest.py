"""The prepared folder's name: a digest of the input's content and the data settings.

The path itself is left out (replaced by the content's sha256), so moving or renaming the input
file reuses the prepared folder, while any edit to the file or to ``data:`` makes a new one.
``FORMAT_VERSION`` is hashed too: bump it when preparation changes what it writes for the same
input, so that old folders are not reused by new code.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from hpo.spec.schema import DataSpec
from hpo.spec.strict import to_plain

FORMAT_VERSION = 1
DIGEST_LENGTH = 16  # hex characters of the folder name: 64 bits, no collision in practice


def file_sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def data_settings(data: DataSpec, content_sha256: str) -> dict:
    """The ``data`` section as plain JSON values, the path replaced by the content digest.

    Adapter presets are expanded, so editing a preset's sequences also changes the digest.
    """
    plain = to_plain(data)
    plain["path"] = f"sha256:{content_sha256}"
    plain["clean"]["adapter_sequences"] = data.clean.adapter_sequences()
    return plain


def data_digest(data: DataSpec, content_sha256: str) -> str:
    payload = {"format_version": FORMAT_VERSION, "data": data_settings(data, content_sha256)}
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()[:DIGEST_LENGTH]
