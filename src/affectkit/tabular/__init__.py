"""Reading and writing tables in chunks: CSV, TSV, JSONL, Parquet, plain text (one item per line), stdin."""

from affectkit.tabular.readers import (
    CHUNK_CHARS,
    CHUNK_ROWS,
    FORMATS,
    Chunk,
    check_input,
    check_output,
    detect_format,
    read_chunks,
)
from affectkit.tabular.writers import PartWriter, write_frame

__all__ = ["CHUNK_CHARS", "CHUNK_ROWS", "Chunk", "FORMATS", "check_input", "check_output", "detect_format",
           "read_chunks", "PartWriter", "write_frame"]
