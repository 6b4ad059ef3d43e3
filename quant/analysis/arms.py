"""Which randomised arm is the treatment and which the control. Every between-arm figure is
treatment - control.

The arms are the ones in the randomisation list. The charter (``treatment_arm`` /
``control_arm``) or ``lungread stats --treatment ARM --control ARM`` names which is which. When
neither does, the arm whose name says placebo, control or standard/usual care is the control, if
exactly one does. Otherwise the analysis refuses and asks for the names.

Two arms are required. A list with three or more arms is refused with the arms named; comparing
each arm against the control is not supported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from quant.errors import LungReadError

__all__ = ["ArmError", "ArmChoice", "choose_arms"]

_CONTROL_NAME = re.compile(r"placebo|control|standard[ -]of[ -]care|usual[ -]care|\bsoc\b", re.IGNORECASE)


class ArmError(LungReadError):
    """The arms cannot be told apart, or a named arm is not in the randomisation list."""


@dataclass(frozen=True)
class ArmChoice:
    """``treatment`` and ``control`` as spelled in the randomisation list; ``how`` says why."""

    treatment: str
    control: str
    how: str


def _listed(name: str, arms: list[str], role: str) -> str:
    if name in arms:
        return name
    near = [a for a in arms if a.casefold() == name.casefold()]
    hint = f" (did you mean {near[0]!r}? arm names are compared exactly)" if near else ""
    raise ArmError(f"{role} arm {name!r} is not in the randomisation list{hint}; its arms: "
                   + ", ".join(repr(a) for a in arms))


def choose_arms(arms: Iterable[str], treatment: str | None = None, control: str | None = None) -> ArmChoice:
    """Pick the treatment and control out of the randomisation list's ``arms``.

    ``treatment`` / ``control``: names given by the user or the charter (either may be None).

    Raises:
        ArmError: the list does not have exactly two arms, a named arm is not in it, both names are
        the same arm, or the names are missing and the control cannot be recognised by name.
    """
    listed = sorted(set(arms))
    if len(listed) != 2:
        what = "no arms" if not listed else ", ".join(repr(a) for a in listed)
        raise ArmError(f"the endpoint analysis compares two arms; the randomisation list has {len(listed)}: {what}")
    if treatment is not None:
        treatment = _listed(treatment, listed, "treatment")
    if control is not None:
        control = _listed(control, listed, "control")
    if treatment is not None and control is not None:
        if treatment == control:
            raise ArmError(f"treatment and control are the same arm ({treatment!r})")
        return ArmChoice(treatment, control, "named")
    if treatment is not None or control is not None:
        named = treatment if treatment is not None else control
        other = next(a for a in listed if a != named)
        if treatment is not None:
            return ArmChoice(treatment, other, "treatment named; control is the other arm")
        return ArmChoice(other, named, "control named; treatment is the other arm")  # type: ignore[arg-type]
    controls = [a for a in listed if _CONTROL_NAME.search(a)]
    if len(controls) == 1:
        (ctl,) = controls
        return ArmChoice(next(a for a in listed if a != ctl), ctl, f"control recognised by its name ({ctl!r})")
    raise ArmError("name the treatment and control arms (lungread stats --treatment ARM --control ARM, or the "
                   "charter's treatment/control arms); the randomisation list has " + ", ".join(repr(a) for a in listed))
