"""What every dashboard page shares: the store, who is signed in, choosing a patient, refusals.

Pages call :func:`require_user` first: it stops the page (shows nothing) when nobody is
signed in, so no page can leak patient data even if reached directly. A patient is chosen
from a selectbox of the user's own patients; ``?patient=CODE`` in the URL preselects one,
and a code outside the user's care team is refused with a calm message and audited (by
:func:`mindmove.auth.require_patient`).
"""

from __future__ import annotations

import logging

import pandas as pd
import streamlit as st

from dashboard import queries
from dashboard.report import FLAG_TEXT
from mindmove.auth import SignedInUser, authenticate, require_patient, sign_out
from mindmove.errors import AccessDenied, MindMoveError
from mindmove.settings import load_settings
from mindmove.store import open_store
from mindmove.store.db import Store

log = logging.getLogger(__name__)

USER_KEY = "signed_in_user"
PATIENT_KEY = "patient_code"          # the chosen patient, kept across pages
_SELECT_KEY = "patient_select"        # the selectbox widget
_APPLIED_PARAM_KEY = "patient_param_applied"
PATIENT_PARAM = "patient"
SESSION_PARAM = "session"


@st.cache_resource(show_spinner=False)
def _store_for(url: str) -> Store:
    return open_store(url)


def get_store() -> Store:
    """The store named by ``MINDMOVE_DB_URL`` (or the default), opened once per process."""
    return _store_for(load_settings().db_url)


def client_address() -> str:
    """The browser's address as Streamlit sees it (for per-client sign-in limits), or ''."""
    try:
        return str(st.context.ip_address or "")
    except (AttributeError, RuntimeError):
        return ""


def current_user() -> SignedInUser | None:
    user = st.session_state.get(USER_KEY)
    return user if isinstance(user, SignedInUser) else None


def require_user() -> tuple[Store, SignedInUser]:
    """The store and the signed-in user; stops the page (drawing nothing) when signed out."""
    user = current_user()
    if user is None:
        st.info("Please sign in to see the dashboard.")
        st.stop()
    return get_store(), user


def render_sign_in() -> None:
    """The sign-in form: the only thing drawn before sign-in. Nothing about patients is read."""
    st.title("MindMove: clinician dashboard")
    st.write("Sign in with the username and password your administrator gave you.")
    with st.form("sign_in", clear_on_submit=False):
        username = st.text_input("Username", key="sign_in_username", max_chars=200)
        password = st.text_input("Password", type="password", key="sign_in_password", max_chars=200)
        submitted = st.form_submit_button("Sign in")
    if not submitted:
        return
    try:
        user = authenticate(get_store(), username, password, client=client_address())
    except MindMoveError as exc:  # refused, paused after failures, or the store unreachable
        st.error(str(exc))
        return
    st.session_state[USER_KEY] = user
    st.session_state.pop("sign_in_password", None)
    st.rerun()


def render_sign_out(user: SignedInUser) -> None:
    """Who is signed in, and the sign-out button (in the sidebar)."""
    with st.sidebar:
        st.caption(f"Signed in as **{user.display_name or user.username}** ({user.role})")
        if st.button("Sign out", key="sign_out"):
            sign_out(get_store(), user)
            for key in list(st.session_state.keys()):
                del st.session_state[key]
            st.query_params.clear()
            st.rerun()


def show_refusal(exc: MindMoveError) -> None:
    """A calm refusal (access or validation); never a traceback."""
    st.warning(str(exc))


def patient_label(row: pd.Series) -> str:
    name = str(row.get("display_name") or "").strip()
    return f"{row['patient_code']}  ({name})" if name else str(row["patient_code"])


def choose_patient(store: Store, user: SignedInUser, /) -> str | None:
    """The patient to show: a selectbox of the user's own patients, preselected from the URL.

    Returns ``None`` (after a calm message) when the user has no patients, or when the URL
    names a patient outside their care team (refused and audited).
    """
    requested = st.query_params.get(PATIENT_PARAM)
    patients = queries.list_patients(store, user)
    codes = list(patients["patient_code"])
    if requested is not None and requested not in codes:
        try:
            require_patient(store, user, requested, action="open_patient_url")
        except AccessDenied as exc:
            show_refusal(exc)
            if st.button("Show my patients instead", key="clear_patient_param"):
                del st.query_params[PATIENT_PARAM]
                st.rerun()
            return None
    if not codes:
        st.info("No patients are in your care team's list yet.")
        return None
    state = st.session_state
    if requested is not None and requested != state.get(_APPLIED_PARAM_KEY):
        state[_APPLIED_PARAM_KEY] = requested
        state[PATIENT_KEY] = requested
    if state.get(PATIENT_KEY) not in codes:
        state[PATIENT_KEY] = codes[0]
    state[_SELECT_KEY] = state[PATIENT_KEY]
    labels = dict(zip(codes, (patient_label(r) for _, r in patients.iterrows())))
    code = st.selectbox("Patient", codes, key=_SELECT_KEY, format_func=labels.get,
                                on_change=_remember_choice)
    state[PATIENT_KEY] = code
    state[_APPLIED_PARAM_KEY] = code
    if st.query_params.get(PATIENT_PARAM) != code:
        st.query_params[PATIENT_PARAM] = code
    return code


def _remember_choice() -> None:
    st.session_state[PATIENT_KEY] = st.session_state[_SELECT_KEY]


def flag_summary(row: pd.Series, /) -> str:
    """The gentle flags of one patient-list row, as words ('' when none)."""
    return "; ".join(text for col, text in FLAG_TEXT.items() if bool(row.get(col)))


def date_text(value) -> str:
    """A UTC timestamp as 'YYYY-MM-DD HH:MM' ('' when missing)."""
    if value is None or pd.isna(value):
        return ""
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")


def number_text(value, /, *, digits: int = 1) -> str:
    """``value`` with ``digits`` decimals, or '-' when missing."""
    if value is None or pd.isna(value):
        return "-"
    return f"{float(value):.{digits}f}"


def optional_text(value, /, *, prefix: str = "") -> str:
    """``prefix + value`` for a non-empty text, '' for a missing one (None, NaN or '')."""
    if value is None or (not isinstance(value, str) and pd.isna(value)) or str(value) == "":
        return ""
    return f"{prefix}{value}"
