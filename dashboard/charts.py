"""Plotly figures for the dashboard: one function per chart, data in, figure out.

Every figure takes a frame from :mod:`dashboard.queries` as it is and computes nothing:
it only draws. Colours are the Okabe-Ito palette (distinguishable with the common forms of
colour blindness) and each series also differs by marker or dash, so no meaning rests on
colour alone. Axis titles carry units; fonts are large enough to read at arm's length.
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

import pandas as pd

# Okabe & Ito (2008), "Color Universal Design".
BLUE = "#0072B2"
ORANGE = "#E69F00"
SKY = "#56B4E9"
GREEN = "#009E73"
VERMILLION = "#D55E00"
PURPLE = "#CC79A7"
GREY = "#555555"
BAND_FILL = "rgba(0, 158, 115, 0.18)"  # bluish green, light: the safe range
NORM_FILL = "rgba(86, 180, 233, 0.22)"  # sky blue, light: a published reference range

GRID = "#DDDDDD"
AXIS_LINE = "#888888"
FONT_SIZE = 15
HEIGHT_PX = 380
TIME_AXIS_TITLE = "Session date"


def _layout(fig: go.Figure, *, title: str, height_px: int = HEIGHT_PX, legend_right: bool = False) -> go.Figure:
    """Shared look. Panel figures (``legend_right``) keep the legend in a column on the right,
    where it cannot run into the title or a panel's own title however many entries it has."""
    legend = ({"orientation": "v", "yanchor": "top", "y": 1.0, "xanchor": "left", "x": 1.02} if legend_right else
              {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0})
    fig.update_layout(
        title={"text": title, "font": {"size": FONT_SIZE + 3}},
        font={"size": FONT_SIZE},
        height=height_px,
        template="plotly_white",
        hovermode="x unified",
        legend=legend,
        margin={"l": 60, "r": 20, "t": 100 if not legend_right else 80, "b": 50},
        plot_bgcolor="white",
        paper_bgcolor="white",
    )
    fig.update_xaxes(showgrid=True, gridcolor=GRID, showline=True, linecolor=AXIS_LINE, ticks="outside")
    fig.update_yaxes(showgrid=True, gridcolor=GRID, showline=True, linecolor=AXIS_LINE, ticks="outside",
                     zeroline=False)
    return fig


def _empty(title: str, note: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=note, showarrow=False, font={"size": FONT_SIZE + 1, "color": GREY},
                       xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, title=title, height_px=200)


def _x(df: pd.DataFrame) -> list:
    return list(df["started_at"])


def _label(motion: str) -> str:
    return motion.replace("_", " ")


def render_rom_chart(mobility: pd.DataFrame, /, *, motion: str) -> go.Figure:
    """Angles reached per session (lowest and highest, deg) over the patient's safe range (band).

    Sessions where the range was exceeded carry a vermillion cross. ``mobility`` is one
    motion's rows of :func:`dashboard.queries.compute_mobility`.
    """
    title = f"{_label(motion).capitalize()}: angles reached and safe range"
    if mobility.empty:
        return _empty(title, "No sessions recorded for this motion yet")
    df = mobility.sort_values("started_at")
    x = _x(df)
    fig = go.Figure()
    if df["safe_max_deg"].notna().any():
        lows, highs = df["safe_min_deg"].dropna().unique(), df["safe_max_deg"].dropna().unique()
        band_name = (f"Safe range {lows[0]:g} to {highs[0]:g} deg" if len(lows) == 1 and len(highs) == 1
                     else "Safe range (deg)")
        fig.add_trace(go.Scatter(x=x, y=df["safe_min_deg"], mode="lines", line={"width": 0, "shape": "hv"},
                                 showlegend=False, hoverinfo="skip", name="safe minimum (deg)"))
        fig.add_trace(go.Scatter(x=x, y=df["safe_max_deg"], mode="lines", line={"width": 0, "shape": "hv"},
                                 fill="tonexty", fillcolor=BAND_FILL, name=band_name,
                                 customdata=df[["safe_min_deg"]], hovertemplate="safe %{customdata[0]:.0f}-%{y:.0f} deg"))
    if df["max_deg"].notna().any():
        fig.add_trace(go.Scatter(x=x, y=df["max_deg"], mode="lines+markers", name="Highest angle (deg)",
                                 line={"color": BLUE, "width": 3}, marker={"size": 9, "symbol": "circle"}))
    if df["min_deg"].notna().any():
        fig.add_trace(go.Scatter(x=x, y=df["min_deg"], mode="lines+markers", name="Lowest angle (deg)",
                                 line={"color": ORANGE, "width": 2, "dash": "dash"}, marker={"size": 8, "symbol": "square"}))
    exceeded = df[df["range_exceeded"].astype(bool)]
    if not exceeded.empty:
        fig.add_trace(go.Scatter(x=_x(exceeded), y=exceeded["max_deg"].fillna(exceeded["rom_deg"]), mode="markers",
                                 name="Beyond safe range", marker={"color": VERMILLION, "size": 15, "symbol": "x"}))
    fig.update_yaxes(title_text="Angle (deg)")
    fig.update_xaxes(title_text=TIME_AXIS_TITLE)
    return _layout(fig, title=title)


