"""What the window remembers between runs, in QSettings: geometry and splitters, recent files and
folders, the last model folder, the reviewer's name, the local crisis protocol, the target recalls
the user chose, and the last file opened with whether the app closed properly (crash recovery).

The target recalls here are a preference only: at start they are handed to the session, which is
the one home of the current target recalls (docs/ARCHITECTURE.md, "One owner per decision")."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow, QSplitter

MAX_RECENT = 8


class _Text:
    """A string kept in QSettings under `key`, read and written as an attribute ("" when unset)."""

    def __init__(self, key: str, doc: str) -> None:
        self.key, self.__doc__ = key, doc

    def __get__(self, obj: WindowSettings, owner=None) -> str:
        return obj._text(self.key)

    def __set__(self, obj: WindowSettings, value: str | Path) -> None:
        obj.qsettings.setValue(self.key, str(value))


class WindowSettings:
    def __init__(self, settings: QSettings) -> None:
        self.qsettings = settings

    def _text(self, key: str) -> str:
        return str(self.qsettings.value(key, "") or "")

    # ------------------------------------------------------------------ window layout

    def restore_layout(self, window: QMainWindow, splitters: dict[str, QSplitter]) -> None:
        s = self.qsettings
        for key, restore in (  # a geometry saved on a bigger screen is fitted by the window
            ("window/geometry", window.restoreGeometry),
            ("window/state", window.restoreState),
        ):
            v = s.value(key)
            if isinstance(v, QByteArray) and not v.isEmpty():
                restore(v)
        for name, splitter in splitters.items():
            v = s.value(f"window/{name}")
            if isinstance(v, QByteArray) and not v.isEmpty():
                splitter.restoreState(v)

    def save_layout(self, window: QMainWindow, splitters: dict[str, QSplitter]) -> None:
        s = self.qsettings
        s.setValue("window/geometry", window.saveGeometry())
        s.setValue("window/state", window.saveState())
        for name, splitter in splitters.items():
            s.setValue(f"window/{name}", splitter.saveState())
        s.sync()

    # ------------------------------------------------------------------ files and folders

    def recent_files(self) -> list[str]:
        v = self.qsettings.value("recent/files", [])
        if isinstance(v, str):
            v = [v]
        return [str(x) for x in (v or [])]

    def add_recent(self, path: str | Path) -> None:
        p = str(Path(path).resolve())
        files = [f for f in self.recent_files() if f != p]
        self.qsettings.setValue("recent/files", [p, *files][:MAX_RECENT])

    open_dir = _Text("recent/dir", "the folder files were last opened from")
    export_dir = _Text("export/dir", "the folder of the last export")

    @property
    def model_dir(self) -> Path | None:
        """The last model folder loaded, when it still exists."""
        last = self._text("model/last_dir")
        return Path(last) if last and Path(last).is_dir() else None

    @model_dir.setter
    def model_dir(self, folder: str | Path) -> None:
        self.qsettings.setValue("model/last_dir", str(folder))

    # ------------------------------------------------------------------ review and flags

    reviewer = _Text("review/reviewer", "the reviewer's name or initials, as last typed")
    protocol = _Text("review/protocol", "the local crisis protocol shown when a post is marked urgent")

    # ------------------------------------------------------------------ crash recovery

    def last_input(self) -> dict | None:
        """How the last input was opened: {"path", "sheet", "column", "id_column", "options"}."""
        import json

        try:
            d = json.loads(self._text("session/last_input") or "null")
        except ValueError:
            return None
        return d if isinstance(d, dict) and d.get("path") else None

    def set_last_input(self, path: str | Path, sheet, column, id_column, options: dict | None) -> None:
        import json

        d = {
            "path": str(Path(path).resolve()),
            "sheet": sheet,
            "column": column,
            "id_column": id_column,
            "options": options or {},
        }
        try:
            self.qsettings.setValue("session/last_input", json.dumps(d))
        except TypeError:  # a value that is not JSON: no recovery offer for this input
            self.qsettings.remove("session/last_input")
        self.qsettings.sync()

    def mark_running(self, running: bool) -> bool:
        """Record that the app is running (True at start, False on a clean close); returns whether
        the previous run had not closed properly."""
        s = self.qsettings
        crashed = str(s.value("session/running", "false")).lower() == "true"
        s.setValue("session/running", "true" if running else "false")
        s.sync()
        return crashed

    def target_recalls(self) -> dict[str, float]:
        """{rule: recall} the user last chose (unreadable values are skipped)."""
        s, out = self.qsettings, {}
        s.beginGroup("flags")
        try:
            for k in s.childKeys():
                try:
                    out[k] = float(s.value(k))
                except (TypeError, ValueError):
                    pass
        finally:
            s.endGroup()
        return out

    def save_target_recall(self, rule: str, recall: float) -> None:
        self.qsettings.setValue(f"flags/{rule}", recall)
