"""A PDF progress report for one patient, for the medical record (fpdf2 + matplotlib).

:func:`render_progress_report` reads everything through :mod:`dashboard.queries` (so the
care team is checked and each read is audited), writes one ``prepare_report`` audit entry
(the download itself is audited as ``export_pdf``), and returns the PDF as bytes: a summary
page (sessions, days with data, latest range of motion per motion against the safe range,
pain and breath figures, the functional tests against their published norms) and plots of
range of motion with the safe band, pain before and after, breath rate, walking (cadence and
gait speed) and each functional test with its norm band. Plots are drawn on
matplotlib ``Figure`` objects with the Agg canvas: no pyplot state, no window.

fpdf2's built-in Helvetica covers Latin-1 only, so text is reduced to Latin-1
(:func:`_latin1`) before it is written.
"""

from __future__ import annotations

import io
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from dashboard import charts, function_queries, queries
from mindmove.auth import SignedInUser, audit
from mindmove.store.db import Store
from mindmove.store.models import utcnow

log = logging.getLogger(__name__)

FLAG_TEXT = {
    "range_exceeded_last_session": "moved beyond the safe range last session",
    "practice_dropping_off": "practising less often lately",
    "pain_trending_up": "pain reported a little higher lately",
}
PLOT_DPI = 150
PLOT_SIZE_IN = (7.5, 3.0)
PAGE_MARGIN_MM = 15
IMAGE_WIDTH_MM = 180


@dataclass(frozen=True)
class ReportData:
    """What the report shows, as read from the query layer."""

    patient_code: str
    generated_at: datetime
    sessions: pd.DataFrame
    mobility: pd.DataFrame
    checkins: pd.DataFrame
    breath: pd.DataFrame
    gait: pd.DataFrame
    overview: pd.Series  # the patient's row of dashboard.queries.list_patients
    function: pd.DataFrame = None  # dashboard.function_queries.compute_function_trends


def load_report_data(store: Store, user: SignedInUser, patient_code: str, /, *,
                     now: datetime | None = None) -> ReportData:
    """Read the report's tables (each read access-checked and audited by the query layer)."""
    sessions = queries.list_sessions(store, user, patient_code)  # refuses (audited) before anything else is read
    now = now or utcnow()
    listed = queries.list_patients(store, user, now=now, search=str(patient_code))
    overview = listed[listed["patient_code"] == str(patient_code)].iloc[0]
    return ReportData(
        patient_code=str(patient_code), generated_at=now, overview=overview, sessions=sessions,
        mobility=queries.compute_mobility(store, user, patient_code),
        checkins=queries.compute_checkins(store, user, patient_code),
        breath=queries.compute_breath_trends(store, user, patient_code),
        gait=queries.compute_gait_trends(store, user, patient_code),
        function=function_queries.compute_function_trends(store, user, patient_code),
    )


def _latin1(text: str) -> str:
    return str(text).replace("\u2013", "-").replace("\u2014", "-").encode("latin-1", "replace").decode("latin-1")


def _fmt(value, digits: int = 1) -> str:
    return "-" if value is None or pd.isna(value) else f"{float(value):.{digits}f}"


def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PLOT_DPI, bbox_inches="tight")
    return buf.getvalue()


def _new_figure(title: str, ylabel: str):
    from matplotlib.figure import Figure

    fig = Figure(figsize=PLOT_SIZE_IN)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_title(title, fontsize=11)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("Session date (UTC)")
    ax.grid(True, alpha=0.3)
    fig.autofmt_xdate()
    return fig, ax