def render_rom_amplitude_chart(mobility: pd.DataFrame, /, *, motion: str) -> go.Figure:
    """Range of motion (highest minus lowest angle, deg) per session, as bars."""
    title = f"{_label(motion).capitalize()}: range of motion per session"
    if mobility.empty:
        return _empty(title, "No sessions recorded for this motion yet")
    df = mobility.sort_values("started_at")
    colours = [VERMILLION if bool(e) else BLUE for e in df["range_exceeded"]]
    fig = go.Figure(go.Bar(x=_x(df), y=df["rom_deg"], marker_color=colours, name="Range of motion (deg)",
                           hovertemplate="%{y:.0f} deg"))
    fig.update_yaxes(title_text="Range of motion (deg)", rangemode="tozero")
    fig.update_xaxes(title_text=TIME_AXIS_TITLE)
    return _layout(fig, title=title)


def render_time_in_range_chart(mobility: pd.DataFrame, /, *, motion: str) -> go.Figure:
    """Share of active time spent inside the safe range (%) per session."""
    title = f"{_label(motion).capitalize()}: time within safe range"
    if mobility.empty or mobility["time_in_range_pct"].isna().all():
        return _empty(title, "No time-in-range recorded yet")
    df = mobility.sort_values("started_at")
    fig = go.Figure(go.Scatter(x=_x(df), y=df["time_in_range_pct"], mode="lines+markers", name="Time in range (%)",
                               line={"color": GREEN, "width": 3}, marker={"size": 9}))
    fig.update_yaxes(title_text="Time within range (%)", range=[0, 105])
    fig.update_xaxes(title_text=TIME_AXIS_TITLE)
    return _layout(fig, title=title)


def render_repetitions_chart(repetitions: pd.DataFrame, /, *, motion: str) -> go.Figure:
    """Repetitions per session (bars) for one motion."""
    title = f"{_label(motion).capitalize()}: repetitions per session"
    if repetitions.empty:
        return _empty(title, "No repetitions recorded for this motion yet")
    df = repetitions.sort_values("started_at")
    fig = go.Figure(go.Bar(x=_x(df), y=df["repetitions"], marker_color=SKY, name="Repetitions (count)",
                           hovertemplate="%{y} repetitions"))
    fig.update_yaxes(title_text="Repetitions (count)", rangemode="tozero")
    fig.update_xaxes(title_text=TIME_AXIS_TITLE)
    return _layout(fig, title=title)


def _panel_grid(rows: int, cols: int, titles: list[str]) -> go.Figure:
    return make_subplots(rows=rows, cols=cols, subplot_titles=titles, shared_xaxes=False,
                         vertical_spacing=0.18, horizontal_spacing=0.1)


