"""Frozen entry point of `cmhl-desktop` (the GUI; `--smoke-test OUT.png` runs it offscreen).

On Linux the `cmhl` command line is a symbolic link to this executable (one embedded
Python archive instead of two, ~36 MB less): started under that name, it runs the CLI instead."""

import multiprocessing
import sys
from pathlib import Path

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from _frozen_env import persistent_matplotlib_cache

    persistent_matplotlib_cache()
    if Path(sys.argv[0]).stem == "cmhl":
        from cmhl_desktop.cli import main
    else:
        from cmhl_desktop.__main__ import main

    sys.exit(main())