def render_rom_plot(mobility: pd.DataFrame, /, *, motion: str) -> bytes:
    """PNG: highest and lowest angle per session over the safe band, for one motion."""
    df = mobility[mobility["motion"] == motion].sort_values("started_at")
    fig, ax = _new_figure(f"{motion.replace('_', ' ')}: angles reached and safe range", "Angle (deg)")
    x = list(df["started_at"].dt.tz_convert(None))
    if df["safe_max_deg"].notna().any():
        ax.fill_between(x, df["safe_min_deg"].astype(float), df["safe_max_deg"].astype(float), step="post",
                        color=charts.GREEN, alpha=0.2, label="safe range")
    if df["max_deg"].notna().any():
        ax.plot(x, df["max_deg"].astype(float), "-o", color=charts.BLUE, label="highest angle")
    if df["min_deg"].notna().any():
        ax.plot(x, df["min_deg"].astype(float), "--s", color=charts.ORANGE, label="lowest angle")
    if not df["max_deg"].notna().any():
        ax.plot(x, df["rom_deg"].astype(float), "-o", color=charts.BLUE, label="range of motion")
    over = df[df["range_exceeded"].astype(bool)]
    if not over.empty:
        ax.plot(list(over["started_at"].dt.tz_convert(None)), over["max_deg"].fillna(over["rom_deg"]).astype(float),
                "x", color=charts.VERMILLION, markersize=10, mew=2.5, label="beyond safe range")
    ax.legend(loc="best", fontsize=8)
    return _png(fig)


def render_pain_plot(checkins: pd.DataFrame, /) -> bytes:
    """PNG: pain before and after each session (0-10)."""
    fig, ax = _new_figure("Pain before and after sessions", "Pain (0-10)")
    x = list(checkins["started_at"].dt.tz_convert(None))
    ax.plot(x, checkins["pain_before"].astype(float), "-o", color=charts.VERMILLION, label="before")
    ax.plot(x, checkins["pain_after"].astype(float), "--s", color=charts.BLUE, label="after")
    ax.set_ylim(-0.3, 10.3)
    ax.legend(loc="best", fontsize=8)
    return _png(fig)


def render_breath_plot(breath: pd.DataFrame, /) -> bytes:
    """PNG: resting and practice breath rate with the pacer target (breaths/min)."""
    fig, ax = _new_figure("Breath rate", "Breaths per minute")
    x = list(breath["started_at"].dt.tz_convert(None))
    ax.plot(x, breath["resting_rate_bpm"].astype(float), "-s", color=charts.ORANGE, label="resting")
    ax.plot(x, breath["rate_bpm"].astype(float), "-o", color=charts.BLUE, label="during practice")
    ax.plot(x, breath["pacer_target_bpm"].astype(float), ":", color=charts.GREY, label="pacer target")
    ax.set_ylim(bottom=0)
    ax.legend(loc="best", fontsize=8)
    return _png(fig)


def render_gait_plot(gait: pd.DataFrame, /) -> bytes:
    """PNG: cadence (steps/min) and gait speed (m/s) per walk."""
    fig, ax = _new_figure("Walking", "Cadence (steps/min)")
    x = list(gait["started_at"].dt.tz_convert(None))
    ax.plot(x, gait["cadence_steps_per_min"].astype(float), "-o", color=charts.BLUE, label="cadence")
    if gait["gait_speed_m_s"].notna().any():
        ax2 = ax.twinx()
        ax2.plot(x, gait["gait_speed_m_s"].astype(float), "--s", color=charts.GREEN, label="gait speed")
        ax2.set_ylabel("Gait speed (m/s)")
        ax2.set_ylim(bottom=0)
        ax2.legend(loc="lower right", fontsize=8)
    ax.legend(loc="lower left", fontsize=8)
    return _png(fig)


def render_function_plot(trend: pd.DataFrame, /, *, title: str, value_label: str) -> bytes:
    """PNG: one functional test over time with the published norm band, mean and cut-off."""
    df = trend.sort_values("started_at")
    fig, ax = _new_figure(title, value_label)
    x = list(df["started_at"].dt.tz_convert(None))
    if df["norm_high"].notna().any():
        low = df["norm_low"].astype(float).fillna(0.0)
        ax.fill_between(x, low, df["norm_high"].astype(float), step="post", color=charts.SKY, alpha=0.25,
                        label="published norm")
    if df["norm_mean"].notna().any():
        ax.step(x, df["norm_mean"].astype(float), where="post", linestyle="--", color=charts.SKY, label="published mean")
    if df["norm_cutoff"].notna().any():
        ax.step(x, df["norm_cutoff"].astype(float), where="post", linestyle=":", color=charts.GREY,
                label="published cut-off")
    ax.plot(x, df["value"].astype(float), "-o", color=charts.BLUE, label=value_label)
    flagged = df[df["flags"].fillna("") != ""]
    if not flagged.empty:
        ax.plot(list(flagged["started_at"].dt.tz_convert(None)), flagged["value"].astype(float), "D",
                markerfacecolor="none", color=charts.VERMILLION, markersize=10, label="check quality")
    ax.set_ylim(bottom=0)
    ax.legend(loc="best", fontsize=7)
    return _png(fig)


