"""Start-up allocates much and frees little, and what it makes lives as long as the process:
the garbage collector waits until the command's modules are loaded, then skips them."""

from __future__ import annotations

import gc


def starting() -> None:
    gc.disable()


def started() -> None:
    """Start-up is over: freeze what it made (the collector need not walk it again) and
    collect from now on."""
    gc.freeze()
    gc.enable()
