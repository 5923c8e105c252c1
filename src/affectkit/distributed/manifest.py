"""The manifest of a partitioned job: which partitions are done, with the row count and SHA-256 of each result.

``_manifest.json`` is the job's commit log. A result file is written atomically (temporary name, then rename)
by a worker, and counts as done only once the driver has recorded it here. On a rerun of the same job a
partition is skipped only if its input is unchanged and its result file still has the recorded row count and
checksum; anything else is computed again. Partitions that failed are recorded with their reason.
"""

from __future__ import annotations

import csv
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from affectkit.hashing import digest_file

MANIFEST_FORMAT = 1


@dataclass
class PartRecord:
    """The outcome of one partition, as a worker reports it and the manifest stores it."""

    key: str
    status: str  # "ok" or "failed"
    source: str = ""
    source_fingerprint: dict[str, Any] = field(default_factory=dict)
    part: str = ""  # result file, relative to the job's work folder
    rows: int = 0
    errors: int = 0  # rows whose error field is set (bad rows are kept, one for one)
    error_counts: dict[str, int] = field(default_factory=dict)
    sha256: str = ""
    bytes: int = 0
    seconds: float = 0.0  # wall clock on the worker
    cpu_seconds: float = 0.0  # CPU time of the worker process (all its threads) for this partition
    worker: str = ""  # host:pid that wrote it
    reason: str = ""  # why the partition failed
    skipped: bool = False  # verified from an earlier run, not recomputed
    started: float = 0.0  # when the worker began it (Unix time): start-up and steady state can be told apart

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> "PartRecord":
        return cls(**json.loads(text))


def sha256_file(path: str | Path) -> str:
    return digest_file(path)[0]


def count_rows(path: str | Path, fmt: str) -> int:
    """Data rows in a result file written by :func:`affectkit.tabular.write_frame` (the header not counted)."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    with open(path, encoding="utf-8", newline="") as f:
        if fmt == "jsonl":
            return sum(1 for line in f if line.strip())
        rows = sum(1 for _ in csv.reader(f, delimiter="\t" if fmt == "tsv" else ","))
        return max(rows - 1, 0)


def verify_part(path: str | Path, fmt: str, record: PartRecord) -> str | None:
    """``None`` if ``path`` is the result ``record`` describes, else what differs."""
    p = Path(path)
    if not p.is_file():
        return "result file missing"
    if p.stat().st_size != record.bytes:
        return f"size {p.stat().st_size} != {record.bytes} recorded"
    if sha256_file(p) != record.sha256:
        return "checksum differs from the manifest"
    rows = count_rows(p, fmt)
    if rows != record.rows:
        return f"{rows} rows != {record.rows} recorded"
    return None


class Manifest:
    """``_manifest.json``: the job identity and one record per partition, saved atomically."""

    def __init__(self, path: Path, command: str, identity: dict[str, Any], output_format: str) -> None:
        self.path = path
        self.command = command
        self.identity = identity
        self.output_format = output_format
        self.records: dict[str, PartRecord] = {}
        self.order: list[str] = []
        self._saved_at = 0.0

    @staticmethod
    def read_previous(path: Path) -> dict[str, Any] | None:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None

    def adopt(self, previous: dict[str, Any] | None) -> dict[str, PartRecord]:
        """Finished records of an earlier run of the same job (same command, identity and output format)."""
        if not previous or previous.get("format") != MANIFEST_FORMAT:
            return {}
        if (previous.get("command"), previous.get("identity"), previous.get("output_format")) != (
                self.command, json.loads(json.dumps(self.identity)), self.output_format):
            return {}
        return {r["key"]: PartRecord(**r) for r in previous.get("partitions", []) if r.get("status") == "ok"}

    def record(self, rec: PartRecord) -> None:
        self.records[rec.key] = rec

    def save(self, complete: bool = False, every: float = 0.0) -> None:
        """Write the manifest (at most once per ``every`` seconds unless ``complete``)."""
        now = time.monotonic()
        if not complete and now - self._saved_at < every:
            return
        recs = [self.records[k] for k in self.order if k in self.records]
        doc = {"format": MANIFEST_FORMAT, "command": self.command, "identity": self.identity,
               "output_format": self.output_format, "complete": complete,
               "partitions_total": len(self.order), "partitions_ok": sum(r.ok for r in recs),
               "rows": sum(r.rows for r in recs if r.ok),
               "partitions": [{k: v for k, v in asdict(r).items() if k != "skipped"} for r in recs]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(doc, indent=1, ensure_ascii=False))
        os.replace(tmp, self.path)
        self._saved_at = now
