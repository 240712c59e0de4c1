"""Output buffers on disk for ``--low-memory``: a memory-mapped (S, C, N) float32 array whose
finished parts are written back and dropped from memory as the work moves along.

Dirty pages of a shared mapping count in the process's resident memory until the kernel writes
them back and they are evicted; on a machine with free RAM that may be never. ``release`` forces
it for a sample range, so resident memory stays bounded by the window being worked on.
"""

from __future__ import annotations

import mmap
import tempfile

import numpy as np

_PAGE = mmap.PAGESIZE


def disk_array(shape: tuple[int, ...], directory: str | None = None) -> np.memmap:
    """A zero-filled float32 array backed by an unlinked temporary file."""
    handle = tempfile.TemporaryFile(prefix="demixer-", suffix=".f32", dir=directory)  # noqa: SIM115 - the mapping owns it
    return np.memmap(handle, dtype=np.float32, mode="w+", shape=shape)


def _mapping(array: np.ndarray) -> tuple[mmap.mmap, int] | None:
    """The mmap behind ``array`` and the byte offset of ``array`` within it, if any."""
    root = array
    while isinstance(root, np.ndarray) and isinstance(root.base, np.ndarray):
        root = root.base
    if not isinstance(root, np.ndarray) or not isinstance(root.base, mmap.mmap):
        return None
    offset = array.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    return root.base, offset


def release(array: np.ndarray, start: int, stop: int) -> None:
    """Write back and drop the pages of samples [start, stop) of every row of a disk array.

    A no-op for ordinary arrays and for arrays whose rows are not contiguous.
    """
    found = _mapping(array)
    if found is None or stop <= start or not array.flags.c_contiguous:
        return
    mm, origin = found
    length = array.shape[-1]
    rows = array.size // length if length else 0
    itemsize = array.itemsize
    for row in range(rows):
        lo = origin + (row * length + start) * itemsize
        hi = origin + (row * length + stop) * itemsize
        lo_page = (lo + _PAGE - 1) // _PAGE * _PAGE  # only pages wholly inside the range
        hi_page = hi // _PAGE * _PAGE
        if hi_page > lo_page:
            mm.flush(lo_page, hi_page - lo_page)
            mm.madvise(mmap.MADV_DONTNEED, lo_page, hi_page - lo_page)
