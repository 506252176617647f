"""The app ``multipolar dashboard`` serves: the policy lab of :mod:`runs.views.dashboard`, loaded in the background.

The Solara server imports its app before it listens.  The policy lab's module loads matplotlib, pandas, the engine
and the schema (about 2.5 s on the 2-core machine of docs/performance.md); imported there, the browser could not
even fetch the page until they were in.  This module is all the server imports: it starts a thread that imports
the policy lab (whose import starts loading the compiled kernels), so that work overlaps the browser's loading of
Solara's own page and scripts, and its :func:`Page` renders the policy lab's page, waiting for that import when it
is not finished yet (Python's import lock: the page's import returns once the thread's is done).
"""

from __future__ import annotations

import threading

import solara

__all__ = ["Page"]


def _load() -> None:
    import runs.views.dashboard  # noqa: F401  (the import is the work: the page's modules, then the kernels)


threading.Thread(target=_load, name="multipolar-load", daemon=True).start()


@solara.component
def Page() -> None:
    from runs.views.dashboard import Page as PolicyLab

    PolicyLab()
