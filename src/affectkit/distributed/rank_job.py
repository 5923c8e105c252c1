"""``affectkit rank`` over partitions: each partition is scored and sorted on its own (on any engine), then the
driver merges the sorted partitions into one ranking.

The merge is a streaming k-way merge (:func:`heapq.merge`) on (sort key descending, partition order, row
order). Each partition is sorted stably by the same key (:func:`affectkit.ranking.rank_order`), so the merged
order is exactly the local engine's stable order over the concatenated input: ties keep input order, and rows
without a score (key -inf) come last with their error. ``--top``/``--share`` stop the merge early. Memory: one
chunk per partition plus one block of ``--memory-rows`` output rows.
"""

from __future__ import annotations

import heapq
import itertools
import os
from collections import deque
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from affectkit.distributed.jobs import PartitionJob, PartStats
from affectkit.distributed.partitions import OutputLayout, Partition
from affectkit.errors import InputError
from affectkit.ranking import RankOptions

SORT_KEY = "_affectkit_sort_key"  # exact sort key of each row in a partition's result (dropped by the merge)


class RankJob(PartitionJob):
    """Score and sort one partition with :func:`affectkit.ranking.run_rank`; merge them all in :meth:`finish`."""

    command = "rank"

    def __init__(self, model: str, options: RankOptions, chunk_size: int = 4096) -> None:
        self.model = str(Path(model).absolute()) if Path(model).is_dir() else model
        self.options = options
        self.chunk_size = chunk_size

    def check_layout(self, layout: OutputLayout) -> None:
        if not layout.single_file:
            raise InputError("rank merges its partitions into one ranking: give -o FILE (.parquet, .csv, .tsv or "
                             ".jsonl), not a directory")

    def identity(self) -> dict[str, Any]:
        """Model, attribute and per-partition options; ``--top``/``--share`` only change the merge, so an
        incomplete job resumed with another cut reuses the partitions already scored."""
        o = self.options
        return {"model": self.setup().info(), "attribute": o.attribute, "text_col": o.text_col, "labels": o.labels,
                "columns": o.columns, "prefix": o.prefix, "batch_size": o.batch_size, "chunk_size": self.chunk_size}

    def setup(self) -> Any:
        from affectkit.ranking import load_for_ranking

        return load_for_ranking(self.model)

    def run(self, state: Any, partition: Partition, target: Path, fmt: str) -> PartStats:
        from affectkit.ranking import run_rank

        o = self.options
        report = run_rank(partition.path, str(target), state, o.attribute, text_col=o.text_col, labels=o.labels,
                          columns=o.columns, prefix=o.prefix, fmt=partition.fmt, output_format=fmt,
                          chunk_size=self.chunk_size, batch_size=o.batch_size, memory_rows=o.memory_rows,
                          progress=False, sort_key=SORT_KEY)
        return PartStats(report.rows, report.errors)

    def finish(self, parts: list[Path], output: Path, fmt: str) -> None:
        from affectkit.ranking import write_ranked

        # written beside the output, then renamed: the engine's parts folder is FILE.affectkit-parts, which a
        # PartWriter on FILE itself would claim
        staging = output.with_name(f".{output.stem}.merging{output.suffix}")
        write_ranked(self._merged_blocks(parts, fmt), str(staging), fmt, self.options.attribute,
                     self.options.output_columns())
        os.replace(staging, output)

    def _merged_blocks(self, parts: list[Path], fmt: str) -> Iterator[pd.DataFrame]:
        """The ranked rows, ``--memory-rows`` at a time (the local engine's blocks), with their global rank."""
        from affectkit.distributed.manifest import count_rows
        from affectkit.ranking import cut_size

        o = self.options
        rank_col = o.output_columns()["rank"]
        k = cut_size(sum(count_rows(p, fmt) for p in parts), o.top, o.share)
        streams = [_SortedPart(p, fmt, self.chunk_size) for p in parts]
        merged = heapq.merge(*(s.keys(i) for i, s in enumerate(streams)))
        done = 0
        while done < k:
            n = min(o.memory_rows, k - done)
            sources = np.fromiter((i for _, i, _ in itertools.islice(merged, n)), dtype=np.int64, count=n)
            frames, positions = [], []
            for i in np.unique(sources):
                where = np.flatnonzero(sources == i)
                frames.append(streams[i].take(len(where)))
                positions.append(where)
            order = np.argsort(np.concatenate(positions), kind="stable")
            block = pd.concat(frames, ignore_index=True).iloc[order].reset_index(drop=True)
            block[rank_col] = np.arange(done + 1, done + n + 1, dtype=np.int64)
            yield block.drop(columns=SORT_KEY)
            done += n


class _SortedPart:
    """One sorted partition result, read chunk by chunk: its sort keys feed the merge, and :meth:`take` hands out
    its rows in order (the chunks the keys have reached stay buffered until taken)."""

    def __init__(self, path: Path, fmt: str, chunk_size: int) -> None:
        from affectkit.tabular import read_chunks

        self.chunks = read_chunks(path, fmt, chunk_size)
        self.buffer: deque[pd.DataFrame] = deque()

    def keys(self, index: int) -> Iterator[tuple[float, int, int]]:
        """``(-key, partition index, row)`` per row: ascending tuples are the ranking order."""
        row = 0
        for chunk in self.chunks:
            frame = chunk.frame
            if not len(frame):
                continue
            self.buffer.append(frame)
            for key in frame[SORT_KEY]:
                yield -float(key), index, row
                row += 1

    def take(self, n: int) -> pd.DataFrame:
        """The next ``n`` rows."""
        out = []
        while n > 0:
            head = self.buffer[0]
            if len(head) <= n:
                out.append(self.buffer.popleft())
                n -= len(head)
            else:
                out.append(head.iloc[:n])
                self.buffer[0] = head.iloc[n:]
                n = 0
        return pd.concat(out, ignore_index=True) if len(out) > 1 else out[0].reset_index(drop=True)