def _function_lines(function: pd.DataFrame) -> list[tuple[str, str]]:
    from feedback.assessments import ASSESSMENTS

    lines = []
    for test in [t for t in ASSESSMENTS if t in set(function["test"])]:
        part = function[(function["test"] == test) & function["value"].notna()]
        if part.empty:
            continue
        a = ASSESSMENTS[test]
        first, last = part.iloc[0], part.iloc[-1]
        norm = ("no published norm for this profile" if pd.isna(last["norm_meaning"]) else
                f"norm {_fmt(last['norm_low'])}-{_fmt(last['norm_high'])}" if pd.notna(last["norm_high"]) else
                f"published mean {_fmt(last['norm_mean'], 2)}")
        lines.append((f"{a.title}, first / latest ({a.unit})",
                      f"{_fmt(first['value'], 2)} / {_fmt(last['value'], 2)} ({len(part)} tests; {norm})"))
    return lines


def compute_report_summary(data: ReportData, /) -> list[tuple[str, str]]:
    """The summary lines (label, value) of the report, from the queried tables as they are."""
    s = data.sessions[data.sessions["has_data"]]  # a session that recorded nothing is not practice
    lines = [
        ("Patient code", data.patient_code),
        ("Report generated (UTC)", pd.Timestamp(data.generated_at).strftime("%Y-%m-%d %H:%M")),
        ("Sessions recorded", str(len(s))),
        ("First session (UTC)", "-" if s.empty else s["started_at"].min().strftime("%Y-%m-%d")),
        ("Last session (UTC)", "-" if s.empty else s["started_at"].max().strftime("%Y-%m-%d")),
        (f"Sessions in the last {queries.PERIOD_DAYS} days", str(int(data.overview["sessions_in_period"]))),
        (f"Days with data in the last {queries.PERIOD_DAYS} days", str(int(data.overview["days_with_data_in_period"]))),
    ]
    flags = [text for col, text in FLAG_TEXT.items() if bool(data.overview[col])]
    lines.append(("Worth a gentle check-in", "; ".join(flags) if flags else "nothing flagged"))
    for motion, part in data.mobility.groupby("motion", sort=True):
        first, last = part.iloc[0], part.iloc[-1]
        lines.append((f"{motion.replace('_', ' ')} range of motion, first / latest (deg)",
                      f"{_fmt(first['rom_deg'])} / {_fmt(last['rom_deg'])}"
                      f" (safe range {_fmt(last['safe_min_deg'], 0)} to {_fmt(last['safe_max_deg'], 0)})"))
    if not data.checkins.empty:
        c = data.checkins
        lines.append(("Pain before session, first / latest (0-10)",
                      f"{_fmt(c.iloc[0]['pain_before'], 0)} / {_fmt(c.iloc[-1]['pain_before'], 0)}"))
        lines.append(("Mean pain change within a session (points)", _fmt(c["pain_change"].mean(), 2)))
    if not data.breath.empty:
        b = data.breath.iloc[-1]
        lines.append(("Latest breath rate, resting / practice (breaths/min)",
                      f"{_fmt(b['resting_rate_bpm'])} / {_fmt(b['rate_bpm'])}"))
        lines.append(("Latest pacer agreement (%)", _fmt(b["pacer_agreement_pct"], 0)))
    if not data.gait.empty:
        g = data.gait.iloc[-1]
        lines.append(("Latest cadence (steps/min) / gait speed (m/s)",
                      f"{_fmt(g['cadence_steps_per_min'])} / {_fmt(g['gait_speed_m_s'], 2)}"))
    if data.function is not None and not data.function.empty:
        lines += _function_lines(data.function)
    return lines


# OWASP "CSV injection": a spreadsheet runs a cell starting with one of these as a formula
# (=HYPERLINK(...) in an audit log's username, typed at the sign-in form). The full-width forms
# are read as formulas by some spreadsheets in East Asian locales.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
PLAIN_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")  # text such as "-3.5" is data


