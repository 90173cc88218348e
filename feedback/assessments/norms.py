"""Published reference values for the functional tests (``norms.toml``), by age and sex.

:func:`find_norm` gives the :class:`NormBand` of a test for a person's age and sex, or None
when the published tables do not cover them (younger than the tables, sex not recorded
where the norms are by sex). Norms are context for the clinician: the dashboard draws them
as a band on the trend chart; nothing here is ever shown to the patient.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from core.errors import InputError

SEXES = ("female", "male")
CUTOFF_SIDES = ("below", "above", "at_or_above")


@dataclass(frozen=True)
class NormBand:
    """One row of ``norms.toml`` for one test, resolved to its sources' full citations."""

    norms_key: str
    unit: str
    age: tuple[int, int]
    sex: str
    low: float | None
    high: float | None
    mean: float | None
    cutoff: float | None
    cutoff_worse: str | None
    band_meaning: str
    cutoff_meaning: str
    source: str
    cutoff_source: str | None

    def label(self) -> str:
        """Short text for a chart legend: what the band is and for whom."""
        who = "" if self.sex == "any" else f"{self.sex}, "
        return f"{self.band_meaning} ({who}{self.age[0]}-{self.age[1]} y)"


def _check(data: dict, origin: str) -> None:
    sources = data.get("sources", {})
    for key, table in data.items():
        if key == "sources":
            continue
        for row in table.get("bands", []):
            if row.get("sex") not in (*SEXES, "any") or len(row.get("age", ())) != 2:
                raise InputError(f"The norms file {origin}: {key} has a row without a valid sex or age range: {row}.")
            for src in (row.get("source"), row.get("cutoff_source")):
                if src is not None and src not in sources:
                    raise InputError(f"The norms file {origin}: {key} cites {src!r}, which is not in [sources].")
            if row.get("cutoff_worse") not in (None, *CUTOFF_SIDES):
                raise InputError(f"The norms file {origin}: {key} has cutoff_worse {row.get('cutoff_worse')!r}.")


@lru_cache(maxsize=2)
def load_norms(path: str | None = None, /) -> dict:
    """The parsed norms (the shipped ``norms.toml`` unless ``path``), checked."""
    if path is None:
        text = resources.files("feedback.assessments").joinpath("norms.toml").read_text("utf-8")
        origin = "shipped with MindMove"
    else:
        text, origin = Path(path).read_text("utf-8"), str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"The norms file {origin} is not valid TOML: {exc}.") from exc
    _check(data, origin)
    return data


def find_norm(norms_key: str | None, /, *, age_years: int | None, sex: str | None,
              path: str | None = None) -> NormBand | None:
    """The band for ``age_years`` and ``sex``, or None when the tables do not cover them."""
    if norms_key is None or age_years is None:
        return None
    data = load_norms(path)
    table = data.get(norms_key)
    if table is None:
        return None
    sources = data["sources"]
    for row in table.get("bands", []):
        lo, hi = row["age"]
        if not lo <= age_years <= hi or (row["sex"] != "any" and row["sex"] != sex):
            continue
        return NormBand(norms_key, table.get("unit", ""), (lo, hi), row["sex"], row.get("low"), row.get("high"),
                        row.get("mean"), row.get("cutoff"), row.get("cutoff_worse"), table.get("band_meaning", ""),
                        table.get("cutoff_meaning", ""), sources[row["source"]],
                        sources.get(row.get("cutoff_source")) if row.get("cutoff_source") else None)
    return None
