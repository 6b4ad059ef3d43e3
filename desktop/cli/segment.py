"""``lungread segment SERIES_DIR --json [--out DIR] [--protocol FILE] [--format nifti|npz]``.

Loads a CT series, runs the automatic lung and lesion segmentation and prints the endpoint metrics
with the algorithm version, protocol hash and quality-control flags (``qc_flags`` in the JSON: a
list of ``{"code", "message"}``, empty when the result can be trusted). A scan without plausible
lungs is refused with a one-line message and exit code 2. With ``--json`` stdout carries exactly one JSON
document; progress goes to stderr. ``--out`` also writes the masks for inspection.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "segment",
        help="automatic lung and lesion segmentation of a CT series",
        description="Segment lungs, ground glass and solid lesions of a CT series and print the "
        "endpoint metrics (mL and %% of lung volume).",
    )
    parser.add_argument("series", metavar="SERIES_DIR", type=Path, help="folder (or file) of the CT series")
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="also write lung_labels / lesion_labels masks into DIR")
    parser.add_argument("--format", choices=("nifti", "npz"), default="nifti",
                        help="mask file format for --out (default nifti: .nii.gz, RAS affine)")
    parser.add_argument("--protocol", type=Path, default=None, metavar="FILE",
                        help="protocol TOML (default: the bundled resources/protocol.toml)")
    parser.add_argument("--series-uid", default=None, help="series to load when the folder holds several")
    parser.set_defaults(handler=run_segment)


def run_segment(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from quant.dicom.load import load_series
    from quant.protocol import default_protocol, load_protocol
    from quant.segment.pipeline import segment

    protocol = load_protocol(args.protocol) if args.protocol else default_protocol()
    with tqdm(total=100, desc="segment", unit="%", file=sys.stderr, disable=None,
              bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}") as bar:
        bar.set_postfix_str("loading series")

        def loaded(done: int, total: int) -> None:
            bar.n = int(20 * done / max(total, 1))
            bar.refresh()

        volume = load_series(args.series, series_uid=args.series_uid, progress=loaded)

        def progress(fraction: float, text: str) -> None:
            bar.n = 20 + int(80 * fraction)
            bar.set_postfix_str(text)

        result = segment(volume, protocol, progress=progress)
    data = result.as_dict()
    if args.out is not None:
        data["masks"] = [str(p) for p in _write_masks(args.out, args.format, volume, result)]
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        m = result.metrics
        print(
            f"lung {m.lung_ml:.0f} mL (right {m.lung_right_ml:.0f}, left {m.lung_left_ml:.0f}); "
            f"lesion {m.lesion_ml:.1f} mL = {m.lesion_pct:.2f} % "
            f"(ground glass {m.ggo_ml:.1f} mL, solid {m.solid_ml:.1f} mL = {m.solid_pct:.2f} %); "
            f"suggested normal: {'yes' if m.suggested_normal else 'no'}"
        )
        print(f"algorithm {result.algorithm_version}, protocol {result.protocol_hash[:12]}")
        for flag in result.qc:
            print(f"QC {flag.code}: {flag.message}")
        for path in data.get("masks", []):
            print(path)
    return 0


def _write_masks(out: Path, fmt: str, volume, result) -> list[Path]:
    import numpy as np

    out.mkdir(parents=True, exist_ok=True)
    if fmt == "npz":
        path = out / "masks.npz"
        np.savez_compressed(
            path,
            lung_labels=result.lungs.labels,
            lesion_labels=result.lesions.labels,
            spacing=np.asarray(volume.spacing),
            origin=np.asarray(volume.origin),
            direction=volume.direction,
        )
        return [path]
    from quant.dicom.mask_export import write_nifti

    return [
        write_nifti(volume, result.lungs.labels, out / "lung_labels.nii.gz"),
        write_nifti(volume, result.lesions.labels, out / "lesion_labels.nii.gz"),
    ]
