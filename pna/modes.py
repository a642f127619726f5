"""Travel modes and methods: one type each, so no module spells them as bare strings."""

from __future__ import annotations

import enum

__all__ = ["Mode", "Method", "MODES", "MODE_WORDS"]


class Mode(enum.StrEnum):
    """A way of travelling to a pharmacy. Values are the names used in tables and config."""

    WALK = "walk"
    DRIVE = "drive"
    TRANSIT = "transit"

    @property
    def words(self) -> str:
        """The mode in plain words ("walking", "driving", "public transport")."""
        return MODE_WORDS[self]

    @property
    def street(self) -> bool:
        """True for modes travelled over the street network (walk, drive)."""
        return self in (Mode.WALK, Mode.DRIVE)


class Method(enum.StrEnum):
    """How an engine makes travel times."""

    NETWORK = "network"
    STRAIGHT_LINE = "straight_line"
    TIMETABLE = "timetable"


#: Modes in report order.
MODES: tuple[Mode, ...] = (Mode.WALK, Mode.DRIVE, Mode.TRANSIT)

MODE_WORDS: dict[Mode, str] = {Mode.WALK: "walking", Mode.DRIVE: "driving", Mode.TRANSIT: "public transport"}
