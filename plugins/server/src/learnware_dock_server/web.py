"""The web page (filled in below)."""

from __future__ import annotations

from fastapi import FastAPI


def add_pages(app: FastAPI) -> None:
    """Add the HTML pages to ``app``."""
