"""Guards against known Qt-for-Python defects.

PySide6 6.12.0 (cp310-abi3 wheels) on CPython < 3.12 returns `None` from every void C++ method, and
`True`/`False` from `Signal.emit`, without taking a reference: it assumes the immortal singletons of
CPython 3.12 (PEP 683). On 3.10/3.11 each such call therefore drops one reference to None (or a bool),
and after enough calls Python aborts with "deallocating None". 6.11.3 does not have the defect; the
real fix is pinning `pyside6-essentials<6.12` (or Python >= 3.12). Until then, `RefcountGuard` keeps
a bank of references that is topped up from a timer and from long loops (`top_up()`), so a long
session cannot underflow. It is installed only when a probe shows the defect.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, QTimer, Signal

PAD = 200_000  # references banked up front per object (1.6 MB each)
_guard: RefcountGuard | None = None


class _Probe(QObject):
    sig = Signal()


def refcount_defect() -> dict[str, bool]:
    """Which singletons this PySide6 build leaks references to (measured, not guessed)."""
    o = _Probe()
    b = sys.getrefcount(None)
    for _ in range(64):
        o.setObjectName("p")  # a void method
    none_leaks = sys.getrefcount(None) - b <= -32
    bt, bf = sys.getrefcount(True), sys.getrefcount(False)
    for _ in range(64):
        o.sig.emit()  # returns a bool
    bool_leaks = (sys.getrefcount(True) - bt) + (sys.getrefcount(False) - bf) <= -32
    o.deleteLater()
    return {"none": none_leaks, "bool": bool_leaks}


class RefcountGuard(QObject):
    def __init__(self, objects: tuple, interval_ms: int = 200, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.objects = objects
        self.bank: dict[int, list] = {id(o): [] for o in objects}
        for lst in self.bank.values():
            # The bank stands in for references PySide dropped: it must outlive the interpreter,
            # or freeing it at exit would take None's count below zero. One extra reference that
            # is never released keeps it from ever being freed.
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(lst))
        self.floor: dict[int, int] = {}
        for o in objects:
            self.bank[id(o)].extend([o] * PAD)
            self.floor[id(o)] = sys.getrefcount(o)
        self.topped = 0
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.top_up)
        self.timer.start()

    def top_up(self) -> None:
        for o in self.objects:
            lost = self.floor[id(o)] - sys.getrefcount(o)
            if lost > 0:
                self.bank[id(o)].extend([o] * lost)
                self.topped += lost


def install_refcount_guard(parent: QObject | None = None) -> RefcountGuard | None:
    """Install the guard once, when the running PySide6 has the defect; returns it (or None)."""
    global _guard
    if _guard is not None:
        return _guard
    found = refcount_defect()
    objects = tuple(
        o for o, bad in ((None, found["none"]), (True, found["bool"]), (False, found["bool"])) if bad
    )
    if not objects:
        return None
    _guard = RefcountGuard(objects, parent=parent)
    return _guard


def top_up() -> None:
    """Call inside long loops of Qt calls that do not return to the event loop."""
    if _guard is not None:
        _guard.top_up()
