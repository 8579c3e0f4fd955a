"""Counting the bytes a reader takes from one file, to prove a read is bounded without timing it.

`ReadMeter.watch(monkeypatch, path)` wraps every file object that `open`, `io.open` or `Path.open`
(so `Path.read_bytes` too) return for `path`, and adds up what their reads return. `write_big_csv`
writes a csv whose first MiBs are well-formed posts and whose tail is random bytes, so a reader
that gets past the bound also sees garbage (another encoding), whatever way it
reads.
"""

from __future__ import annotations

import builtins
import io
import os
import random
from pathlib import Path

POST = "a post about a long and tiring week at work and little sleep"


class _MeteredFile:
    """A file object whose reads are counted in `meter.bytes` (characters in text mode)."""

    def __init__(self, f, meter: ReadMeter) -> None:
        self._f = f
        self._meter = meter

    def _count(self, data):
        self._meter.bytes += len(data)
        return data

    def read(self, *a):
        return self._count(self._f.read(*a))

    def read1(self, *a):
        return self._count(self._f.read1(*a))

    def readline(self, *a):
        return self._count(self._f.readline(*a))

    def readlines(self, *a):
        return [self._count(x) for x in self._f.readlines(*a)]

    def readinto(self, b):
        n = self._f.readinto(b)
        self._meter.bytes += n or 0
        return n

    def __iter__(self):
        return self

    def __next__(self):
        return self._count(next(self._f))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()

    def __getattr__(self, name):
        return getattr(self._f, name)


class ReadMeter:
    """How many bytes were read from one file (`bytes`) and how many times it was opened (`opens`)."""

    def __init__(self, path: Path) -> None:
        self.path = os.path.realpath(path)
        self.bytes = 0
        self.opens = 0

    @classmethod
    def watch(cls, monkeypatch, path: Path) -> ReadMeter:
        """Start counting the reads of `path` (until the test's monkeypatch is undone)."""
        meter = cls(path)
        real_open = io.open

        def metered_open(file, *a, **kw):
            f = real_open(file, *a, **kw)
            if isinstance(file, (str, bytes, os.PathLike)) and os.path.realpath(file) == meter.path:
                meter.opens += 1
                return _MeteredFile(f, meter)
            return f

        monkeypatch.setattr(io, "open", metered_open)  # Path.open calls io.open
        monkeypatch.setattr(builtins, "open", metered_open)
        return meter


def write_big_csv(path: Path, valid_bytes: int, garbage_bytes: int = 4 << 20) -> int:
    """Write `id,text` then numbered posts up to at least `valid_bytes` bytes, then `garbage_bytes`
    seeded random bytes (invalid UTF-8). Returns the file's size in bytes."""
    with open(path, "wb") as f:
        n = f.write(b"id,text\n")
        i = 0
        while n < valid_bytes:
            n += f.write(f"{i},{POST}\n".encode())
            i += 1
        n += f.write(random.Random(0).randbytes(garbage_bytes))
    return n
