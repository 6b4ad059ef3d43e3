"""``lungread phantom scan|trial``: write synthetic chest CTs with ground truth.

Heavy imports (numpy, scipy, pydicom, tqdm) happen inside the handlers so the CLI starts fast.
Results go to stdout; progress bars to stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["register", "run_scan", "run_trial"]


def _nonneg_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _positive_int(text: str) -> int:
    value = _nonneg_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _lesion_pct(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 60.0:
        raise argparse.ArgumentTypeError(f"lesion % must be between 0 and 60, got {value:g}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    phantom = subparsers.add_parser(
        "phantom",
        help="write synthetic chest CTs (DICOM) with exact ground truth",
        description="Synthetic chest CT phantoms with COVID-like lesions and exact ground truth.",
    )
    sub = phantom.add_subparsers(dest="phantom_command", metavar="{scan,trial}", required=True)

    scan = sub.add_parser(
        "scan",
        help="write one phantom scan: OUT/dicom/*.dcm, OUT/truth.json, OUT/truth.npz",
        description="Write one phantom CT series with its ground truth into OUT.",
    )
    scan.add_argument("out", metavar="OUT", type=Path, help="output folder")
    scan.add_argument("--size", choices=("small", "full"), default="small",
                      help="small: 80x128x128 at 3.0x2.7x2.7 mm; full: 300x512x512 at 1.0x0.7x0.7 mm")
    scan.add_argument("--seed", type=_nonneg_int, default=0, help="patient and noise seed (default 0)")
    scan.add_argument("--lesion-pct", type=_lesion_pct, default=None, metavar="X",
                      help="lesion volume, %% of lung volume (0..60; default: drawn from the seed)")
    scan.add_argument("--orientation", choices=("axial", "coronal", "oblique"), default="axial",
                      help="slice orientation of the written series")
    scan.add_argument("--reverse-z", action="store_true", help="write slices in reversed order")
    scan.set_defaults(handler=run_scan)

    trial = sub.add_parser(
        "trial",
        help="write a synthetic 2:1 MSC/placebo trial: scans, manifest.csv, randomization.csv",
        description="Write a whole synthetic trial (baseline to month 12) into OUT.",
    )
    trial.add_argument("out", metavar="OUT", type=Path, help="output folder")
    trial.add_argument("--subjects", type=_positive_int, default=12, help="number of subjects (default 12)")
    trial.add_argument("--size", choices=("small", "full"), default="small", help="phantom size (default small)")
    trial.add_argument("--seed", type=_nonneg_int, default=0, help="trial seed (default 0)")
    trial.add_argument("--visits", type=_positive_int, default=None, metavar="N",
                       help="only the first N visits of BASELINE, DAY10, DAY28, MONTH3, MONTH6, MONTH9, "
                       "MONTH12 (default all 7)")
    trial.set_defaults(handler=run_trial)


def _check_out(out: Path) -> None:
    from quant.phantom import PhantomError

    if out.exists() and not out.is_dir():
        raise PhantomError(f"{out} exists and is not a folder; give a new or existing folder as OUT")


def run_scan(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from quant.phantom import make_scan, write_scan

    _check_out(args.out)

    with tqdm(total=2, desc="phantom", unit="step", file=sys.stderr, disable=False) as bar:
        bar.set_postfix_str("generating")
        scan = make_scan(args.size, args.seed, lesion_pct=args.lesion_pct)
        bar.update(1)
        bar.set_postfix_str("writing DICOM")
        out = write_scan(scan, args.out, orientation=args.orientation, reverse_z=args.reverse_z, seed=args.seed)
        bar.update(1)
    t = scan.truth
    print(f"{out}")
    print(
        f"lung {t['lung_ml']:.0f} mL, lesion {t['lesion_ml']:.0f} mL ({t['lesion_pct']:.2f} %), "
        f"solid {t['solid_ml']:.0f} mL ({t['solid_pct']:.2f} %)"
    )
    return 0


def run_trial(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from quant.phantom import DEFAULT_VISITS, make_trial

    _check_out(args.out)
    visits = DEFAULT_VISITS[: args.visits] if args.visits else DEFAULT_VISITS

    with tqdm(desc="trial", unit="scan", file=sys.stderr, disable=False) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        files = make_trial(
            args.out, subjects=args.subjects, visits=visits, seed=args.seed, size=args.size, progress=progress
        )
    print(f"{files.manifest}")
    print(f"{files.randomization}")
    return 0
