"""Programme (admin): attendance, active patients, average change in pain and range."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, queries, ui

store, user = ui.require_user()
st.title("Programme evaluation")
programme = ui.load_or_stop(queries.compute_programme_evaluation, store, user)
c1, c2, c3, c4, c5 = st.columns(5)
c1.metric("Patients", programme.patients_total)
c2.metric(f"Active (last {queries.ACTIVE_DAYS} d)", programme.active_patients)
c3.metric("Sessions", programme.sessions_total)
c4.metric("Pain change (points)", ui.number_text(programme.mean_pain_change, digits=2),
          help="Mean over patients of the change in pain reported before sessions (0-10 scale).")
c5.metric("Range change (deg)", ui.number_text(programme.mean_rom_change_deg, digits=1),
          help="Mean over patients and motions of the change in range of motion.")
st.caption(f"Changes compare the mean of each patient's last {queries.CHANGE_WINDOW_SESSIONS} sessions with their "
           f"first {queries.CHANGE_WINDOW_SESSIONS}; negative pain change means less pain.")
st.plotly_chart(charts.render_attendance_chart(programme.attendance), width="stretch", theme=None,
                key="attendance_chart")
left, right = st.columns(2)
with left:
    st.subheader("Range change per motion")
    ui.show_table(programme.rom_change, key="rom_change_table",
                  column_config={"motion": "Motion", "mean_rom_change_deg": "Mean change (deg)",
                                 "patients": "Patients"})
with right:
    st.subheader("Pain change per patient")
    ui.show_table(programme.pain_change, key="pain_change_table",
                  column_config={"patient_code": "Code", "pain_change": "Change (points)", "checkins": "Check-ins"})

from dashboard import function_queries  # noqa: E402  (the functional tests and check-in outcomes)

st.subheader("Functional change")
change = ui.load_or_stop(function_queries.compute_functional_change, store, user)
st.caption("For each patient with two or more results of the same test: the first against the latest. "
           "Improved means better by at least the test's minimal detectable change (MDC), beyond measurement error.")
st.plotly_chart(charts.render_functional_change_chart(change.per_test), width="stretch", theme=None,
                key="functional_change_chart")
if not change.per_test.empty:
    st.dataframe(change.per_test[["title", "patients", "mean_first", "mean_latest", "mean_change", "improved",
                                  "worsened", "mdc", "unit"]],
                 hide_index=True, width="stretch", key="functional_change_table",
                 column_config={"title": "Test", "patients": "Patients",
                                "mean_first": st.column_config.NumberColumn("Mean first", format="%.2f"),
                                "mean_latest": st.column_config.NumberColumn("Mean latest", format="%.2f"),
                                "mean_change": st.column_config.NumberColumn("Mean change", format="%+.2f"),
                                "improved": "Improved by at least the MDC", "worsened": "Worsened by at least the MDC",
                                "mdc": "MDC", "unit": "Unit"})
    with st.expander("Where each minimal detectable change comes from"):
        for r in change.per_test.itertuples():
            st.markdown(f"- **{r.title}** ({r.mdc:g} {r.unit}): {r.mdc_source}")

st.subheader("Check-ins: pain, mood and satisfaction")
outcomes = ui.load_or_stop(function_queries.compute_checkin_outcomes, store, user)
answered = int(outcomes["satisfaction_answers"].sum()) if len(outcomes) else 0
weights = outcomes["satisfaction_answers"]
mean_satisfaction = (float((outcomes["satisfaction"].fillna(0) * weights).sum() / answered) if answered else None)
s1, s2, s3 = st.columns(3)
s1.metric("Satisfaction after sessions (1-5)", ui.number_text(mean_satisfaction, digits=2),
          help="Mean over every answer to the optional question after a session.")
s2.metric("Satisfaction answers", answered)
s3.metric("Mood after sessions (1-5)", ui.number_text(outcomes["mood_after"].mean() if len(outcomes) else None, digits=2),
          help="Mean over patients of their mean mood after sessions.")
st.dataframe(outcomes, hide_index=True, width="stretch", key="checkin_outcomes_table",
             column_config={"patient_code": "Code", "sessions_with_checkin": "Sessions with a check-in",
                            "pain_before": st.column_config.NumberColumn("Pain before (0-10)", format="%.1f"),
                            "pain_change": st.column_config.NumberColumn("Pain change in a session", format="%+.2f"),
                            "mood_before": st.column_config.NumberColumn("Mood before (1-5)", format="%.1f"),
                            "mood_after": st.column_config.NumberColumn("Mood after (1-5)", format="%.1f"),
                            "satisfaction": st.column_config.NumberColumn("Satisfaction (1-5)", format="%.1f"),
                            "satisfaction_answers": "Satisfaction answers"})
