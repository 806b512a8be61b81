"""Parquet encoding of the dedup tables (embeddings by cluster, pruning tables)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float32]


def to_parquet_bytes(columns: dict[str, Any]) -> bytes:
    """A parquet file of the given columns (lists or arrays; 2-D float arrays as vectors)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {}
    for name, values in columns.items():
        if isinstance(values, np.ndarray) and values.ndim == 2:
            flat = pa.array(np.ascontiguousarray(values, dtype=np.float32).reshape(-1))
            arrays[name] = pa.FixedSizeListArray.from_arrays(flat, values.shape[1])
        else:
            arrays[name] = pa.array(values)
    sink = io.BytesIO()
    pq.write_table(pa.table(arrays), sink)
    return sink.getvalue()


def read_parquet_bytes(data: bytes, columns: list[str] | None = None) -> Any:
    """A pyarrow table from parquet bytes."""
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(data), columns=columns)


def vectors(table: Any, column: str = "embedding") -> Floats:
    """A fixed-size-list (or list) column as a `(rows, d)` float32 matrix."""
    col = table.column(column).combine_chunks()
    if len(col) == 0:
        return np.zeros((0, 0), dtype=np.float32)
    flat = np.asarray(col.flatten().to_numpy(zero_copy_only=False), dtype=np.float32)
    return flat.reshape(len(col), -1)
