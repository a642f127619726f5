"""Place pharmacies on the map from their postcodes, with analyst overrides.

Override file (CSV, one row per pharmacy, optional; ``overrides.geocode`` in the config)::

    ods_code,easting,northing,postcode,reason

* ``ods_code`` and ``reason`` are required on every row.
* ``easting`` and ``northing`` (EPSG:27700 metres, both or neither) place the pharmacy directly
  (``geocode_source = "override"``).
* ``postcode`` replaces the list's postcode (a typo or an outdated postcode); the pharmacy is
  then placed from the postcode files as usual. If coordinates are also given they win.

Rows for ODS codes not in the frame being geocoded are not used (the same file serves the
area's list and the cross-border candidates). Every applied override is logged with action
``overridden``.

A pharmacy on the board's list whose postcode places it more than :data:`FAR_OUTSIDE_M` outside
the area is quarantined (its postcode is almost certainly wrong), unless the override file has
a row for it: that row is the analyst's word on where it is.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..crs import BNG as CRS
from ..errors import InputError
from ..io import read_table
from ..loaders.postcodes import normalise_postcode, normalise_postcodes
from ..quality import QualityLog

STAGE = "geocode"
OVERRIDE_COLUMNS = ["ods_code", "easting", "northing", "postcode", "reason"]
#: A board's own pharmacy placed further than this outside its area has a wrong postcode. The
#: outline is generalised (its edge errs by a few hundred metres) and a postcode's point can lie
#: some way from the door, so a little outside is normal (flagged by assign_pharmacies); a wrong
#: postcode that still geocodes lands in another town, tens of km off (CV1 1AA is 30 km from
#: Leicester). 5 km is over three times the outermost default cross-border band (1.5 km).
FAR_OUTSIDE_M = 5_000.0


def read_geocode_overrides(path: Path | None) -> pd.DataFrame:
    """Read and validate a geocode override CSV.

    Returns
    -------
    pandas.DataFrame
        Index ``ods_code``; columns ``easting, northing`` (float or NaN), ``postcode``
        (normalised or None), ``reason``, ``line`` (row in the file).

    Raises
    ------
    InputError
        Missing required columns, a blank ODS code or reason, a repeated ODS code,
        only one of easting/northing, non-numeric or out-of-range coordinates, an invalid
        postcode, or a row that gives neither coordinates nor a postcode.
    """
    empty = pd.DataFrame(columns=["easting", "northing", "postcode", "reason", "line"],
                         index=pd.Index([], name="ods_code"))
    if path is None:
        return empty
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "geocode override file not found (create it with the header "
                         + ",".join(OVERRIDE_COLUMNS) + ")")
    raw = read_table(path)
    for col in ("ods_code", "reason"):
        if col not in raw.columns:
            raise InputError(path, f"column '{col}' missing")
    for col in ("easting", "northing", "postcode"):
        if col not in raw.columns:
            raw[col] = ""
    rows = []
    seen: dict[str, int] = {}
    for i, r in enumerate(raw.itertuples(index=False)):
        line = i + 2
        ods = str(r.ods_code).strip().upper()
        if not ods:
            raise InputError(path, "blank ods_code", row=line)
        if ods in seen:
            raise InputError(path, f"{ods} overridden twice (first at row {seen[ods]})", row=line)
        seen[ods] = line
        if not str(r.reason).strip():
            raise InputError(path, f"{ods}: a reason is required", row=line)
        e_txt, n_txt, pc_txt = str(r.easting).strip(), str(r.northing).strip(), str(r.postcode).strip()
        if bool(e_txt) != bool(n_txt):
            raise InputError(path, f"{ods}: give both easting and northing, or neither", row=line)
        e = n = np.nan
        if e_txt:
            try:
                e, n = float(e_txt), float(n_txt)
            except ValueError:
                raise InputError(path, f"{ods}: easting/northing must be numbers", row=line) from None
            if not (0 < e <= 700_000 and 0 < n <= 1_300_000):
                raise InputError(path, f"{ods}: easting/northing outside Great Britain (EPSG:27700 metres)",
                                 row=line)
        pc = normalise_postcode(pc_txt) if pc_txt else None
        if pc_txt and pc is None:
            raise InputError(path, f"{ods}: postcode '{pc_txt}' is not a valid postcode", row=line)
        if not e_txt and pc is None:
            raise InputError(path, f"{ods}: give easting and northing, or a postcode", row=line)
        rows.append({"ods_code": ods, "easting": e, "northing": n, "postcode": pc,
                     "reason": str(r.reason).strip(), "line": line})
    if not rows:
        return empty
    return pd.DataFrame(rows).set_index("ods_code")


def postcode_index(postcodes: pd.DataFrame) -> pd.DataFrame:
    """The postcode table indexed by postcode (accepts ``postcode`` as a column too)."""
    if "postcode" in postcodes.columns:
        postcodes = postcodes.drop_duplicates("postcode").set_index("postcode")
    for col in ("easting", "northing", "la_code", "source"):
        if col not in postcodes.columns:
            postcodes = postcodes.assign(**{col: np.nan if col in ("easting", "northing") else None})
    return postcodes


def geocode(pharmacies: pd.DataFrame, postcodes: pd.DataFrame, *, overrides_path: Path | None,
            area_code: str, quality: QualityLog, hwb_name: str,
            source_file: str = "pharmaceutical list", area: gpd.GeoDataFrame | None = None,
            max_outside_m: float = FAR_OUTSIDE_M) -> gpd.GeoDataFrame:
    """Locate pharmacies from their postcodes.

    Parameters
    ----------
    pharmacies
        Rows of the pharmaceutical list (``ods_code, hwb, postcode``, optionally ``source_row``).
    postcodes
        :func:`pna.loaders.postcodes.postcode_table`: indexed by postcode.
    overrides_path
        Geocode override CSV (see the module docstring), or None.
    area_code
        The area's local authority code, to flag area pharmacies whose postcode lies elsewhere.
    quality
        Receives quarantined rows (postcode not found or invalid), flagged rows (postcode in
        another authority), overrides, and the accounting (key ``geocode:<hwb_name>``).
    hwb_name
        The board's name as written in the list's ``hwb`` column.
    source_file
        Name used in the exceptions.
    area
        The area's outline (EPSG:27700). If given, the board's pharmacies placed more than
        ``max_outside_m`` outside it are quarantined, unless the override file has a row for them.
    max_outside_m
        See :data:`FAR_OUTSIDE_M`.

    Returns
    -------
    geopandas.GeoDataFrame
        The located rows (input order) with ``easting, northing, geometry`` (EPSG:27700),
        ``geocode_source``, ``postcode_la`` and ``in_area`` (``hwb == hwb_name``) added.
    """
    src = source_file
    df = pharmacies.copy()
    n_in = len(df)
    overrides = read_geocode_overrides(overrides_path)
    ov_name = Path(overrides_path).name if overrides_path is not None else ""
    ods = df["ods_code"].astype(str).str.strip().str.upper()
    rows = df["source_row"] if "source_row" in df.columns else pd.Series([None] * n_in, index=df.index)

    # Postcode replacements first, so the lookup below uses them.
    has_ov = ods.isin(overrides.index).to_numpy()
    pc = normalise_postcodes(df["postcode"])
    for i in np.flatnonzero(has_ov):
        o = overrides.loc[ods.iloc[i]]
        if pd.notna(o["postcode"]) and pd.isna(o["easting"]):
            quality.add(STAGE, ov_name, int(o["line"]), ods.iloc[i],
                        f"postcode {df['postcode'].iloc[i]} replaced by {o['postcode']}: {o['reason']}",
                        field_="postcode", action="overridden")
            pc.iloc[i] = o["postcode"]
            df.iloc[i, df.columns.get_loc("postcode")] = o["postcode"]

    found = postcode_index(postcodes).reindex(pc.where(pc.notna(), ""))
    easting = found["easting"].to_numpy(dtype=float).copy()
    northing = found["northing"].to_numpy(dtype=float).copy()
    source = found["source"].to_numpy(dtype=object).copy()
    postcode_la = found["la_code"].to_numpy(dtype=object).copy()

    for i in np.flatnonzero(has_ov):
        o = overrides.loc[ods.iloc[i]]
        if not pd.isna(o["easting"]):
            quality.add(STAGE, ov_name, int(o["line"]), ods.iloc[i],
                        f"placed at {o['easting']:.0f}, {o['northing']:.0f}: {o['reason']}",
                        field_="easting/northing", action="overridden")
            easting[i], northing[i], source[i] = o["easting"], o["northing"], "override"

    located = ~np.isnan(easting)
    for i in np.flatnonzero(~located):
        raw_pc = df["postcode"].iloc[i]
        reason = (f"postcode '{raw_pc}' is not a valid postcode" if pc.iloc[i] is None
                  else f"postcode {pc.iloc[i]} not found in the postcode files")
        row = rows.iloc[i]
        quality.add(STAGE, src, None if pd.isna(row) else int(row), ods.iloc[i], reason, field_="postcode")

    in_board = ((df["hwb"].astype(str).str.strip() == hwb_name).to_numpy() if "hwb" in df.columns
                else np.ones(n_in, dtype=bool))
    if area is not None:
        ov_file = ov_name or "a geocode override file (overrides.geocode)"
        check = np.flatnonzero(located & in_board & ~has_ov)
        d = np.asarray(shapely.distance(shapely.points(easting[check], northing[check]),
                                        area.geometry.union_all()), dtype=float)
        for i, dist in zip(check[d > max_outside_m], d[d > max_outside_m]):
            row = rows.iloc[i]
            quality.add(STAGE, src, None if pd.isna(row) else int(row), ods.iloc[i],
                        f"postcode {pc.iloc[i]} places it {dist / 1000:.1f} km outside the area boundary "
                        f"(more than {max_outside_m / 1000:g} km), so the postcode is probably wrong; correct it "
                        f"or place the pharmacy in {ov_file}", field_="postcode")
            located[i] = False
    elsewhere = located & in_board & pd.notna(postcode_la) & (postcode_la != area_code)
    for i in np.flatnonzero(elsewhere):
        row = rows.iloc[i]
        quality.add(STAGE, src, None if pd.isna(row) else int(row), ods.iloc[i],
                    f"postcode {pc.iloc[i]} lies in {postcode_la[i]}, not {area_code}; kept on {hwb_name}'s list",
                    field_="postcode", action="flagged")

    quality.account(f"geocode:{hwb_name}", src, n_in, int(located.sum()), int((~located).sum()))
    df["postcode"] = pc.where(pc.notna(), df["postcode"])
    df["easting"], df["northing"] = easting, northing
    df["geocode_source"], df["postcode_la"] = source, postcode_la
    df["in_area"] = in_board  # on the board's list; assign_pharmacies keeps this
    df = df[located]
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["easting"], df["northing"]), crs=CRS)
