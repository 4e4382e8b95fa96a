"""Arrow and numpy arrays converted into each other from their buffers.

``pa.array`` on Python or numpy input imports pandas, ~0.4 CPU-seconds the first time in
each process (a tenth of a whole preprocessing run); building arrays from buffers, as
these helpers do, does not, and numeric arrays cross without a copy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def arrow_array(values: np.ndarray) -> pa.Array:
    """A 1-D numeric or boolean numpy array as an Arrow array (numeric: no copy)."""
    values = np.ascontiguousarray(values)
    if values.dtype == np.bool_:
        bits = np.packbits(values, bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(bits)])
    return pa.Array.from_buffers(
        pa.from_numpy_dtype(values.dtype), len(values), [None, pa.py_buffer(values)]
    )


def _bits(buffer: pa.Buffer, offset: int, length: int) -> np.ndarray:
    bits = np.unpackbits(np.frombuffer(buffer, np.uint8), bitorder="little")
    return bits[offset : offset + length].astype(bool)


def numpy_values(array: pa.Array | pa.ChunkedArray, fill: int | None = None) -> np.ndarray:
    """An integer or boolean Arrow array as numpy (integers without nulls: no copy).

    Args:
        array: The values.
        fill: What nulls become; ``None`` refuses nulls.
    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if len(array) == 0:
        dtype = np.bool_ if pa.types.is_boolean(array.type) else np.dtype(str(array.type))
        return np.zeros(0, dtype)
    validity, buffer = array.buffers()[:2]
    if pa.types.is_boolean(array.type):
        values = _bits(buffer, array.offset, len(array))
    elif pa.types.is_integer(array.type):
        dtype = np.dtype(str(array.type))
        values = np.frombuffer(
            buffer, dtype, count=len(array), offset=array.offset * dtype.itemsize
        )
    else:
        raise TypeError(f"numpy_values() takes integer or boolean arrays, not {array.type}.")
    if array.null_count:
        if fill is None:
            raise ValueError("numpy_values() got nulls and no fill value.")
        values = np.where(_bits(validity, array.offset, len(array)), values, fill)
    return values


def string_array(strings: Sequence[str]) -> pa.StringArray:
    """Python strings as an Arrow string array, the same as ``pa.array(strings)``.

    Lone surrogates (possible in Python strings, never in UTF-8) are kept as their
    three-byte forms, as ``surrogatepass`` encodes them, instead of failing.
    """
    data = "".join(strings).encode("utf-8", "surrogatepass")
    sizes = np.fromiter(
        (
            len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
            for text in strings
        ),
        np.int64,
        len(strings),
    )
    if len(data) >= 2**31:
        return pa.array(strings, pa.large_string()).cast(pa.string())
    offsets = np.zeros(len(strings) + 1, np.int32)
    np.cumsum(sizes, out=offsets[1:])
    return pa.StringArray.from_buffers(len(strings), pa.py_buffer(offsets), pa.py_buffer(data))


def string_buffers(strings: pa.StringArray) -> tuple[np.ndarray, np.ndarray]:
    """A string array's UTF-8 bytes and its ``len + 1`` offsets into them (no copy)."""
    _, offsets_buffer, data_buffer = strings.buffers()
    offsets = np.frombuffer(
        offsets_buffer, np.int32, count=len(strings) + 1, offset=strings.offset * 4
    )
    data = np.zeros(0, np.uint8) if data_buffer is None else np.frombuffer(data_buffer, np.uint8)
    return data, offsets


def list_lengths(lists: pa.ListArray) -> np.ndarray:
    """Items per list of a list array, as int64 (nulls count 0)."""
    return numpy_values(pc.list_value_length(lists), fill=0).astype(np.int64)
