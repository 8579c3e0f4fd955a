"""Small QPainter plots for the detail view: labelled probability bars and the circumplex."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

INK = QColor("#222222")
MUTED = QColor("#6b6b6b")
GRID = QColor("#d8d8d8")
BAR = QColor("#5b7fa6")
BAR_HI = QColor("#b23a3a")
POST = QColor("#b23a3a")


class BarsWidget(QWidget):
    """Horizontal bars, one per class, with the label on the left and the percentage on the right.
    The highlighted class (the top one, or the one chosen for highlights) is drawn bold and red, and
    marked with a ▶ so the emphasis does not rely on colour alone."""

    ROW_H = 18

    def __init__(self, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.items: list[tuple[str, float]] = []
        self.highlight: str | None = None
        self.threshold_marks: dict[str, float] = {}
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_values(self, values: dict[str, float], highlight: str | None = None) -> None:
        self.items = [(k, float(v)) for k, v in values.items()]
        self.highlight = highlight
        self.updateGeometry()
        self.update()

    def clear(self) -> None:
        self.set_values({})

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(260, self._height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(180, self._height())

    def _height(self) -> int:
        title = QFontMetrics(self.font()).height() + 6 if self.title else 0
        return title + max(1, len(self.items)) * self.ROW_H + 4

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        fm = QFontMetrics(self.font())
        y = 0
        if self.title:
            bold = QFont(self.font())
            bold.setBold(True)
            p.setFont(bold)
            p.setPen(INK)
            p.drawText(QRectF(0, 0, self.width(), fm.height() + 4), Qt.AlignmentFlag.AlignLeft, self.title)
            p.setFont(self.font())
            y = fm.height() + 6
        if not self.items:
            p.setPen(MUTED)
            p.drawText(QRectF(0, y, self.width(), self.ROW_H), Qt.AlignmentFlag.AlignLeft, "—")
            return
        bold = QFont(self.font())
        bold.setBold(True)
        bfm = QFontMetrics(bold)
        label_w = max(bfm.horizontalAdvance("▶ " + k) for k, _ in self.items) + 8
        pct_w = fm.horizontalAdvance("100.0%") + 6
        bar_x = label_w
        bar_w = max(20, self.width() - label_w - pct_w - 4)
        for k, v in self.items:
            hi = k == self.highlight
            f = QFont(self.font())
            f.setBold(hi)
            p.setFont(f)
            p.setPen(BAR_HI if hi else INK)
            label = ("▶ " if hi else "   ") + k
            p.drawText(QRectF(0, y, label_w - 4, self.ROW_H), Qt.AlignmentFlag.AlignVCenter, label)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor("#eeeeee"))
            p.drawRect(QRectF(bar_x, y + 4, bar_w, self.ROW_H - 8))
            vv = min(1.0, max(0.0, v)) if math.isfinite(v) else 0.0
            p.setBrush(BAR_HI if hi else BAR)
            p.drawRect(QRectF(bar_x, y + 4, bar_w * vv, self.ROW_H - 8))
            p.setPen(BAR_HI if hi else INK)
            txt = f"{100 * v:.1f}%" if math.isfinite(v) else "–"
            p.drawText(
                QRectF(bar_x + bar_w + 4, y, pct_w, self.ROW_H),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                txt,
            )
            y += self.ROW_H
        p.end()


class CircumplexWidget(QWidget):
    """Russell's circumplex as valence (x, −1..1) × intensity (y, 0..1): the emotion points of the
    checkpoint, labelled, and the post's predicted point (a red diamond)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.points: dict[str, tuple[float, float]] = {}
        self.post: tuple[float, float] | None = None
        self.emotion: str | None = None
        self.setMinimumSize(220, 190)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Valence (x) × intensity (y): emotion anchors and this post's point")

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(280, 210)

    def set_points(self, circumplex: dict[str, list[float]]) -> None:
        self.points = {k: (float(v[0]), float(v[1])) for k, v in circumplex.items()}
        self.update()

    def set_post(self, valence: float | None, intensity: float | None, emotion: str | None = None) -> None:
        ok = (
            valence is not None
            and intensity is not None
            and math.isfinite(valence)
            and math.isfinite(intensity)
        )
        self.post = (valence, intensity) if ok else None  # type: ignore[assignment]
        self.emotion = emotion
        self.update()

    def _plot_rect(self) -> QRectF:
        fm = QFontMetrics(self.font())
        left = fm.horizontalAdvance("intensity") * 0 + fm.height() + 8
        return QRectF(left, 6, self.width() - left - 8, self.height() - 6 - fm.height() * 2 - 6)

    def to_px(self, v: float, a: float) -> QPointF:
        r = self._plot_rect()
        x = r.left() + (min(1, max(-1, v)) + 1) / 2 * r.width()
        y = r.bottom() - min(1, max(0, a)) * r.height()
        return QPointF(x, y)

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        fm = QFontMetrics(self.font())
        r = self._plot_rect()
        p.fillRect(r, QColor("#fafafa"))
        p.setPen(QPen(GRID, 1))
        p.drawRect(r)
        # axes: valence 0 (vertical), intensity 0.5 (horizontal)
        p.setPen(QPen(GRID, 1, Qt.PenStyle.DashLine))
        p.drawLine(self.to_px(0, 0), self.to_px(0, 1))
        p.drawLine(self.to_px(-1, 0.5), self.to_px(1, 0.5))
        small = QFont(self.font())
        small.setPointSizeF(max(7.0, self.font().pointSizeF() * 0.85))
        p.setFont(small)
        sfm = QFontMetrics(small)
        p.setPen(MUTED)
        below = r.bottom() + 2
        p.drawText(QRectF(r.left(), below, 60, sfm.height()), Qt.AlignmentFlag.AlignLeft, "−1")
        p.drawText(QRectF(r.right() - 60, below, 60, sfm.height()), Qt.AlignmentFlag.AlignRight, "+1")
        p.drawText(
            QRectF(r.left(), below + sfm.height(), r.width(), sfm.height()),
            Qt.AlignmentFlag.AlignHCenter,
            "valence (negative → positive)",
        )
        p.save()
        p.translate(fm.height() * 0.5 + 2, r.center().y())
        p.rotate(-90)
        p.drawText(
            QRectF(-r.height() / 2, -sfm.height() / 2, r.height(), sfm.height()),
            Qt.AlignmentFlag.AlignHCenter,
            "intensity (calm → aroused)",
        )
        p.restore()
        # emotion anchors: dots first, then labels placed where they overlap nothing
        anchors = [(name, self.to_px(v, a)) for name, (v, a) in self.points.items()]
        taken = [QRectF(pt.x() - 5, pt.y() - 5, 10, 10) for _, pt in anchors]
        if self.post is not None:
            pp = self.to_px(*self.post)
            taken.append(QRectF(pp.x() - 8, pp.y() - 8, 16, 16))
        for name, pt in anchors:
            chosen = name == self.emotion
            p.setPen(QPen(INK, 1))
            p.setBrush(QColor("#5b7fa6") if not chosen else QColor("#ffffff"))
            p.drawEllipse(pt, 4, 4)
        for name, pt in anchors:
            chosen = name == self.emotion
            f = QFont(small)
            f.setBold(chosen)
            p.setFont(f)
            lfm = QFontMetrics(f)
            w, h = lfm.horizontalAdvance(name), lfm.height()
            candidates = [
                QRectF(pt.x() + 6, pt.y() - h / 2, w, h),  # right
                QRectF(pt.x() - 6 - w, pt.y() - h / 2, w, h),  # left
                QRectF(pt.x() - w / 2, pt.y() - 6 - h, w, h),  # above
                QRectF(pt.x() - w / 2, pt.y() + 6, w, h),  # below
                QRectF(pt.x() + 6, pt.y() - 6 - h, w, h),  # above right
                QRectF(pt.x() + 6, pt.y() + 6, w, h),  # below right
                QRectF(pt.x() - 6 - w, pt.y() - 6 - h, w, h),
                QRectF(pt.x() - 6 - w, pt.y() + 6, w, h),
            ]
            inside = [c for c in candidates if r.contains(c)] or candidates
            best = next((c for c in inside if not any(c.intersects(t) for t in taken)), inside[0])
            taken.append(best)
            p.setPen(INK)
            p.drawText(best, Qt.AlignmentFlag.AlignCenter, name)
        self._label_rects = taken
        # the post
        if self.post is not None:
            pt = self.to_px(*self.post)
            d = 7
            path = QPainterPath()
            path.moveTo(pt.x(), pt.y() - d)
            path.lineTo(pt.x() + d, pt.y())
            path.lineTo(pt.x(), pt.y() + d)
            path.lineTo(pt.x() - d, pt.y())
            path.closeSubpath()
            p.setPen(QPen(QColor("#ffffff"), 1.5))
            p.setBrush(POST)
            p.drawPath(path)
            p.setFont(small)
            p.setPen(POST)
            label = "this post"
            w, h = sfm.horizontalAdvance(label), sfm.height()
            candidates = [
                QRectF(pt.x() + d + 3, pt.y() + 2, w, h),
                QRectF(pt.x() - d - 3 - w, pt.y() + 2, w, h),
                QRectF(pt.x() + d + 3, pt.y() - 2 - h, w, h),
                QRectF(pt.x() - d - 3 - w, pt.y() - 2 - h, w, h),
                QRectF(pt.x() - w / 2, pt.y() + d + 2, w, h),
                QRectF(pt.x() - w / 2, pt.y() - d - 2 - h, w, h),
            ]
            others = getattr(self, "_label_rects", [])
            inside = [c for c in candidates if r.contains(c)] or candidates
            best = next((c for c in inside if not any(c.intersects(t) for t in others)), inside[0])
            p.drawText(best, Qt.AlignmentFlag.AlignCenter, label)
        p.end()