def render_gait_chart(gait: pd.DataFrame, /, *, flagged: pd.Series | None = None) -> go.Figure:
    """Cadence, gait speed, step-time symmetry and stride-time variability over time.

    ``flagged`` (bool per row, from the analysis's quality flags) draws a hollow vermillion
    diamond on walks whose figures are less certain.
    """
    title = "Walking over time"
    if gait.empty:
        return _empty(title, "No walking analysed yet")
    panels = [("cadence_steps_per_min", "Cadence (steps/min)", BLUE),
              ("gait_speed_m_s", "Gait speed (m/s)", GREEN),
              ("step_time_symmetry", "Step-time symmetry (ratio, 1 = even)", ORANGE),
              ("stride_time_cv_pct", "Stride-time variability (CV %)", PURPLE)]
    fig = _panel_grid(2, 2, [p[1] for p in panels])
    x = _x(gait)
    for i, (col, label, colour) in enumerate(panels):
        r, c = divmod(i, 2)
        fig.add_trace(go.Scatter(x=x, y=gait[col], mode="lines+markers", name=label, line={"color": colour, "width": 3},
                                 marker={"size": 9}, showlegend=False), row=r + 1, col=c + 1)
        if flagged is not None and flagged.any():
            fx = [t for t, f in zip(x, flagged) if f]
            fig.add_trace(go.Scatter(x=fx, y=gait.loc[flagged.values, col], mode="markers", name="Check quality",
                                     marker={"symbol": "diamond-open", "size": 16, "color": VERMILLION,
                                             "line": {"width": 2}}, showlegend=(i == 0)), row=r + 1, col=c + 1)
        fig.update_yaxes(title_text=label.split(" (")[1].rstrip(")"), row=r + 1, col=c + 1)
    return _layout(fig, title=title, height_px=620, legend_right=True)


def render_breath_chart(breath: pd.DataFrame, /) -> go.Figure:
    """Resting and practice breath rate with the pacer target, pacer agreement, and I:E ratio."""
    title = "Breathing over time"
    if breath.empty:
        return _empty(title, "No breathing analysed yet")
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.09,
                        subplot_titles=["Breath rate (breaths/min)", "Agreement with the pacer (%)",
                                        "Exhale : inhale (ratio)"])
    x = _x(breath)
    fig.add_trace(go.Scatter(x=x, y=breath["resting_rate_bpm"], mode="lines+markers", name="Resting rate (breaths/min)",
                             line={"color": ORANGE, "width": 3}, marker={"size": 9, "symbol": "square"}), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=breath["rate_bpm"], mode="lines+markers", name="Practice rate (breaths/min)",
                             line={"color": BLUE, "width": 3}, marker={"size": 9}), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=breath["pacer_target_bpm"], mode="lines", name="Pacer target (breaths/min)",
                             line={"color": GREY, "width": 2, "dash": "dot"}), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=breath["pacer_agreement_pct"], mode="lines+markers", name="Pacer agreement (%)",
                             line={"color": GREEN, "width": 3}, marker={"size": 9, "symbol": "diamond"}), row=2, col=1)
    fig.add_trace(go.Scatter(x=x, y=breath["ie_ratio"], mode="lines+markers", name="Exhale:inhale (ratio)",
                             line={"color": PURPLE, "width": 3}, marker={"size": 9, "symbol": "triangle-up"}), row=3, col=1)
    fig.update_yaxes(title_text="breaths/min", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="%", range=[0, 105], row=2, col=1)
    fig.update_yaxes(title_text="ratio", rangemode="tozero", row=3, col=1)
    fig.update_xaxes(title_text=TIME_AXIS_TITLE, row=3, col=1)
    return _layout(fig, title=title, height_px=720, legend_right=True)


