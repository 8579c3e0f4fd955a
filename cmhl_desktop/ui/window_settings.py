"""What the window remembers between runs, in QSettings: geometry and splitters, recent files and
folders, the last model folder, the reviewer's name and the target recalls the user chose.

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
        for key, restore in (
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
