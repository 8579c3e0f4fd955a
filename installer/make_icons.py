"""Render the app icon (resources/icons/app.svg) for the desktop entries (build-venv helper).

    python installer/make_icons.py

Writes installer/linux/cmhl-desktop.svg (a copy) and .png (256 px), installer/windows/cmhl-desktop.ico
(16-256 px) and installer/macos/cmhl-desktop.icns (16-1024 px). The outputs are committed; run this
again only when app.svg changes. Uses Qt's SVG renderer (PySide6) and Pillow for .ico/.icns.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SVG = HERE.parent / "resources" / "icons" / "app.svg"


def render_png(size: int) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 (keeps Qt alive)
    img = QImage(size, size, QImage.Format.Format_ARGB32)
    img.fill(Qt.GlobalColor.transparent)
    painter = QPainter(img)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(str(SVG)).render(painter)
    painter.end()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    img.save(buf, "PNG")
    return bytes(data.data())


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PIL import Image

    for sub in ("linux", "windows", "macos"):
        (HERE / sub).mkdir(exist_ok=True)
    shutil.copyfile(SVG, HERE / "linux" / "cmhl-desktop.svg")
    (HERE / "linux" / "cmhl-desktop.png").write_bytes(render_png(256))
    big = Image.open(io.BytesIO(render_png(1024))).convert("RGBA")
    big.save(HERE / "windows" / "cmhl-desktop.ico", sizes=[(s, s) for s in (16, 24, 32, 48, 64, 128, 256)])
    big.save(HERE / "macos" / "cmhl-desktop.icns")
    for p in sorted(HERE.glob("*/cmhl-desktop.*")):
        print(f"{p.relative_to(HERE)}  {p.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