def render_checkins_chart(checkins: pd.DataFrame, /) -> go.Figure:
    """Pain (0-10) and mood (1-5) before and after each session."""
    title = "Check-ins: pain and mood"
    if checkins.empty:
        return _empty(title, "No check-ins recorded yet")
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12,
                        subplot_titles=["Pain (0 none - 10 worst)", "Mood (1 low - 5 good) and satisfaction (1-5)"])
    x = _x(checkins)
    for col, name, colour, dash, symbol, row in (
            ("pain_before", "Pain before (0-10)", VERMILLION, "solid", "circle", 1),
            ("pain_after", "Pain after (0-10)", BLUE, "dash", "square", 1),
            ("mood_before", "Mood before (1-5)", ORANGE, "solid", "circle", 2),
            ("mood_after", "Mood after (1-5)", GREEN, "dash", "square", 2),
            ("satisfaction", "Satisfaction after (1-5)", PURPLE, "dot", "diamond", 2)):
        if col not in checkins or checkins[col].isna().all():
            continue
        fig.add_trace(go.Scatter(x=x, y=checkins[col], mode="lines+markers", name=name,
                                 line={"color": colour, "width": 3, "dash": dash}, marker={"size": 9, "symbol": symbol}),
                      row=row, col=1)
    fig.update_yaxes(title_text="pain (0-10)", range=[-0.3, 10.3], row=1, col=1)
    fig.update_yaxes(title_text="mood (1-5)", range=[0.7, 5.3], row=2, col=1)
    fig.update_xaxes(title_text=TIME_AXIS_TITLE, row=2, col=1)
    return _layout(fig, title=title, height_px=560, legend_right=True)


BREATH_CHANNEL = "breath"


def render_session_chart(samples: pd.DataFrame, cues: pd.DataFrame, /) -> go.Figure:
    """Angle channels (deg) and the breath channel against time in the session (s), with each
    cue drawn as a dotted vertical line labelled by its kind."""
    title = "Session: angles and breath with cues"
    if samples.empty:
        return _empty(title, "No time series stored for this session")
    channels = list(dict.fromkeys(samples["channel"]))
    angles = [c for c in channels if c != BREATH_CHANNEL]
    has_breath = BREATH_CHANNEL in channels
    rows = (1 if angles else 0) + (1 if has_breath else 0)
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    palette = [BLUE, ORANGE, GREEN, PURPLE, SKY, VERMILLION]
    dashes = ["solid", "dash", "dot", "dashdot"]
    for i, ch in enumerate(angles):
        part = samples[samples["channel"] == ch]
        fig.add_trace(go.Scatter(x=part["t_s"], y=part["value"], mode="lines", name=f"{_label(ch.removesuffix('_deg'))} (deg)",
                                 line={"color": palette[i % len(palette)], "width": 2, "dash": dashes[i % len(dashes)]}),
                      row=1, col=1)
    if has_breath:
        part = samples[samples["channel"] == BREATH_CHANNEL]
        fig.add_trace(go.Scatter(x=part["t_s"], y=part["value"], mode="lines", name="Breath",
                                 line={"color": GREEN, "width": 2}), row=rows, col=1)
    for _, cue in cues.iterrows():
        for r in range(1, rows + 1):
            fig.add_vline(x=cue["t_s"], line={"color": VERMILLION, "dash": "dot", "width": 2}, row=r, col=1)
    if not cues.empty:  # one legend entry and hover text for the cues
        fig.add_trace(go.Scatter(x=cues["t_s"], y=[None] * len(cues), mode="markers", name="Cue given",
                                 marker={"color": VERMILLION, "symbol": "line-ns-open", "size": 14}), row=1, col=1)
        top = samples.loc[samples["channel"] != BREATH_CHANNEL, "value"].max() if angles else samples["value"].max()
        fig.add_trace(go.Scatter(x=cues["t_s"], y=[top] * len(cues), mode="markers+text", text=list(cues["kind"]),
                                 textposition="middle right", showlegend=False, name="cue",
                                 customdata=cues[["message_key"]], hovertemplate="cue %{customdata[0]} at %{x:.1f} s",
                                 marker={"color": VERMILLION, "symbol": "triangle-down", "size": 12}), row=1, col=1)
    if angles:
        fig.update_yaxes(title_text="angle (deg)", row=1, col=1)
    if has_breath:
        fig.update_yaxes(title_text="breath (belt signal)", row=rows, col=1)
    fig.update_xaxes(title_text="Time in session (s)", row=rows, col=1)
    return _layout(fig, title=title, height_px=300 + 220 * rows, legend_right=True)


