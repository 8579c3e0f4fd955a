"""Frozen entry point of `cmhl` (the command line: score, explain, train, evaluate, calibrate)."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from _frozen_env import persistent_matplotlib_cache

    persistent_matplotlib_cache()
    from cmhl_desktop.cli import main

    sys.exit(main())
