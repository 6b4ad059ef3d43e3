"""What text a person may put into the trial database: user names, comments and reasons.

- **User names** are NFKC-normalised and limited to ASCII letters, digits and ``. _ - @`` (1-64
  characters), so no control, escape, zero-width or look-alike (Cyrillic ``а`` for Latin ``a``)
  character can make two accounts look the same in a list, an audit trail or a signature
  manifestation. A new name is also refused when it *looks like* an existing one once case and the
  usual confusions (``0``/``o``, ``1``/``l``/``i``, ``rn``/``m``, ``vv``/``w``) are ignored.
- **Comments and reasons** are limited in length and may hold no control characters but newline and
  tab (an escape sequence in a reason would otherwise rewrite the terminal of whoever reads the trail).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from db.errors import WorkflowError

__all__ = ["normalise_username", "check_username", "username_skeleton", "check_text", "MAX_COMMENT", "MAX_REASON"]

MAX_COMMENT = 4000  # characters: a reader's comment on a read
MAX_REASON = 1000  # characters: a reason for a reopen, unlock, account or charter change, lock override

_USERNAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")
_CONFUSIONS = (("rn", "m"), ("vv", "w"), ("0", "o"), ("1", "l"), ("i", "l"), ("|", "l"))


def normalise_username(name: str) -> str:
    """The form a user name is stored and looked up in: NFKC, surrounding spaces removed."""
    return unicodedata.normalize("NFKC", name).strip()


def username_skeleton(name: str) -> str:
    """What a name looks like: case-folded, with characters easily taken for each other merged."""
    skeleton = name.casefold()
    for a, b in _CONFUSIONS:
        skeleton = skeleton.replace(a, b)
    return skeleton.replace(".", "").replace("_", "").replace("-", "")


def check_username(name: str, existing: Iterable[str]) -> str:
    """The normalised name, or WorkflowError when it is malformed or looks like an existing one."""
    name = normalise_username(name)
    if not _USERNAME.fullmatch(name):
        raise WorkflowError("a user name is 1-64 characters: ASCII letters, digits and . _ - @ only "
                            "(no spaces, accents, control or look-alike characters)")
    skeleton = username_skeleton(name)
    for other in existing:
        if username_skeleton(other) == skeleton:
            raise WorkflowError(f"user name {name!r} is too easily confused with the existing account {other!r}")
    return name


def check_text(text: str | None, what: str, limit: int) -> str:
    """``text`` stripped, refused when over ``limit`` characters or holding control characters."""
    value = (text or "").strip()
    if len(value) > limit:
        raise WorkflowError(f"{what} is limited to {limit} characters (this one has {len(value)})")
    bad = sorted({f"U+{ord(ch):04X}" for ch in value if ch not in "\n\t" and unicodedata.category(ch)[0] == "C"})
    if bad:
        raise WorkflowError(f"{what} contains control or invisible characters ({', '.join(bad[:5])}); remove them")
    return value