def render_attendance_chart(attendance: pd.DataFrame, /) -> go.Figure:
    """Sessions and distinct patients per week across the programme."""
    title = "Programme attendance per week"
    if attendance.empty:
        return _empty(title, "No sessions in this period")
    x = list(attendance["week_start"])
    fig = go.Figure()
    fig.add_trace(go.Bar(x=x, y=attendance["sessions"], name="Sessions (count)", marker_color=BLUE))
    fig.add_trace(go.Scatter(x=x, y=attendance["patients"], name="Patients practising (count)", mode="lines+markers",
                             line={"color": ORANGE, "width": 3}, marker={"size": 10, "symbol": "diamond"}))
    fig.update_yaxes(title_text="Count per week", rangemode="tozero")
    fig.update_xaxes(title_text="Week starting (Monday, UTC)")
    return _layout(fig, title=title)


def render_function_chart(trend: pd.DataFrame, /, *, title: str, value_label: str) -> go.Figure:
    """One functional test's results over time, with the published norm band for the
    patient's age and sex at each test (light blue, stepped where the age band changes), the
    published mean (dashed) and cut-off (dotted) where there are ones; results whose analysis
    raised a quality flag carry a hollow vermillion diamond. ``trend`` is one test's rows of
    :func:`dashboard.function_queries.compute_function_trends`."""
    if trend.empty:
        return _empty(title, "No results recorded for this test yet")
    df = trend.sort_values("started_at")
    x = _x(df)
    fig = go.Figure()
    if df["norm_high"].notna().any():  # a range; with no lower limit published, from zero
        meaning = df["norm_meaning"].dropna().iloc[0] if df["norm_meaning"].notna().any() else "reference range"
        low = df["norm_low"].astype(float).where(df["norm_high"].notna()).fillna(0.0).where(df["norm_high"].notna())
        fig.add_trace(go.Scatter(x=x, y=low, mode="lines", line={"width": 0, "shape": "hv"}, showlegend=False,
                                 hoverinfo="skip", name="norm low"))
        fig.add_trace(go.Scatter(x=x, y=df["norm_high"].astype(float), mode="lines", line={"width": 0, "shape": "hv"},
                                 fill="tonexty", fillcolor=NORM_FILL, name=f"Published norm: {meaning}",
                                 hoverinfo="skip"))
    if df["norm_mean"].notna().any():
        fig.add_trace(go.Scatter(x=x, y=df["norm_mean"], mode="lines", name="Published mean for age and sex",
                                 line={"color": SKY, "width": 2, "dash": "dash", "shape": "hv"}))
    if df["norm_cutoff"].notna().any():
        fig.add_trace(go.Scatter(x=x, y=df["norm_cutoff"], mode="lines", name="Published cut-off",
                                 line={"color": GREY, "width": 2, "dash": "dot", "shape": "hv"}))
    fig.add_trace(go.Scatter(x=x, y=df["value"], mode="lines+markers", name=value_label,
                             line={"color": BLUE, "width": 3}, marker={"size": 10}))
    flagged = df[df["flags"].fillna("") != ""]
    if not flagged.empty:
        fig.add_trace(go.Scatter(x=_x(flagged), y=flagged["value"], mode="markers", name="Check quality",
                                 marker={"symbol": "diamond-open", "size": 17, "color": VERMILLION,
                                         "line": {"width": 2}}))
    fig.update_yaxes(title_text=value_label, rangemode="tozero")
    fig.update_xaxes(title_text=TIME_AXIS_TITLE)
    return _layout(fig, title=title)


def render_functional_change_chart(per_test: pd.DataFrame, /) -> go.Figure:
    """Per test, how many patients improved or worsened by at least the minimal detectable
    change, and how many changed less (bars)."""
    title = "Functional change: first versus latest test"
    if per_test.empty:
        return _empty(title, "No patient has two results of the same test yet")
    labels = list(per_test["title"])
    unchanged = per_test["patients"] - per_test["improved"] - per_test["worsened"]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=labels, y=per_test["improved"], name="Improved by at least the MDC (patients)",
                         marker_color=GREEN))
    fig.add_trace(go.Bar(x=labels, y=unchanged, name="Changed less than the MDC (patients)", marker_color=GREY,
                         marker_pattern_shape="/"))
    fig.add_trace(go.Bar(x=labels, y=per_test["worsened"], name="Worsened by at least the MDC (patients)",
                         marker_color=ORANGE, marker_pattern_shape="x"))
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title_text="Patients (count)", rangemode="tozero")
    return _layout(fig, title=title)