def neutralise_cell(value: object, /) -> object:
    """A text cell a spreadsheet would run as a formula, prefixed with ``'`` so it is shown as
    text; numbers (negative ones too) and every other cell unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def _function_plots(function: pd.DataFrame | None) -> list[tuple[str, bytes]]:
    from feedback.assessments import ASSESSMENTS

    if function is None or function.empty:
        return []
    plots = []
    for test in [t for t in ASSESSMENTS if t in set(function["test"])]:
        part = function[(function["test"] == test) & function["value"].notna()]
        if not part.empty:
            a = ASSESSMENTS[test]
            plots.append((f"Function: {a.title}", render_function_plot(part, title=a.title, value_label=a.value_label)))
    return plots


def render_csv(table: pd.DataFrame, /) -> bytes:
    """``table`` as UTF-8 CSV for export: dict and list cells (e.g. gait quality) as JSON text,
    and every text cell neutralised against formula injection (:func:`neutralise_cell`)."""
    out = table.copy()
    for col in out.columns:
        kind = out[col].dtype
        if pd.api.types.is_object_dtype(kind) or pd.api.types.is_string_dtype(kind):  # text (numbers stay numbers)
            out[col] = out[col].map(lambda v: json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v)
            out[col] = out[col].map(neutralise_cell)
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    return out.to_csv(index=False).encode("utf-8")


def render_progress_report(store: Store, user: SignedInUser, patient_code: str, /, *,
                           now: datetime | None = None) -> bytes:
    """The PDF progress report of ``patient_code`` as bytes (access-checked and audited)."""
    from fpdf import FPDF

    data = load_report_data(store, user, patient_code, now=now)
    pdf = FPDF(format="A4")
    pdf.set_margins(PAGE_MARGIN_MM, PAGE_MARGIN_MM)
    pdf.set_auto_page_break(True, margin=PAGE_MARGIN_MM)
    pdf.set_title(_latin1(f"MindMove progress report {data.patient_code}"))
    pdf.set_creator("MindMove")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, _latin1(f"MindMove progress report: patient {data.patient_code}"),
             new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(0, 5, _latin1("Mindful movement programme. Figures come from the session store as recorded by "
                                 "the practice station; times are UTC. For the medical record."),
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 8, "Summary", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    label_w = 110
    for label, value in compute_report_summary(data):
        pdf.cell(label_w, 6, _latin1(label))
        pdf.multi_cell(0, 6, _latin1(value), new_x="LMARGIN", new_y="NEXT")

    plots: list[tuple[str, bytes]] = []
    for motion in sorted(data.mobility["motion"].unique()):
        plots.append((f"Range of motion: {motion.replace('_', ' ')}", render_rom_plot(data.mobility, motion=motion)))
    if not data.checkins.empty:
        plots.append(("Pain", render_pain_plot(data.checkins)))
    if not data.breath.empty:
        plots.append(("Breath", render_breath_plot(data.breath)))
    if not data.gait.empty:
        plots.append(("Walking", render_gait_plot(data.gait)))
    plots += _function_plots(data.function)
    for title, png in plots:
        if pdf.get_y() > pdf.h - 95:
            pdf.add_page()
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(0, 8, _latin1(title), new_x="LMARGIN", new_y="NEXT")
        pdf.image(io.BytesIO(png), w=IMAGE_WIDTH_MM)
    if not plots:
        pdf.ln(4)
        pdf.set_font("Helvetica", "I", 10)
        pdf.cell(0, 6, "No sessions with measurements recorded yet.", new_x="LMARGIN", new_y="NEXT")
    sources = [] if data.function is None else sorted(set(data.function["norm_source"].dropna()))
    if sources:
        pdf.ln(3)
        pdf.set_font("Helvetica", "I", 8)
        pdf.multi_cell(0, 4, _latin1("Published norms are context for the clinician (for the patient's age at each "
                                     "test and sex), never shown to the patient. Sources: " + " ".join(sources)),
                       new_x="LMARGIN", new_y="NEXT")
    out = bytes(pdf.output())
    audit(store, user.username, "prepare_report", patient_code=data.patient_code, client=user.client,
          detail=f"pages={pdf.page_no()} plots={len(plots)}")
    return out
