"""The garbage collector at start-up. What start-up makes lives as long as the process, so
once the command's modules are loaded it is frozen: the collector never walks it again (a full
collection while lsprotocol's converter was built cost the server about 25 ms before its
``initialize`` answer). A terminal command also runs its start-up with the collector off
(about 50 ms less); the server does not, as the garbage of its imports would then leave it
holding about 9 MiB more for its whole life."""

from __future__ import annotations

import gc


def starting() -> None:
    """A terminal command begins: no collection until ``started``."""
    gc.disable()


def started() -> None:
    """Start-up is over: freeze what it made and collect from now on."""
    gc.freeze()
    gc.enable()
