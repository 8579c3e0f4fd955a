"""Frozen entry point of `cmhl-desktop` (the GUI; `--smoke-test OUT.png` runs it offscreen)."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from _frozen_env import persistent_matplotlib_cache

    persistent_matplotlib_cache()
    from cmhl_desktop.__main__ import main

    sys.exit(main())
