"""``lungread info PATH``: list the DICOM series in a folder, de-identified.

Only modality, series description (reduced to acquisition words: names, IDs, dates and any other
free text shown as ``*``, :mod:`quant.dicom.free_text`), slice count, image size, orientation and
spacing are printed: never PatientName, PatientID, dates, UIDs or file paths, so the output can be
pasted into a ticket or shown to a blinded reader. ``--keys`` adds the series keys needed to pick
one series for loading; ``--phi`` adds the raw description, for the site's own staff only.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["register", "run_info"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "info",
        help="list the DICOM series in a folder (de-identified)",
        description="Scan PATH (a folder, searched recursively, or one file) and print one "
        "de-identified line per DICOM series.",
    )
    parser.add_argument("path", metavar="PATH", help="folder (or file) to scan")
    parser.add_argument(
        "--keys",
        action="store_true",
        help="also print each series key (SeriesInstanceUID[#sub-series]) for loading one series",
    )
    parser.add_argument(
        "--phi",
        action="store_true",
        help="also print each series description as the site typed it (may contain names, IDs, dates)",
    )
    parser.set_defaults(handler=run_info)


def run_info(args: argparse.Namespace) -> int:
    """Print the series found under ``args.path``; errors are DicomImportError (exit 2)."""
    from pathlib import Path

    from tqdm import tqdm

    from quant.dicom.load import scan_folder

    bar = tqdm(desc="Scanning", unit="file", file=sys.stderr, disable=None, leave=False)

    def progress(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()

    try:
        result = scan_folder(Path(args.path), progress=progress)
    finally:
        bar.close()

    n = len(result.series)
    skipped = f"; {len(result.skipped)} file(s) skipped (not DICOM or unreadable)" if result.skipped else ""
    if args.phi:
        print("PHI SHOWN (--phi): raw series descriptions below may identify the patient; do not share")
    print(f"{n} series found{skipped}")
    width = len(str(n))
    for i, summary in enumerate(result.series, start=1):
        print(f"{i:>{width}}. {summary.display_label}")
        if args.keys:
            print(f"{'':>{width}}  key: {summary.key}")
        if args.phi:
            print(f"{'':>{width}}  description as typed: {summary.raw_description!r}")
    return 0
