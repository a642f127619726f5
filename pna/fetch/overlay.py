"""The config overlay ``config/<area>.fetched.yaml`` that ``pna fetch`` writes and ``pna run`` reads.

An overlay rather than an edit of ``config/<area>.yaml``: the analyst's file, its comments
and its history in version control stay as they were, the fetched files (under the git-ignored
``.cache/``) are named only in a file that is itself ignored, and deleting the overlay goes
back to the config alone. :func:`pna.config.load_config` replaces the config's ``network``
entries by the overlay's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..config import overlay_path

__all__ = ["write_overlay", "read_overlay", "overlay_path"]


def read_overlay(config_path: Path) -> dict[str, Any]:
    """The ``network`` block of an existing overlay (empty if there is none or it is unreadable)."""
    path = overlay_path(config_path)
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        return {}
    net = data.get("network") if isinstance(data, dict) else None
    return dict(net) if isinstance(net, dict) else {}


def write_overlay(*, config_path: Path, network: Mapping[str, Any], header: str) -> Path:
    """Write the overlay beside ``config_path`` atomically, with ``header`` as its opening comment.

    Parameters
    ----------
    config_path
        The area config the overlay belongs to.
    network
        The ``network`` block: ``osm_extract`` and ``gtfs`` data sources (paths relative to the
        project root) and ``origins``.
    header
        Lines of text put first, each as a ``#`` comment.

    Returns
    -------
    Path
        The overlay written.
    """
    path = overlay_path(config_path)
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    body = yaml.safe_dump({"network": dict(network)}, sort_keys=True, allow_unicode=True, default_flow_style=False,
                          width=120)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(comment + body, encoding="utf-8", newline="\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
