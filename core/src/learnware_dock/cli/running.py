"""``dock run``: predict with a stored learnware's model, isolated in a container."""

from __future__ import annotations
