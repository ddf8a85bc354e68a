"""Model files: a trained model's arrays and its description in one .npz, checked whole when read.

A model file is what ``np.savez`` writes (so ``np.load`` opens it): a zip, stored
uncompressed, of these .npy files:

    meta.npy       the description, a JSON text (a 0-d unicode array)
    param.W.npy    each parameter, float32 (little-endian), of the shape the model expects
    sha256.npy     the sha256 of every other entry: its name, dtype, shape and data bytes

``read`` trusts nothing in the file until that sha256 matches. A file damaged
anywhere, in its numbers, its description or the headers that say where they
are, is refused with a ModelFileError that says what is wrong, whatever the
damage makes the zip or .npy readers raise; a change that leaves every array's
bytes as they were (in the zip's bookkeeping, say) gives the very same model.
Nothing large is allocated before it is known to be right: special files (a
FIFO, a device) are refused without being opened, the file's size is checked
against the largest a model of these shapes makes before it is read, and each
array's size and header against the expected shape before its data is used.
"""

import hashlib
import io
import json
import math
import os
import stat
import zipfile

import numpy as np

FORMAT = 2                       # 1: the same zip without its sha256
FLOAT = np.dtype("<f4")          # how the parameters are stored: float32, little-endian
META_MAX_CHARS = 16384           # a description is some 600 characters
HEADER_MAX = 1024                # a .npy header of these arrays is 128 bytes
ENTRY_OVERHEAD = 512             # per entry: its zip headers (local and central, zip64) and .npy header
ZIP_OVERHEAD = 512               # the zip's end records


class ModelFileError(ValueError):
    """A file that is not a whole, intact model file of the expected shapes; the message says why."""


def _entries(shapes):
    """{entry: (what its dtype must be, its shape, its largest size in bytes)} for a model of ``shapes``.

    shapes: {parameter name: shape}; the meta entry's dtype is any unicode, its size bounded.
    """
    entries = {f"param.{k}": (FLOAT, tuple(s), FLOAT.itemsize * math.prod(s)) for k, s in shapes.items()}
    entries["meta"] = ("U", (), 4 * META_MAX_CHARS)
    entries["sha256"] = (np.dtype("<U64"), (), 4 * 64)
    return entries


def max_size(shapes):
    """The largest file a model with parameters of these shapes can make, in bytes."""
    return ZIP_OVERHEAD + sum(size + ENTRY_OVERHEAD for _, _, size in _entries(shapes).values())


def _digest(entries):
    """The sha256 (hex) of {name: (dtype, shape, data bytes)}, in the order of the names."""
    h = hashlib.sha256(f"mnistlib model file {FORMAT}\n".encode())
    for name in sorted(entries):
        dtype, shape, data = entries[name]
        h.update(f"{name} {dtype.str} {tuple(shape)} {len(data)}\n".encode())
        h.update(data)
    return h.hexdigest()


def encode(meta, params):
    """The bytes of a model file holding ``meta`` (a dict JSON can store) and ``params`` ({name: array})."""
    arrays = {"meta": np.array(json.dumps(meta, sort_keys=True)),
              **{f"param.{k}": np.ascontiguousarray(v, dtype=FLOAT) for k, v in params.items()}}
    digest = _digest({k: (a.dtype, a.shape, a.tobytes()) for k, a in arrays.items()})
    buffer = io.BytesIO()
    np.savez(buffer, **arrays, sha256=np.array(digest, dtype="<U64"))
    return buffer.getvalue()


