"""What this CPU can do, where a choice depends on it: the int8 kernels of the fast mode.

On x86-64 without VNNI, onnxruntime multiplies u8 activations by s8 weights with
``vpmaddubsw``, whose 16-bit intermediate saturates: the fast mode's stems came out broken on
such hosts (vocals 0 dB against the default mode). With VNNI (AVX-512 VNNI, AVX-VNNI) or AMX
the products are summed in 32 bits, and aarch64's dot-product kernels have no such limit.
The features come from ``/proc/cpuinfo`` (the kernel's own reading of CPUID), never from the
model name.
"""

from __future__ import annotations

import functools
import os
import platform
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
# the flags that decide which int8 kernels onnxruntime's MLAS picks on x86-64
_X86_INT8 = ("avx2", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8")


def _flags(text: str) -> frozenset[str]:
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):  # x86 / aarch64
            return frozenset(value.split())
    return frozenset()


@functools.cache
def features() -> frozenset[str]:
    """The CPU's feature flags as Linux names them; empty where ``/proc/cpuinfo`` is missing."""
    try:
        return _flags(CPUINFO.read_text(errors="replace"))
    except OSError:
        return frozenset()


def machine() -> str:
    return platform.machine().lower()


def is_x86(arch: str | None = None) -> bool:
    return (arch or machine()) in ("x86_64", "amd64", "i386", "i686")


def has_vnni(flags: frozenset[str] | None = None) -> bool:
    flags = features() if flags is None else flags
    return bool(flags & {"avx512_vnni", "avx_vnni", "amx_int8"})


def int8_saturates(flags: frozenset[str] | None = None, arch: str | None = None) -> bool:
    """True on x86-64 without VNNI/AMX, where u8 x s8 products saturate at 16 bits."""
    return is_x86(arch) and not has_vnni(flags)


def cpu_class(flags: frozenset[str] | None = None, arch: str | None = None) -> str:
    """A short label for the int8 kernel class, e.g. ``x86-64 AVX-512 VNNI``."""
    flags = features() if flags is None else flags
    arch = arch or machine()
    if not is_x86(arch):
        extra = " dotprod" if "asimddp" in flags else ""
        return f"{arch}{extra}"
    if "amx_int8" in flags:
        return "x86-64 AMX"
    if "avx512_vnni" in flags:
        return "x86-64 AVX-512 VNNI"
    if "avx_vnni" in flags:
        return "x86-64 AVX-VNNI"
    if "avx512f" in flags:
        return "x86-64 AVX-512 without VNNI"
    if "avx2" in flags:
        return "x86-64 AVX2 without VNNI"
    return "x86-64 without AVX2"


def signature() -> str:
    """What a measured verdict about int8 kernels holds for: the architecture and the flags
    that choose them (two hosts with the same signature run the same kernels)."""
    flags = features()
    relevant = sorted(f for f in flags if f in _X86_INT8 or f.startswith(("asimd", "sve", "i8mm")))
    return f"{machine()}:{','.join(relevant)}"


def exact_int8() -> bool:
    """Whether sessions ask onnxruntime for its exact u8 x u8 int8 kernels
    (``session.x64quantprecision``): on x86-64 without VNNI, where the faster u8 x s8 ones
    saturate. ``DEMIXER_EXACT_INT8=1`` or ``0`` overrides the detection (an emulated CPU, or a
    host whose ``/proc/cpuinfo`` does not tell)."""
    forced = os.environ.get("DEMIXER_EXACT_INT8", "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    return int8_saturates()
