"""CMHL Desktop: offline screening of forum posts with a local CMHL model."""

__version__ = "0.1.0"
