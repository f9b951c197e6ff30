"""What a run records about its environment without being asked.

Once per run: git state, software environment and hardware
(:func:`collect_metadata`). While the run lives: console output
(:class:`ConsoleCapture`) and system metrics (:class:`SystemMonitor`).
:class:`CaptureSettings` switches each part on or off.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ragtrack.sdk.capture.console import ConsoleCapture
from ragtrack.sdk.capture.environment import environment_info
from ragtrack.sdk.capture.git import git_info
from ragtrack.sdk.capture.hardware import hardware_info
from ragtrack.sdk.capture.settings import CaptureSettings
from ragtrack.sdk.capture.system_metrics import SystemMonitor

__all__ = [
    "CaptureSettings",
    "ConsoleCapture",
    "SystemMonitor",
    "collect_metadata",
    "environment_info",
    "git_info",
    "hardware_info",
]

logger = logging.getLogger("ragtrack")


def collect_metadata(settings: CaptureSettings, cwd: str | None = None) -> dict[str, Any]:
    """Gather the enabled parts of the run's system metadata; never raises.

    Returns a JSON-serialisable dict with a key per enabled part: ``git`` (for
    the repository containing ``cwd``, default the current directory; ``None``
    outside a repository), ``environment`` (with ``packages`` only when
    ``settings.packages``) and ``hardware``. A part that fails is logged and
    stored as ``{"error": "..."}``, so metadata never costs the user their run.

    Example:
        >>> metadata = collect_metadata(CaptureSettings.resolve({"git": False, "packages": False}))
        >>> sorted(metadata)
        ['environment', 'hardware']
    """
    parts: dict[str, Callable[[], Any]] = {}
    if settings.git:
        parts["git"] = lambda: git_info(cwd, diff_limit_bytes=settings.git_diff_limit_bytes)
    if settings.environment:
        parts["environment"] = lambda: environment_info(include_packages=settings.packages)
    if settings.hardware:
        parts["hardware"] = hardware_info
    metadata: dict[str, Any] = {}
    for name, collect in parts.items():
        try:
            metadata[name] = collect()
        except Exception as e:
            logger.warning("could not record %s metadata: %s", name, e, exc_info=True)
            metadata[name] = {"error": f"{type(e).__name__}: {e}"}
    return metadata
