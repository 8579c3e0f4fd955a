"""The `cmhl` command: train, evaluate, calibrate, score, explain — all on the Qt-free core."""

from __future__ import annotations

import argparse
import sys

from .core.offline import go_offline

go_offline()

# Each subcommand lives in cmhl_desktop/commands/<name>.py with `add_parser(sub)` and `run(args)`.
COMMANDS = ("score", "explain", "train", "evaluate", "calibrate")


def user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean a user mistake: one clear line, no traceback."""
    from cmhl.calibration import Calibration  # noqa: F401  (import cost only)
    from cmhl.checkpoint import CheckpointError
    from cmhl.config import ConfigError
    from cmhl.data import DataError

    errs: list[type[BaseException]] = [
        CheckpointError,
        ConfigError,
        DataError,
        FileNotFoundError,
        PermissionError,
    ]
    try:
        from .core.readers import InputError

        errs.append(InputError)
    except ImportError:
        pass
    try:
        from .core.export import ExportError

        errs.append(ExportError)
    except ImportError:
        pass
    return tuple(errs)


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(prog="cmhl", description="CMHL Desktop command line (offline).")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f".commands.{name}", __package__)
        except ModuleNotFoundError as e:
            if e.name and e.name.endswith(f"commands.{name}"):
                continue  # not built yet
            raise
        mod.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr)
        return 130
    except user_errors() as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
