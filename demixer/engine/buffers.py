"""Disk-backed float32 arrays for long tracks: the decoded mix and the separated stems live in
unlinked temporary files, mapped into memory, and the parts the work has moved past are
written back and dropped from memory as it goes.

Dirty pages of a shared mapping count in the process's resident memory until the kernel writes
them back and they are evicted, and pages read back in stay counted until the kernel needs the
memory; on a machine with free RAM that may be never. ``release`` forces both for a sample range,
so resident memory stays bounded by the window being worked on, whatever the track's length.
Releasing is only a hint about memory: a released range reads back the same samples.
"""

from __future__ import annotations

import itertools
import mmap
import shutil
import tempfile
from typing import IO

import numpy as np

_PAGE = mmap.PAGESIZE
_COPY = 1 << 22  # bytes per read when joining rows


def disk_array(shape: tuple[int, ...], directory: str | None = None) -> np.memmap:
    """A zero-filled float32 array backed by an unlinked temporary file."""
    handle = tempfile.TemporaryFile(prefix="demixer-", suffix=".f32", dir=directory)  # noqa: SIM115 - the mapping owns it
    return np.memmap(handle, dtype=np.float32, mode="w+", shape=shape)


class DiskRows:
    """float32 (C, N) gathered on disk block by block when N is not known in advance (a
    decoder's output), then mapped as one C-contiguous (C, N) disk array.

    Each row goes to a file of its own as it comes; :meth:`join` appends the other rows' files
    to the first and maps it. Memory holds one block at a time, whatever N is.
    """

    def __init__(self, channels: int, directory: str | None = None) -> None:
        self.rows: list[IO[bytes]] = [
            tempfile.TemporaryFile(prefix="demixer-", suffix=".f32", dir=directory)  # noqa: SIM115 - closed in join
            for _ in range(channels)
        ]
        self.length = 0

    def __len__(self) -> int:
        return self.length

    def append(self, block: np.ndarray) -> None:
        """Add float32 (C or 1, n); one row goes to every row."""
        rows = block if block.shape[0] == len(self.rows) else itertools.repeat(block[0])
        for fh, row in zip(self.rows, rows, strict=False):
            fh.write(np.ascontiguousarray(row, dtype=np.float32).data)
        self.length += block.shape[-1]

    def join(self) -> np.ndarray:
        """Everything appended, float32 (C, N) on disk; the row files are closed."""
        first, *rest = self.rows
        first.seek(0, 2)
        for fh in rest:
            fh.seek(0)
            shutil.copyfileobj(fh, first, _COPY)
            fh.close()
        first.flush()
        self.rows = []
        if self.length == 0:
            first.close()
            return np.zeros((1 + len(rest), 0), dtype=np.float32)
        return np.memmap(first, dtype=np.float32, mode="r+", shape=(1 + len(rest), self.length))


def _mapping(array: np.ndarray) -> tuple[mmap.mmap, int] | None:
    """The mmap behind ``array`` and the byte offset of ``array``'s first element in it, if any."""
    root = array
    while isinstance(root, np.ndarray) and isinstance(root.base, np.ndarray):
        root = root.base
    if not isinstance(root, np.ndarray) or not isinstance(root.base, mmap.mmap):
        return None
    offset = array.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    return root.base, offset


def on_disk(array: np.ndarray) -> bool:
    """Whether ``array`` (or the array it is a view of) is a disk array."""
    return _mapping(array) is not None


def release(array: np.ndarray, start: int, stop: int) -> None:
    """Write back and drop the pages of samples [start, stop) of every row of a disk array
    (any view of one whose last axis is contiguous: a stem of (S, C, N), a slice of it).

    A no-op for ordinary arrays and for views whose samples are not contiguous.
    """
    found = _mapping(array)
    if found is None or stop <= start or array.size == 0 or array.strides[-1] != array.itemsize:
        return
    mm, origin = found
    itemsize = array.itemsize
    start, stop = max(0, start), min(array.shape[-1], stop)
    for index in np.ndindex(*array.shape[:-1]):
        row = origin + sum(i * s for i, s in zip(index, array.strides, strict=False))
        lo = row + start * itemsize
        hi = row + stop * itemsize
        lo_page = (lo + _PAGE - 1) // _PAGE * _PAGE  # only pages wholly inside the range
        hi_page = hi // _PAGE * _PAGE
        if hi_page > lo_page:
            mm.flush(lo_page, hi_page - lo_page)
            mm.madvise(mmap.MADV_DONTNEED, lo_page, hi_page - lo_page)
