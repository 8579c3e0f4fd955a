"""Opening an input in the window: the file and folder choosers, the sheet/column dialog, reading on
a worker, attaching the table to the session (reviews found and carried over), and crash recovery
(the last file with its saved scores instead of a new scoring run). A mixin of `MainWindow`: it uses
the window's session, jobs, panels and settings."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from cmhl_desktop.core.session import ScoringSession
from cmhl_desktop.ui import window_layout
from cmhl_desktop.ui.errors import describe_error, is_expected, log_exception

APP = "CMHL Desktop"
OPEN_FILTER = "Posts (*.xlsx *.xlsm *.csv *.tsv *.txt *.jsonl);;All files (*)"


class OpeningMixin:
    def open_file_dialog(self) -> None:
        f, _ = QFileDialog.getOpenFileName(
            self, "Open posts", self.prefs.open_dir or str(Path.home()), OPEN_FILTER
        )
        if f:
            self.open_path(f)

    def open_folder_dialog(self) -> None:
        d = QFileDialog.getExistingDirectory(
            self, "Open a folder of .txt files", self.prefs.open_dir or str(Path.home())
        )
        if d:
            self.open_path(d)

    def open_path(
        self,
        path: str | Path,
        sheet: str | None = None,
        column: int | str | list | None = None,
        ask: bool | None = None,
        id_column: int | str | None = None,
        options: dict | None = None,
        restore: bool = False,
    ) -> None:
        """Open an input: with `ask` (the default when interactive) the sheet/column dialog comes
        first (non-blocking); then the whole file is read on a worker. `restore`: put back the
        scores saved for it (crash recovery) instead of scoring it again, when they match."""
        path = Path(path)
        if self.jobs.busy():
            self.show_error(
                "Busy", "Wait for the running task to finish (or cancel it) before opening another file."
            )
            return
        if not path.exists():
            self.show_error("Cannot open", f"{path.name}: no such file or folder.")
            return
        self.prefs.open_dir = path.parent
        if not (self.interactive if ask is None else ask):
            self._read(path, sheet, column, options, id_column, restore)
            return
        from cmhl_desktop.ui.open_dialog import OpenDialog

        dlg = self.open_dialog = OpenDialog(path, self, self.session.data_dir)

        def closed(accepted: bool) -> None:
            self.open_dialog = None
            if accepted:
                column = None if dlg.is_scored() else dlg.column()
                self._read(path, dlg.sheet(), column, dlg.read_options(), dlg.id_column())
            dlg.deleteLater()

        dlg.accepted.connect(lambda: closed(True))
        dlg.rejected.connect(lambda: closed(False))
        dlg.open()

    def _read(
        self,
        path: Path,
        sheet: str | None,
        column,
        options: dict | None = None,
        id_column=None,
        restore=False,
    ) -> None:
        """Read an input in the background; `options`: the open dialog's read options (encoding,
        header); `id_column`: the column that identifies a post for its review."""
        self._status(f"Reading {path.name}…")
        self.results.count_label.setText(f"Opening {path.name}…")  # never the last file's counts

        def failed(e: BaseException) -> None:
            if not is_expected(e):
                log_exception("reading an input", e)
            self.results.show_counts()
            self._status(f"Could not open {path.name}.", 8000)
            self.show_error("Cannot open file", f"{path.name} could not be opened:\n\n{describe_error(e)}")

        def done(table) -> None:
            self.prefs.set_last_input(path, sheet, column, id_column, options)
            self._on_table_read(path, table, restore)

        self.jobs.start(
            "read",
            lambda state, emit: ScoringSession.read(
                path, sheet=sheet, column=column, id_column=id_column, **(options or {})
            ),
            exclusive=True,
            label=f"Reading {path.name}…",
            indeterminate=True,
            on_done=done,
            on_error=failed,
        )

    def _recover(self, last: dict) -> None:
        """The recovery bar's offer was accepted: the last input, with its saved scores."""
        self.open_path(
            last["path"],
            last.get("sheet"),
            last.get("column"),
            ask=False,
            id_column=last.get("id_column"),
            options=last.get("options") or None,
            restore=True,
        )

    def _on_table_read(self, path: Path, table, restore: bool = False) -> None:
        s = self.session
        self.detail.review.commit()  # a note still being typed belongs to the file it was typed for
        s.close()
        s.attach(table)
        self.prefs.add_recent(path)
        self._rebuild_recent_menu()
        self.recovery_bar.hide()  # an input is open now: the crash offer is stale
        if s.store_error is not None:
            self.show_error(
                "Review storage", f"Reviews of this file cannot be saved: {describe_error(s.store_error)}"
            )
        self.explanations.clear()
        self.detail.clear()
        self.reviews.show_storage_line()
        self.setWindowTitle(f"{path.name} — {APP}")
        self.results.show_input()
        self._score_pending = s.needs_scoring and s.model is None  # this input, not an earlier one
        self._restore_pending = restore and self._score_pending
        if restore and s.model is not None and self._restored():
            pass
        elif not s.needs_scoring:
            self._status(
                f"Reopened an export of {table.meta.get('input_name', path.name)}: "
                f"{len(s.results):,} posts with their review; nothing was re-scored.",
                10000,
            )
            self.results.select_first()
        elif self._score_pending:
            self._status("Waiting for the model to load before scoring…")
        if s.review_message:
            self._status(s.review_message, 30000)
            self.detail.review.set_storage(s.review_message + " " + self.detail.review.storage_label.text())
        self.table_ready.emit(len(s.texts))
        if s.needs_scoring and s.model is not None:
            self.start_scoring()
        self._update_actions()
        self.view.setFocus()  # the keyboard path goes on in the table (rows stream in)

    def _restored(self) -> bool:
        """Put back the input's saved scores (crash recovery); False when there are none to use."""
        s = self.session
        if not s.restore_scores():
            return False
        self.results.show_input()
        self.results.select_first()
        self._status(
            f"Reopened {s.table.source.name} with its saved scores (scored {s.started or 'earlier'}) and "
            f"{s.counts.reviewed:,} reviews; nothing was scored again.",
            15000,
        )
        return True

    def _rebuild_recent_menu(self) -> None:
        window_layout.fill_recent(self.recent_menu, self.prefs.recent_files(), self.open_path)
