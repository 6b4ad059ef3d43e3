"""Automatic segmentation in a helper *process*, so the GUI thread never waits for it.

A worker thread alone is not enough: scipy.ndimage holds the GIL inside its C loops, so on a
full-size CT a thread-based segmentation would stall the GUI thread for seconds at a time. Here
the worker thread only waits on a pipe (releasing the GIL) while a long-lived helper process runs
:func:`quant.segment.pipeline.segment`. Cancel terminates the helper at once (a fresh one is started
for the next case); progress messages come back through the pipe.

The helper is started ahead of use (:func:`prewarm`), so opening the first case does not pay the
interpreter and numpy/scipy start-up.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.context import SpawnProcess

    from quant.segment.pipeline import SegmentationResult
    from quant.volume import Volume

__all__ = ["SegmentationServer", "server", "prewarm", "shutdown"]


def _serve(conn: Connection) -> None:  # runs in the helper process
    # Lazy: only the helper needs them (numpy/scipy stay out of the GUI's import of this module).
    from quant.segment.pipeline import segment
    from quant.volume import Volume

    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == "stop":
            return
        _kind, hu, spacing, origin, direction = message
        try:
            result = segment(Volume(hu, spacing, origin, direction),
                             progress=lambda fraction, text: conn.send(("progress", fraction, text)))
        except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
            conn.send(("error", exc))
        else:
            conn.send(("result", result))


class SegmentationServer:
    """One helper process; :meth:`run` segments one volume at a time (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._proc: SpawnProcess | None = None
        self._conn: Connection | None = None

    def start(self) -> None:
        """Start the helper if it is not running (cheap when it is)."""
        with self._lock:
            if self._proc is not None and self._proc.is_alive():
                return
            ctx = multiprocessing.get_context("spawn")
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(child,), name="lungread-segmentation", daemon=True)
            proc.start()
            child.close()
            self._proc, self._conn = proc, parent

    def stop(self) -> None:
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        if proc is not None and proc.is_alive():
            proc.terminate()
            proc.join(5)
        if conn is not None:
            conn.close()

    def run(self, volume: Volume, progress: Callable[[float, str], None],
            cancelled: Callable[[], bool]) -> SegmentationResult:
        """``quant.segment.pipeline.SegmentationResult`` of ``volume``; raises what segment raised.

        ``progress(fraction, text)`` is called from the calling thread. When ``cancelled()``
        becomes true the helper is terminated and ``desktop.app.workers.OperationCancelled`` raised.
        """
        from desktop.app.workers import OperationCancelled  # lazy: keeps Qt out of the spawned helper

        with self._lock:
            self.start()
            self._conn.send(("segment", volume.hu, volume.spacing, volume.origin, volume.direction))
            while True:
                if cancelled():
                    self.stop()  # the only way to stop C code at once; next run starts a new one
                    raise OperationCancelled("The automatic segmentation")
                if self._conn.poll(0.05):
                    try:
                        message = self._conn.recv()
                    except (EOFError, OSError):
                        message = ("died",)
                    if message[0] == "progress":
                        progress(float(message[1]), str(message[2]))
                        continue
                    if message[0] == "result":
                        return message[1]
                    if message[0] == "error":
                        raise message[1]
                    self.stop()
                    raise _died()
                if not self._proc.is_alive():
                    self.stop()
                    raise _died()


def _died() -> Exception:
    from quant.segment.errors import SegmentationError  # lazy: quant.segment only on failure

    return SegmentationError("the segmentation helper process stopped unexpectedly (out of memory?); "
                             "open the case again, or paint the masks by hand")


_server: SegmentationServer | None = None


def server() -> SegmentationServer:
    global _server
    if _server is None:
        _server = SegmentationServer()
    return _server


def prewarm() -> None:
    """Start the helper in the background (called when the reading workspace is built)."""
    threading.Thread(target=server().start, name="lungread-seg-prewarm", daemon=True).start()


def shutdown() -> None:
    if _server is not None:
        _server.stop()
