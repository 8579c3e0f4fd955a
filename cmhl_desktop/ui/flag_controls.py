"""Target-recall controls: one spin box per flag rule, with the threshold it implies and the expected
(validation) recall and precision at that threshold. Moving one re-flags without re-scoring."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDoubleSpinBox, QGridLayout, QGroupBox, QLabel, QSizePolicy, QWidget

RECALL_MIN, RECALL_MAX, RECALL_STEP = 0.50, 0.99, 0.01

RULE_TITLES = {
    "any_distress": "Any distress",
    "suicidewatch": "Suicide watch",
}


class FlagRulesPanel(QGroupBox):
    """`target_changed(rule_name, recall)` when the user moves a control."""

    target_changed = Signal(str, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Flag rules — target recall (re-flags instantly, no re-scoring)", parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(8, 4, 8, 6)
        self.grid.setHorizontalSpacing(10)
        self.grid.setVerticalSpacing(2)
        self.spins: dict[str, QDoubleSpinBox] = {}
        self.infos: dict[str, QLabel] = {}
        self.empty = QLabel("No model loaded yet.")
        self.empty.setObjectName("muted")
        self.grid.addWidget(self.empty, 0, 0)
        self._quiet = False

    def set_rules(self, rules, targets: dict[str, float]) -> None:
        """Rebuild for a model's rules (cmhl.calibration.FlagRule objects)."""
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None and item.widget() is not self.empty:
                item.widget().deleteLater()
        self.spins.clear()
        self.infos.clear()
        if not rules:
            self.grid.addWidget(self.empty, 0, 0)
            self.empty.show()
            self.empty.setText("This model has no flag rules.")
            return
        self.empty.hide()
        for k, rule in enumerate(rules):
            title = RULE_TITLES.get(rule.name, rule.name)
            what = f"1 − P({rule.cls})" if rule.kind == "not_class" else f"P({rule.cls})"
            name = QLabel(f"<b>{title}</b>")
            name.setToolTip(f"Rule '{rule.name}': flag when {what} ≥ threshold")
            spin = QDoubleSpinBox()
            spin.setObjectName(f"recall_{rule.name}")
            spin.setDecimals(2)
            spin.setRange(RECALL_MIN, RECALL_MAX)
            spin.setSingleStep(RECALL_STEP)
            spin.setPrefix("recall ≥ ")
            spin.setAccessibleName(f"Target recall for {title}")
            spin.setToolTip("The share of true cases (on validation data) the rule should catch")
            spin.setKeyboardTracking(False)
            spin.setValue(min(RECALL_MAX, max(RECALL_MIN, targets.get(rule.name, rule.target_recall))))
            info = QLabel("")
            info.setObjectName("ruleInfo")
            info.setWordWrap(True)  # never widens the window
            info.setMinimumWidth(120)
            info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            self.grid.addWidget(name, k, 0)
            self.grid.addWidget(spin, k, 1)
            self.grid.addWidget(info, k, 2)
            spin.valueChanged.connect(lambda v, n=rule.name: self._changed(n, v))
            self.spins[rule.name] = spin
            self.infos[rule.name] = info
        self.grid.setColumnStretch(2, 1)

    def _changed(self, name: str, value: float) -> None:
        if not self._quiet:
            self.target_changed.emit(name, round(float(value), 4))

    def set_value(self, name: str, value: float) -> None:
        """Set a control without emitting target_changed (restoring state)."""
        spin = self.spins.get(name)
        if spin is None:
            return
        self._quiet = True
        try:
            spin.setValue(value)
        finally:
            self._quiet = False

    def set_info(self, name: str, threshold: float, expected: dict[str, float], flagged: int | None) -> None:
        label = self.infos.get(name)
        if label is None:
            return
        rec, prec = expected.get("recall", float("nan")), expected.get("precision", float("nan"))
        text = f"threshold {threshold:.3f} · expected recall {rec:.2f}, precision {prec:.2f} (validation)"
        if flagged is not None:
            text += f" · {flagged:,} flagged here"
        label.setText(text)
        label.setToolTip(text)
