"""Target-recall controls: one spin box per flag rule, with what it is expected to catch, in plain
words (the threshold and the validation recall and precision in its tooltip). Moving one re-flags
without re-scoring."""

from __future__ import annotations

from cmhl.metrics import interval_text
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDoubleSpinBox, QGridLayout, QGroupBox, QLabel, QSizePolicy, QWidget

RECALL_MIN, RECALL_MAX, RECALL_STEP = 0.50, 0.99, 0.01

RULE_TITLES = {
    "any_distress": "Any distress",
    "suicidewatch": "Suicide watch",
}
RULE_PLAIN = {
    "any_distress": "the post as a whole reads as distress of any kind",
    "suicidewatch": "the post, or one sentence of it, reads as a suicidal crisis",
}
RATES_NOTE = (
    "Recall and precision were measured on the model's validation data. In this file they will "
    "differ: precision in particular falls when distress is rarer here than in that data."
)


class FlagRulesPanel(QGroupBox):
    """`target_changed(rule_name, recall)` when the user moves a control."""

    target_changed = Signal(str, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Flag rules — share of true cases to catch (re-flags at once)", parent)
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
            plain = RULE_PLAIN.get(rule.name, f"{what} is high")
            name.setToolTip(f"Flags a post when {plain}.\n(Rule '{rule.name}': {what} ≥ threshold.)")
            spin = QDoubleSpinBox()
            spin.setObjectName(f"recall_{rule.name}")
            spin.setDecimals(2)
            spin.setRange(RECALL_MIN, RECALL_MAX)
            spin.setSingleStep(RECALL_STEP)
            spin.setPrefix("catch ")
            spin.setAccessibleName(f"Target recall for {title}")
            spin.setToolTip(
                "Target recall: the share of true cases the rule should catch, e.g. 0.90 = 90 of 100.\n"
                "Higher catches more and flags more posts that need nothing.\n" + RATES_NOTE
            )
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
        text = plain_rates(rec, prec)
        if flagged is not None:
            text += f" · {flagged:,} flagged here"
        label.setText(text)
        label.setToolTip(
            f"threshold {threshold:.3f} · expected recall {rec:.2f}"
            f"{interval_text(expected.get('recall_ci'), 2)}, precision {prec:.2f}"
            f"{interval_text(expected.get('precision_ci'), 2)} (validation)\n" + RATES_NOTE
        )


def plain_rates(recall: float, precision: float) -> str:
    """What a rule is expected to do, in plain words, e.g. "catches ~90 in 100 true cases; ~46 in 100
    of its flags are true (validation data)"."""
    if not (recall == recall and precision == precision):  # NaN: no validation points
        return "no validation figures for this rule"
    return (
        f"catches ~{round(100 * recall)} in 100 true cases; ~{round(100 * precision)} in 100 of its "
        "flags are true (validation data)"
    )
