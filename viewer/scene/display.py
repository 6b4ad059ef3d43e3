"""Display settings of the viewer: window/level presets and label colours.

All numbers live in ``resources/display.toml``, so a site can restyle the viewer without code.
Window/level values are in HU (level = window centre, width = window width); colours are RGB in
0..1 and opacities 0..1.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources as importlib_resources
from typing import Any

from quant.errors import LungReadError

__all__ = [
    "DisplayConfigError",
    "WindowLevel",
    "LabelStyle",
    "DisplaySettings",
    "display_settings",
]

RGB = tuple[float, float, float]


class DisplayConfigError(LungReadError):
    """``resources/display.toml`` is missing a key or has a value of the wrong kind."""


@dataclass(frozen=True)
class WindowLevel:
    """A CT display window: ``level`` is the centre and ``width`` the full width, both in HU."""

    name: str
    level: float
    width: float
    key: str = ""

    @property
    def range_hu(self) -> tuple[float, float]:
        """Lowest and highest HU of the window (black and white)."""
        return self.level - self.width / 2.0, self.level + self.width / 2.0


@dataclass(frozen=True)
class LabelStyle:
    """How one label is drawn: display name, RGB colour (0..1) and opacity (0..1)."""

    name: str
    color: RGB
    opacity: float


@dataclass(frozen=True)
class DisplaySettings:
    """Everything ``display.toml`` defines, typed."""

    presets: dict[str, WindowLevel]
    default_preset: str
    background: RGB
    text: RGB
    crosshair: RGB
    brush: RGB
    ggo: LabelStyle
    solid: LabelStyle
    lung: LabelStyle
    background_3d_top: RGB
    background_3d_bottom: RGB
    surface_smoothing_iterations: int
    surface_debounce_ms: int

    @property
    def default_window(self) -> WindowLevel:
        return self.presets[self.default_preset]

    def preset_for_key(self, key: str) -> WindowLevel | None:
        """The preset bound to keyboard key ``key`` ("1", "2", ...), or None."""
        for preset in self.presets.values():
            if preset.key == key:
                return preset
        return None


def _rgb(value: Any, where: str) -> RGB:
    if not (isinstance(value, list) and len(value) == 3 and all(0 <= float(v) <= 1 for v in value)):
        raise DisplayConfigError(f"display.toml: {where} must be three numbers in 0..1, got {value!r}")
    return (float(value[0]), float(value[1]), float(value[2]))


def _label(raw: dict[str, Any], name: str) -> LabelStyle:
    try:
        entry = raw["labels"][name]
        return LabelStyle(str(entry["name"]), _rgb(entry["color"], f"labels.{name}.color"),
                          float(entry["opacity"]))
    except KeyError as exc:
        raise DisplayConfigError(f"display.toml: labels.{name} lacks {exc}") from None


def parse_display_settings(raw: dict[str, Any]) -> DisplaySettings:
    """Validate the parsed TOML table and build :class:`DisplaySettings`."""
    try:
        presets = {
            name: WindowLevel(name, float(v["level"]), float(v["width"]), str(v.get("key", "")))
            for name, v in raw["window_level"].items()
        }
        default = raw["default"]
        view3d = raw["view3d"]
        settings = DisplaySettings(
            presets=presets,
            default_preset=str(default["window_level"]),
            background=_rgb(default["background"], "default.background"),
            text=_rgb(default["text"], "default.text"),
            crosshair=_rgb(default["crosshair"], "default.crosshair"),
            brush=_rgb(default["brush"], "default.brush"),
            ggo=_label(raw, "ggo"),
            solid=_label(raw, "solid"),
            lung=_label(raw, "lung"),
            background_3d_top=_rgb(view3d["background_top"], "view3d.background_top"),
            background_3d_bottom=_rgb(view3d["background_bottom"], "view3d.background_bottom"),
            surface_smoothing_iterations=int(view3d["surface_smoothing_iterations"]),
            surface_debounce_ms=int(view3d["surface_debounce_ms"]),
        )
    except KeyError as exc:
        raise DisplayConfigError(f"display.toml lacks the key {exc}") from None
    if settings.default_preset not in presets:
        raise DisplayConfigError(
            f"display.toml: default.window_level {settings.default_preset!r} is not one of "
            f"{sorted(presets)}"
        )
    if any(p.width <= 0 for p in presets.values()):
        raise DisplayConfigError("display.toml: every window width must be > 0 HU")
    return settings


@lru_cache(maxsize=1)
def display_settings() -> DisplaySettings:
    """The packaged display settings (``resources/display.toml``), parsed once."""
    text = importlib_resources.files("resources").joinpath("display.toml").read_text("utf-8")
    return parse_display_settings(tomllib.loads(text))
