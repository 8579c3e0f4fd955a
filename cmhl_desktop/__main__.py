"""`cmhl-desktop`: start the GUI (or its offscreen smoke test).

    cmhl-desktop [--model DIR] [FILE]
    cmhl-desktop --smoke-test OUT.png [--model DIR] [--input FILE] [--timeout S]

Qt is imported inside `main` (via cmhl_desktop.ui), after the offline switches are set; torch and
transformers are imported only on the model-loading thread, so the window appears at once.
"""

from __future__ import annotations

import argparse
import os
import sys

from cmhl_desktop.core.offline import go_offline


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cmhl-desktop", description="CMHL Desktop: offline screening of forum posts."
    )
    p.add_argument("input", nargs="?", help="a file or folder to open at start")
    p.add_argument("--model", metavar="DIR", help="a CMHL checkpoint folder (default: the shipped one)")
    p.add_argument(
        "--smoke-test",
        metavar="OUT.png",
        help="open the window offscreen, score the bundled sample, save a screenshot, exit",
    )
    p.add_argument("--input", dest="smoke_input", metavar="FILE", help="the file the smoke test scores")
    p.add_argument(
        "--timeout", type=float, default=300.0, help="smoke test watchdog in seconds (default 300)"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    go_offline()
    args = build_parser().parse_args(argv)
    if args.smoke_test:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from cmhl_desktop.ui.smoke import run_smoke

        return run_smoke(
            args.smoke_test,
            model=args.model,
            input_path=args.smoke_input or args.input,
            timeout_s=args.timeout,
        )
    from cmhl_desktop.ui.app import run_app

    return run_app(model=args.model, input_path=args.input or args.smoke_input)


if __name__ == "__main__":
    sys.exit(main())
