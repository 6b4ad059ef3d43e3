"""``lungread stats compare`` and ``lungread stats proportions``: the trial's two-sample tests on a
CSV file or on counts, without a database (a statistician's calculator)."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the calculator commands to ``lungread stats``'s sub-command group."""
