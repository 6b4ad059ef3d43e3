"""Exceptions of reading-package export and import (all :class:`~quant.errors.LungReadError`)."""

from __future__ import annotations

from db.errors import DatabaseError

__all__ = ["PackageError", "PackageRefused"]


class PackageError(DatabaseError):
    """A package cannot be written or read (bad path, not a package, unknown to this database)."""


class PackageRefused(PackageError):
    """Import refused as a whole; nothing was written to the master database.

    ``problems``: integrity findings naming the bad files or reads (tampering, corruption).
    ``conflicts``: case code -> why that task cannot take the package's read (reassigned, done
    elsewhere, unknown). The message lists them all.
    """

    def __init__(self, package: str, problems: list[str], conflicts: dict[str, str]) -> None:
        self.problems = list(problems)
        self.conflicts = dict(conflicts)
        lines = [f"package {package} refused; nothing was imported."]
        lines += [f"  integrity: {p}" for p in self.problems]
        lines += [f"  conflict, case {code}: {why}" for code, why in sorted(self.conflicts.items())]
        super().__init__("\n".join(lines))
