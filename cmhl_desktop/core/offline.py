"""No hub at run time: set the offline switches before transformers is imported anywhere."""

import os

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def go_offline() -> None:
    for k, v in OFFLINE_ENV.items():
        os.environ[k] = v