def _kind(mode):
    for test, words in [(stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                        (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
                        (stat.S_ISDIR, "a directory")]:
        if test(mode):
            return words
    return "not a regular file"


def read(path, shapes):
    """The (meta, params) of the model file at ``path``, checked whole; params float32 of ``shapes``.

    shapes: {parameter name: shape}, the parameters the file must hold, no more, no less.
    Raises FileNotFoundError (or NotADirectoryError) if there is none, PermissionError
    if it cannot be read, and ModelFileError, saying what is wrong, for anything else.
    """
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):            # reading a FIFO would wait forever, a device never end
        raise ModelFileError(f"it is {_kind(mode)}, not a file (it was not opened)")
    limit = max_size(shapes)
    # O_NONBLOCK: if a FIFO took the file's place since, opening it returns at once
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise ModelFileError(f"it is {_kind(st.st_mode)}, not a file")
        if st.st_size > limit:
            raise ModelFileError(f"it is {st.st_size:,} bytes, more than a model file of these shapes "
                                 f"can be ({limit:,} bytes)")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ModelFileError(f"it grew beyond {limit:,} bytes while it was read")
    try:
        return decode(data, shapes)
    except ModelFileError:
        raise
    except Exception as e:  # noqa: BLE001 - what a damaged zip or header raises has many classes
        text = _printable(str(e))
        text = text if len(text) < 200 else text[:200] + "…"
        raise ModelFileError(f"it cannot be read as a model file ({type(e).__name__}: {text})") from None


def _printable(text):
    """text with line breaks and other unprintable characters escaped: a damaged name stays on one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def decode(data, shapes):
    """(meta, params) from the bytes of a model file, as ``read`` checks them."""
    expected = _entries(shapes)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
        names = [info.filename.removesuffix(".npy") for info in infos]
        if len(names) != len(set(names)) or set(names) != set(expected):
            raise ModelFileError(f"it holds the entries {_printable(', '.join(sorted(names))) or 'none'}; "
                                 f"a model file of these shapes holds {', '.join(sorted(expected))}")
        entries = {}
        for name, info in zip(names, infos):
            dtype, shape, size = expected[name]
            if info.compress_type != zipfile.ZIP_STORED:
                raise ModelFileError(f"its {name} is compressed; model files store their arrays as they are")
            if info.file_size > size + HEADER_MAX:
                raise ModelFileError(f"its {name} is {info.file_size:,} bytes; at most {size + HEADER_MAX:,} "
                                     "were expected")
            entries[name] = _npy(zf.read(info), name, dtype, shape, size)
    stored = np.frombuffer(entries.pop("sha256")[2], dtype="<U64")[0]
    if _digest(entries) != stored:
        raise ModelFileError("its contents do not match its sha256: it changed after it was written")
    meta_dtype, _, meta_bytes = entries.pop("meta")
    meta = json.loads(str(np.frombuffer(meta_bytes, dtype=meta_dtype)[0]))
    if not isinstance(meta, dict):
        raise ModelFileError("its description is not a JSON object")
    params = {name.removeprefix("param."): np.frombuffer(data, dtype=FLOAT).reshape(shape).astype(np.float32)
              for name, (_, shape, data) in entries.items()}
    return meta, params


def _npy(blob, name, dtype, shape, size):
    """(dtype, shape, data bytes) of one .npy entry, after checking its header against what is expected.

    dtype: the expected dtype, or "U" for any unicode text of at most ``size`` bytes.
    """
    f = io.BytesIO(blob)
    version = np.lib.format.read_magic(f)
    read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}.get(version)
    if read_header is None:
        raise ModelFileError(f"its {name} is in .npy format version {version}; model files use 1.0 or 2.0")
    got_shape, fortran_order, got_dtype = read_header(f, max_header_size=HEADER_MAX)
    text = isinstance(dtype, str)
    right = (got_dtype.kind == "U" and got_dtype.itemsize <= size) if text else got_dtype == dtype
    if fortran_order or got_shape != shape or not right:
        what = "unicode text" if text else f"float32 {shape}"
        raise ModelFileError(f"its {name} is {got_dtype} {got_shape}{' (Fortran order)' if fortran_order else ''}; "
                             f"expected {what}")
    data = blob[f.tell():]
    if len(data) != got_dtype.itemsize * math.prod(got_shape):
        raise ModelFileError(f"its {name} holds {len(data):,} bytes of data; its header says "
                             f"{got_dtype.itemsize * math.prod(got_shape):,}")
    return got_dtype, got_shape, data
