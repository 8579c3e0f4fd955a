"""The guard against PySide6 6.12's dropped references to None/True/False on Python < 3.12."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtWidgets import QLabel

from cmhl_desktop.ui import qt_compat

pytestmark = pytest.mark.gui


def test_void_calls_cannot_underflow_none(qapp):
    guard = qt_compat.install_refcount_guard(qapp)
    defect = qt_compat.refcount_defect()
    if guard is None:
        assert not any(defect.values()), "a defect was measured but no guard installed"
        pytest.skip("this PySide6 build keeps its references: nothing to guard")
    label = QLabel()
    if None not in guard.objects:
        pytest.skip("only bools leak on this build")
    floor = guard.floor[id(None)]
    for _ in range(20):
        before = sys.getrefcount(None)
        for _ in range(5000):
            label.setText("x")  # a void call: drops a reference to None on the affected builds
        assert sys.getrefcount(None) - before <= -4000, "the defect is there (else no guard is needed)"
        qt_compat.top_up()
        assert sys.getrefcount(None) >= floor, "the guard restored what was dropped"
