"""Small dialogs: model card, keyboard shortcuts, about, and the export file chooser."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from cmhl_desktop import __version__

INTENDED_USE = (
    "CMHL Desktop is a screening aid. It orders posts for human review by estimating distress "
    "categories and emotions with a local model; it does not make a diagnosis, and a post that is "
    "not flagged may still need attention. Every flag must be read and judged by a qualified person. "
    "Everything runs on this computer: no text, score or review leaves it."
)

SHORTCUTS: list[tuple[str, str]] = [
    ("Ctrl+O", "Open a file or folder"),
    ("Ctrl+E", "Export results and review (xlsx or csv)"),
    ("J  or  Ctrl+Down", "Next flagged post"),
    ("K  or  Ctrl+Up", "Previous flagged post"),
    ("Down / Up", "Next / previous post in the table"),
    ("Tab / Shift+Tab", "Move between the table, the post, the review and the filters"),
    ("1", "Review status: unreviewed"),
    ("2", "Review status: confirmed"),
    ("3", "Review status: not a concern"),
    ("4", "Review status: needs follow-up"),
    ("5", "Review status: urgent (shows your local crisis protocol)"),
    ("N  or  Alt+N", "Write a note for the selected post (saved when you pause or leave it)"),
    ("Esc in the note", "Save the note and go back to the table"),
    ("Ctrl+Shift+R  or  Alt+R", "The reviewer's name"),
    ("Ctrl+F", "Search the post text (Esc clears the search)"),
    ("Ctrl+Shift+X", "Explain all flagged posts"),
    ("Esc", "Cancel the running task (scoring, explaining, export)"),
    ("F1", "This list"),
    ("Ctrl+Q", "Quit (every review is already saved)"),
]


class TextDialog(QDialog):
    def __init__(
        self,
        title: str,
        parent: QWidget | None = None,
        markdown: str | None = None,
        html_text: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(720, 560)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(False)
        self.browser.setOpenLinks(False)
        if markdown is not None:
            self.browser.setMarkdown(markdown)
        elif html_text is not None:
            self.browser.setHtml(html_text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        lay = QVBoxLayout(self)
        lay.addWidget(self.browser)
        lay.addWidget(buttons)


def model_card_dialog(card_markdown: str, model_name: str, parent: QWidget | None = None) -> TextDialog:
    return TextDialog(f"Model card — {model_name}", parent, markdown=card_markdown)


def shortcuts_dialog(parent: QWidget | None = None) -> TextDialog:
    rows = "".join(
        f"<tr><td style='padding:3px 16px 3px 0'><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>"
        for k, v in SHORTCUTS
    )
    body = (
        "<h3>Keyboard shortcuts</h3><table>" + rows + "</table>"
        "<p>Reviews are saved the moment you change them. Digits typed into the note field are text, "
        "not shortcuts.</p>"
    )
    d = TextDialog("Keyboard shortcuts", parent, html_text=body)
    d.resize(560, 520)
    return d


def about_html(model_name: str | None, model_sha: str | None, model_path: str | None) -> str:
    model = (
        f"{html.escape(model_name)}<br><small>{html.escape(model_path or '')}<br>sha256 "
        f"{html.escape((model_sha or '')[:16])}…</small>"
        if model_name
        else "no model loaded"
    )
    return (
        f"<h3>CMHL Desktop {html.escape(__version__)}</h3>"
        f"<p><b>Model:</b> {model}</p>"
        f"<p><b>Intended use.</b> {html.escape(INTENDED_USE)}</p>"
        "<p>Built on the CMHL multi-task model (Elgabry, Hamdi, Shaban, 2026; our reconstruction).</p>"
    )


class AboutDialog(QDialog):
    def __init__(self, model_name, model_sha, model_path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About CMHL Desktop")
        self.resize(520, 340)
        self.label = QLabel(about_html(model_name, model_sha, model_path))
        self.label.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.label, 1)
        lay.addWidget(buttons)


def export_suggestion(source: Path, reopened: bool, folder: Path) -> Path:
    """The file name an export is offered under: `<input>-cmhl.xlsx` beside the input (or in
    `folder`); for a reopened export `<name>-reviewed.xlsx`, numbered when that exists. Never the
    open file itself (which cannot be overwritten)."""
    stem = source.stem
    if not reopened:
        out = folder / f"{stem}-cmhl.xlsx"
        return out if out.resolve() != source.resolve() else folder / f"{stem}-cmhl-2.xlsx"
    base = stem[: -len("-reviewed")] if stem.endswith("-reviewed") else stem
    for k in range(1, 1000):
        out = folder / (f"{base}-reviewed.xlsx" if k == 1 else f"{base}-reviewed-{k}.xlsx")
        if out.resolve() != source.resolve() and not out.exists():
            return out
    return folder / f"{base}-reviewed-new.xlsx"


def ask_export_path(parent: QWidget, source: Path, reopened: bool, start_dir: str) -> Path | None:
    """Ask where to export (suggestion: `export_suggestion`). A name without a known suffix gets the
    chosen type's."""
    suggestion = export_suggestion(source, reopened, Path(start_dir or source.parent))
    f, chosen = QFileDialog.getSaveFileName(
        parent, "Export results", str(suggestion), "Excel workbook (*.xlsx);;CSV (*.csv)"
    )
    if not f:
        return None
    out = Path(f)
    if out.suffix.lower() not in (".xlsx", ".csv", ".tsv"):
        out = out.with_suffix(".csv" if "csv" in chosen.lower() else ".xlsx")
    return out
