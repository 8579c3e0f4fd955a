"""The QApplication: identity (for QSettings and the data folder), style, the main window."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

from cmhl_desktop import __version__
from cmhl_desktop.core import paths
from cmhl_desktop.ui.qt_compat import install_refcount_guard

ORG, APP_NAME = "CMHL", "CMHL Desktop"


def make_app(argv: list[str] | None = None) -> QApplication:
    """The application object (reused when one exists, e.g. under pytest-qt)."""
    QCoreApplication.setOrganizationName(ORG)
    QCoreApplication.setApplicationName(APP_NAME)
    QCoreApplication.setApplicationVersion(__version__)
    app = QApplication.instance()
    if app is None:
        app = QApplication(argv if argv is not None else sys.argv[:1])
    install_refcount_guard(app)  # PySide6 6.12 on Python < 3.12: see ui/qt_compat.py
    apply_style(app)
    return app  # type: ignore[return-value]


def apply_style(app: QApplication) -> None:
    app.setStyle("Fusion")
    f = QFont(app.font())
    if f.pointSizeF() < 9.5:
        f.setPointSizeF(9.5)
        app.setFont(f)
    qss = paths.resources_dir() / "style" / "app.qss"
    if qss.is_file():
        app.setStyleSheet(qss.read_text(encoding="utf-8"))


def setup_logging() -> None:
    # Never log post text: the window logs file names, counts and exception types only.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def run_app(model: str | None = None, input_path: str | None = None) -> int:
    setup_logging()
    app = make_app()
    from cmhl_desktop.ui.main_window import MainWindow

    w = MainWindow(model_dir=model)
    w.show()
    if input_path:
        QTimer.singleShot(0, lambda: w.open_path(Path(input_path)))
    return app.exec()
