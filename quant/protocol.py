"""The quantification protocol: typed, frozen, hashed.

All thresholds (HU) and sizes (mL, mm) come from one TOML file, by default
``resources/protocol.toml``. :func:`load_protocol` returns a frozen :class:`Protocol`, whose
``hash`` (SHA-256 of the canonical JSON of all values) is stored with every automatic result.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field, fields
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Any

from quant.errors import LungReadError

__all__ = [
    "Protocol",
    "LungParameters",
    "LesionParameters",
    "NormalParameters",
    "QCParameters",
    "ProtocolError",
    "load_protocol",
    "default_protocol",
]


class ProtocolError(LungReadError):
    """The protocol file is missing, malformed, or has a wrong or missing value."""


@dataclass(frozen=True)
class LungParameters:
    air_threshold_hu: float
    min_lung_ml: float
    airway_threshold_hu: float
    fat_min_hu: float
    fat_max_hu: float
    bone_min_hu: float
    notch_radius_mm: float
    enclosure_mm: float
    enclosure_min_radius_mm: float
    wall_gap_mm: float
    effusion_max_hu: float


@dataclass(frozen=True)
class LesionParameters:
    ggo_min_hu: float
    ggo_max_hu: float
    ggo_seed_hu: float
    solid_min_hu: float
    solid_max_hu: float
    min_component_ml: float
    vessel_max_diameter_mm: float
    vessel_min_hu: float
    vessel_ridge_hu: float
    edge_fraction: float
    smoothing_sigma_mm: float


@dataclass(frozen=True)
class NormalParameters:
    max_lesion_pct: float


@dataclass(frozen=True)
class QCParameters:
    edge_lung_mm2: float
    min_lung_ml: float
    max_lung_ml: float
    max_slice_mm: float
    min_solid_pct: float
    fat_like_solid_hu: float
    max_noise_hu: float


@dataclass(frozen=True)
class Protocol:
    name: str
    version: str
    lungs: LungParameters
    lesions: LesionParameters
    normal: NormalParameters
    qc: QCParameters
    hash: str = field(default="", compare=False)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("hash")
        return data


def _section(cls: type, raw: dict[str, Any], name: str, source: str):
    table = raw.get(name)
    if not isinstance(table, dict):
        raise ProtocolError(f"{source}: missing [{name}] section")
    values = {}
    for f in fields(cls):
        if f.name not in table:
            raise ProtocolError(f"{source}: [{name}] is missing '{f.name}'")
        value = table[f.name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ProtocolError(f"{source}: [{name}] {f.name} must be a number, got {value!r}")
        values[f.name] = float(value)
    unknown = set(table) - {f.name for f in fields(cls)}
    if unknown:
        raise ProtocolError(f"{source}: [{name}] has unknown keys {sorted(unknown)}")
    return cls(**values)


def protocol_from_dict(raw: dict[str, Any], source: str = "protocol") -> Protocol:
    """Build and validate a :class:`Protocol` from parsed TOML."""
    meta = raw.get("protocol", {})
    proto = Protocol(
        name=str(meta.get("name", "unnamed")),
        version=str(meta.get("version", "0")),
        lungs=_section(LungParameters, raw, "lungs", source),
        lesions=_section(LesionParameters, raw, "lesions", source),
        normal=_section(NormalParameters, raw, "normal", source),
        qc=_section(QCParameters, raw, "qc", source),
    )
    les = proto.lesions
    if not (les.ggo_min_hu < les.ggo_max_hu <= les.solid_min_hu < les.solid_max_hu):
        raise ProtocolError(f"{source}: lesion HU bands must be ordered and non-overlapping")
    if not les.ggo_min_hu <= les.ggo_seed_hu < les.ggo_max_hu:
        raise ProtocolError(f"{source}: [lesions] ggo_seed_hu must lie in the ground-glass band, got {les.ggo_seed_hu:g}")
    if not 0.0 <= les.edge_fraction < 1.0:
        raise ProtocolError(f"{source}: [lesions] edge_fraction must be in [0, 1), got {les.edge_fraction:g}")
    if les.vessel_ridge_hu <= 0:
        raise ProtocolError(f"{source}: [lesions] vessel_ridge_hu must be > 0 HU, got {les.vessel_ridge_hu:g}")
    canonical = json.dumps(proto.as_dict(), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return Protocol(proto.name, proto.version, proto.lungs, proto.lesions, proto.normal, proto.qc, hash=digest)


def load_protocol(path: str | Path | None = None) -> Protocol:
    """Load a protocol TOML file (default: the bundled ``resources/protocol.toml``)."""
    if path is None:
        text = importlib_resources.files("resources").joinpath("protocol.toml").read_text("utf-8")
        source = "resources/protocol.toml"
    else:
        try:
            text = Path(path).read_text("utf-8")
        except OSError as exc:
            raise ProtocolError(f"cannot read protocol file {path}: {exc.strerror}") from exc
        source = str(path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(f"{source}: not valid TOML: {exc}") from exc
    return protocol_from_dict(raw, source)


_default: Protocol | None = None


def default_protocol() -> Protocol:
    """The bundled protocol, loaded once."""
    global _default
    if _default is None:
        _default = load_protocol()
    return _default
