"""Function: each standard functional test over time, against published norms, with quality flags."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, function_queries, ui
from feedback.assessments import ASSESSMENTS, compute_change

store, user = ui.require_user()
st.title("Function")
code = ui.choose_patient(store, user)
if code is None:
    st.stop()
tests = ui.load_or_stop(function_queries.list_function_tests, store, user, code)
if not tests:
    st.info(f"No functional tests recorded for {code} yet. Run one with 'mindmove assess --patient {code} --test tug'.")
    st.stop()
test = st.selectbox("Test", tests, key="function_test", format_func=lambda t: ASSESSMENTS[t].title if t in ASSESSMENTS else t)
trend = ui.load_or_stop(function_queries.compute_function_trends, store, user, code, test=test)
a = ASSESSMENTS.get(test)
value_label = a.value_label if a else "Result"

known = trend[trend["value"].notna()]
c1, c2, c3 = st.columns(3)
c1.metric("Tests recorded", len(trend))
c2.metric(f"Latest ({a.unit if a else ''})", ui.number_text(known["value"].iloc[-1] if len(known) else None, digits=2))
if a is not None and len(known) >= 2:
    change, improved = compute_change(test, float(known["value"].iloc[0]), float(known["value"].iloc[-1]))
    c3.metric(f"Change since the first ({a.unit})", f"{change:+.2f}",
              help=f"Minimal detectable change {a.mdc.value:g} {a.mdc.unit}: {a.mdc.source}")
    st.caption(("A change at least as large as the minimal detectable change "
                f"({a.mdc.value:g} {a.mdc.unit}) " + ("in the better direction." if improved else "has not been seen."))
               if improved is not None else "")
st.plotly_chart(charts.render_function_chart(trend, title=f"{a.title if a else test} over time",
                                             value_label=value_label),
                width="stretch", theme=None, key="function_chart")
norm_rows = trend[trend["norm_source"].notna()]
if len(norm_rows):
    st.caption("Published norms are context for the clinician, for the patient's age at each test and sex "
               "(from the calibration profile); they are never shown to the patient. Source: "
               + norm_rows["norm_source"].iloc[-1])
else:
    st.caption("No published norm applies: the profile has no birth year (or sex, where the norms are by sex), "
               "or the age is outside the published tables. Set them with 'mindmove profile set'.")
st.caption("A hollow diamond marks a result whose analysis raised a quality flag: read it with care.")
table = pd.DataFrame({
    "Date (UTC)": trend["started_at"].map(ui.date_text),
    value_label: trend["value"],
    "Norm (low - high)": [f"{ui.number_text(lo, digits=1)} - {ui.number_text(hi, digits=1)}"
                          for lo, hi in zip(trend["norm_low"], trend["norm_high"])],
    "Age at test": trend["age_years"],
    "Quality flags": trend["flags"].replace("", "none").str.replace("_", " "),
    "Run by": trend["run_by"],
    "Source": trend["source_kind"] + ": " + trend["source_name"].fillna(""),
    "Pose model": trend["pose_model"],
    "Software": trend["software_version"],
    "Profile version": trend["profile_version"],
})
for field in (a.result_fields if a else ()):
    values = trend["result"].map(lambda r, f=field: (r or {}).get(f))
    if values.notna().any() and field not in ("stands", "time_s", "gait_speed_m_s"):
        table[field.replace("_", " ")] = values
st.dataframe(table, hide_index=True, width="stretch", key="function_table")
notes = trend[trend["notes"].fillna("") != ""]
if len(notes):
    with st.expander("Notes from the analysis"):
        for r in notes.itertuples():
            st.markdown(f"- **{ui.date_text(r.started_at)}**: {r.notes}")
