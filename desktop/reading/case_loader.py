"""Opening a case off the GUI thread: load the series, then restore the draft or segment.

:func:`load_case` is the function a :class:`desktop.app.workers.Worker` runs. It touches no widget;
it returns a :class:`LoadedCase` with the live label maps the editor will change in place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from desktop.app.workers import OperationCancelled
from desktop.reading.segment_process import server
from quant.labels import LesionMasks, LungMasks

if TYPE_CHECKING:
    from db.services import ReadView
    from quant.segment.pipeline import SegmentationResult
    from quant.segment.qc import QCFlag
    from quant.volume import Volume

__all__ = ["LoadedCase", "load_case", "load_volume", "segment_volume"]


@dataclass
class LoadedCase:
    """A case ready to display. Label maps are (z, y, x) uint8, owned by this object."""

    volume: Volume
    lungs: LungMasks
    lesions: LesionMasks
    algorithm_version: str | None
    protocol_hash: str | None
    restored_draft: bool = False
    segmentation_cancelled: bool = False
    qc_flags: tuple[QCFlag, ...] = ()  # QC flags of the automatic result
    segmentation_refused: str | None = None  # why the automatic segmentation refused the scan


def _check_cancel(cancelled: Callable[[], bool]) -> None:
    if cancelled():
        raise OperationCancelled("Opening the case")


def load_volume(source: Path | Sequence[Path], progress: Callable[..., None]) -> Volume:
    """Read a CT series (folder or file list) into a ``Volume`` with progress 0..100."""
    from quant.dicom.load import load_series  # lazy: pydicom and its decoders load with the first case

    def on_files(done: int, total: int) -> None:
        progress(int(40 * done / max(total, 1)), 100, f"Loading images ({done}/{total})…")

    if isinstance(source, (list, tuple)) and len(source) > 0:
        return load_series(list(source), progress=on_files)
    return load_series(Path(source), progress=on_files)


def segment_volume(volume: Volume, progress: Callable[..., None],
                   cancelled: Callable[[], bool]) -> SegmentationResult:
    """Automatic lung + lesion segmentation (``quant.segment.pipeline.segment``, run in the helper
    process of :mod:`desktop.reading.segment_process`) with progress 40..100; returns its
    SegmentationResult. Cancel raises ``OperationCancelled``."""
    def on_step(fraction: float, text: str) -> None:
        frac = min(max(float(fraction), 0.0), 1.0)
        progress(40 + int(60 * frac), 100,
                 f"Automatic segmentation: {text}…" if text and text != "done" else "Automatic segmentation…")

    return server().run(volume, on_step, cancelled)


def load_case(source: Path | Sequence[Path], draft: ReadView | None, progress: Callable[..., None],
              cancelled: Callable[[], bool]) -> LoadedCase:
    """Load the series; use the draft's masks when it has them, else run the segmentation.

    If the user cancels during segmentation, or the segmentation refuses the scan (no plausible
    lungs: bowel gas, a head CT), the case still opens, with empty masks, so a reader can paint by
    hand or mark the scan not evaluable; ``segmentation_refused`` then says why.
    """
    progress(0, 100, "Loading images…")
    volume = load_volume(source, progress)
    _check_cancel(cancelled)
    lung = getattr(draft, "lung_labels", None) if draft is not None else None
    lesion = getattr(draft, "lesion_labels", None) if draft is not None else None
    if lung is not None and lesion is not None and tuple(lung.shape) == tuple(volume.shape):
        from quant.segment.qc import from_metrics  # lazy: quant.segment otherwise runs only in the helper

        progress(100, 100, "Restoring your draft…")
        return LoadedCase(
            volume=volume,
            lungs=LungMasks(np.ascontiguousarray(lung, dtype=np.uint8).copy()),
            lesions=LesionMasks(np.ascontiguousarray(lesion, dtype=np.uint8).copy()),
            algorithm_version=getattr(draft, "algorithm_version", None),
            protocol_hash=getattr(draft, "protocol_hash", None),
            restored_draft=True,
            qc_flags=from_metrics(getattr(draft, "metrics", None) or {}),
        )
    from quant.segment.errors import SegmentationError  # lazy: as above

    progress(40, 100, "Automatic segmentation…")
    try:
        result = segment_volume(volume, progress, cancelled)
    except SegmentationError as exc:
        return _without_masks(volume, segmentation_refused=str(exc))
    except Exception:
        if not cancelled():
            raise
        result = None
    if result is None or cancelled():
        return _without_masks(volume, segmentation_cancelled=True)
    return LoadedCase(
        volume=volume,
        lungs=result.lungs,
        lesions=result.lesions,
        algorithm_version=result.algorithm_version,
        protocol_hash=result.protocol_hash,
        qc_flags=tuple(result.qc),
    )


def _without_masks(volume: Volume, **why: Any) -> LoadedCase:
    """The case with empty lung and lesion masks (no automatic result); ``why`` names the
    :class:`LoadedCase` field that says why."""
    empty = np.zeros(volume.shape, dtype=np.uint8)
    return LoadedCase(volume, LungMasks(empty), LesionMasks(empty.copy()), None, None, **why)
