"""Reading and writing tables in chunks: CSV, TSV, JSONL, Parquet, plain text (one item per line), stdin."""

from affectkit.tabular.readers import FORMATS, Chunk, check_input, check_output, detect_format, read_chunks
from affectkit.tabular.writers import PartWriter, write_frame

__all__ = ["Chunk", "FORMATS", "check_input", "check_output", "detect_format", "read_chunks", "PartWriter",
           "write_frame"]
