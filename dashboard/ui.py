"""What every dashboard page shares: the store, who is signed in, choosing a patient, refusals.

Pages call :func:`require_user` first: it stops the page (shows nothing) when nobody is
signed in, so no page can leak patient data even if reached directly. On every rerun the
signed-in user is checked against the database (:func:`check_signed_in_user`): a user
deactivated since signing in is signed out, a user given another role sees the pages of the
new role, and :data:`IDLE_TIMEOUT_S` without any interaction signs the user out. A patient is
chosen from a selectbox of the user's own patients; ``?patient=CODE`` in the URL preselects
one, and a code outside the user's care team is refused with a calm message and audited (by
:func:`mindmove.auth.require_patient`). URL parameters are checked for type and range before
any query (:func:`requested_patient`, :func:`requested_session`); a malformed one is refused
and audited the same way. Pages load through :func:`load_or_stop`, which turns any
:class:`~core.errors.MindMoveError` into a calm message instead of a traceback.
"""

from __future__ import annotations

import logging
import time

import pandas as pd
import streamlit as st

from dashboard import queries
from dashboard.report import FLAG_TEXT
from mindmove.auth import (
    ACCOUNT_CHANGED, PATIENT_REFUSED, SignedInUser, audit, authenticate, clean_input, parse_session_id, refresh_user,
    require_patient, sign_out,
)
from core.errors import AccessDenied, InputError, MindMoveError, ValidationError
from core.patients import check_patient_code
from mindmove.settings import load_settings
from mindmove.store import open_store
from mindmove.store.db import Store

log = logging.getLogger(__name__)

USER_KEY = "signed_in_user"
ACTIVE_AT_KEY = "last_activity_at"   # wall-clock time (time.time()) of the user's last rerun
NOTICE_KEY = "sign_in_notice"         # why the user was signed out, shown above the sign-in form
_CHECKED_KEY = "user_checked_this_run"
PATIENT_KEY = "patient_code"          # the chosen patient, kept across pages
_SELECT_KEY = "patient_select"        # the selectbox widget
_APPLIED_PARAM_KEY = "patient_param_applied"
PATIENT_PARAM = "patient"
SESSION_PARAM = "session"
IDLE_TIMEOUT_S = 30 * 60              # signed out after 30 minutes without interaction
LOCAL_CLIENT = "local"                # the client key when Streamlit gives no address (loopback, proxy)

IDLE_NOTICE = (f"You were signed out after {IDLE_TIMEOUT_S // 60} minutes without activity, to keep patient "
               "information private. Please sign in again.")
COULD_NOT_LOAD = ("This could not be loaded just now. Please try again in a moment; if it keeps happening, "
                  "ask your administrator to check the dashboard's database.")
SHOWN_AS_IS = (AccessDenied, ValidationError, InputError)  # their messages are written for the user


@st.cache_resource(show_spinner=False)
def _store_for(url: str) -> Store:
    return open_store(url)


def get_store() -> Store:
    """The store named by ``MINDMOVE_DB_URL`` (or the default), opened once per process."""
    return _store_for(load_settings().db_url)


def client_address() -> str:
    """The browser's address as Streamlit sees it, for per-client sign-in limits.

    Streamlit gives no address (``None``) for a loopback or proxied browser; those, and
    anything that is not an address string, share the fixed client :data:`LOCAL_CLIENT`, so
    the per-client limit applies to them too.
    """
    try:
        address = st.context.ip_address
    except (AttributeError, RuntimeError):
        address = None
    return address if isinstance(address, str) and address.strip() else LOCAL_CLIENT


def device_cookie() -> str:
    """The browser's ``mindmove_device`` cookie (set by ``dashboard/server.py``), or ``""``."""
    from dashboard.downloads import DEVICE_COOKIE

    try:
        value = st.context.cookies.get(DEVICE_COOKIE)
    except (AttributeError, RuntimeError):
        value = None
    return value if isinstance(value, str) else ""


def current_user() -> SignedInUser | None:
    """Who the session says is signed in (not checked against the database: see
    :func:`check_signed_in_user`)."""
    user = st.session_state.get(USER_KEY)
    return user if isinstance(user, SignedInUser) else None


def problem_text(exc: MindMoveError, /) -> str:
    """What to show for ``exc``: its own message for refusals and bad input, else a calm
    "could not load" (a store failure's details go to the log, not to the browser)."""
    if isinstance(exc, SHOWN_AS_IS):
        return str(exc)
    log.warning("dashboard: %s: %s", exc.__class__.__name__, exc)
    return COULD_NOT_LOAD


def show_refusal(exc: MindMoveError) -> None:
    """A calm refusal or "could not load" message (:func:`problem_text`); never a traceback."""
    st.warning(problem_text(exc))


def load_or_stop(fn, /, *args, **kwargs):
    """``fn(*args, **kwargs)``; on a :class:`MindMoveError` a calm message and the page stops."""
    try:
        return fn(*args, **kwargs)
    except MindMoveError as exc:
        show_refusal(exc)
        st.stop()


def _end_session_state(notice: str) -> None:
    from dashboard.downloads import GRANTS

    user = current_user()
    if user is not None:
        GRANTS.revoke(user)  # the user's download links in this browser stop working now
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state[NOTICE_KEY] = notice


def check_signed_in_user(*, mark_checked: bool = False) -> SignedInUser | None:
    """The signed-in user as the database has it now, or ``None`` (and signed out).

    Signs out (audited) after :data:`IDLE_TIMEOUT_S` without a rerun, or when the user was
    deactivated; a changed role replaces the one in the session. ``mark_checked`` (the app's
    entry script) lets this run's page skip a second check in :func:`require_user`.
    """
    user = current_user()
    if user is None:
        return None
    state = st.session_state
    now = time.time()
    last = state.get(ACTIVE_AT_KEY)
    store = load_or_stop(get_store)
    if last is not None and now - float(last) > IDLE_TIMEOUT_S:
        load_or_stop(audit, store, user.username, "sign_out_idle", client=user.client,
                     detail=f"idle_s={now - float(last):.0f}")
        _end_session_state(IDLE_NOTICE)
        return None
    fresh = load_or_stop(refresh_user, store, user)
    if fresh is None:
        load_or_stop(audit, store, user.username, "sign_out_inactive", success=False, client=user.client,
                     detail="user deactivated since sign-in")
        _end_session_state(ACCOUNT_CHANGED)
        return None
    if fresh.role != user.role:
        load_or_stop(audit, store, user.username, "role_changed", client=user.client,
                     detail=f"role {user.role} -> {fresh.role} since sign-in")
    state[USER_KEY] = fresh
    state[ACTIVE_AT_KEY] = now
    if mark_checked:
        state[_CHECKED_KEY] = True
    return fresh


def require_user() -> tuple[Store, SignedInUser]:
    """The store and the signed-in user, checked against the database once per rerun;
    stops the page (drawing nothing) when signed out."""
    if st.session_state.pop(_CHECKED_KEY, False):
        user = current_user()  # the app's entry script checked it in this very rerun
    else:
        user = check_signed_in_user()
    if user is None:
        st.info(st.session_state.get(NOTICE_KEY) or "Please sign in to see the dashboard.")
        st.stop()
    return get_store(), user


def render_sign_in() -> None:
    """The sign-in form: the only thing drawn before sign-in. Nothing about patients is read."""
    st.title("MindMove: clinician dashboard")
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        st.info(notice)
    st.write("Sign in with the username and password your administrator gave you.")
    with st.form("sign_in", clear_on_submit=False):
        username = st.text_input("Username", key="sign_in_username", max_chars=200)
        password = st.text_input("Password", type="password", key="sign_in_password", max_chars=200)
        submitted = st.form_submit_button("Sign in")
    if not submitted:
        return
    try:
        user = authenticate(get_store(), username, password, client=client_address(), device=device_cookie())
    except MindMoveError as exc:  # refused, paused after failures, or the store unreachable
        st.error(problem_text(exc))
        return
    st.session_state[USER_KEY] = user
    st.session_state[ACTIVE_AT_KEY] = time.time()
    st.session_state.pop("sign_in_password", None)
    st.rerun()


def render_sign_out(user: SignedInUser) -> None:
    """Who is signed in, and the sign-out button (in the sidebar)."""
    with st.sidebar:
        st.caption(f"Signed in as **{user.display_name or user.username}** ({user.role})")
        if st.button("Sign out", key="sign_out"):
            from dashboard.downloads import GRANTS

            GRANTS.revoke(user)
            load_or_stop(sign_out, get_store(), user)
            for key in list(st.session_state.keys()):
                del st.session_state[key]
            st.query_params.clear()
            st.rerun()


def patient_label(row: pd.Series) -> str:
    name = str(row.get("display_name") or "").strip()
    return f"{row['patient_code']}  ({name})" if name else str(row["patient_code"])


def choose_patient(store: Store, user: SignedInUser, /) -> str | None:
    """The patient to show: a selectbox of the user's own patients, preselected from the URL.

    Returns ``None`` (after a calm message) when the user has no patients, or when the URL
    names a patient outside their care team (refused and audited).
    """
    requested = requested_patient(store, user)
    if requested is False:  # not a patient code at all: refused and audited before any query
        _offer_to_clear(PATIENT_PARAM, "clear_patient_param")
        return None
    # the chooser is not a view of the list's figures: the page audits what it shows
    patients = load_or_stop(queries.list_patients, store, user, audit_view=False)
    codes = list(patients["patient_code"])
    if requested is not None and requested not in codes:
        try:
            require_patient(store, user, requested, action="open_patient_url")
        except MindMoveError as exc:
            show_refusal(exc)
            _offer_to_clear(PATIENT_PARAM, "clear_patient_param")
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


def requested_patient(store: Store, user: SignedInUser, /) -> str | None | bool:
    """``?patient=`` from the URL: ``None`` when absent, the code when it is one (whether the
    user may see it is checked by the caller), ``False`` after refusing (shown, audited) a
    value that is not a patient code, without any query."""
    raw = st.query_params.get(PATIENT_PARAM)
    if raw is None:
        return None
    try:
        return check_patient_code(raw)
    except ValidationError:
        load_or_stop(audit, store, user.username, "open_patient_url", patient_code=clean_input(raw)[:64],
                     success=False, client=user.client, detail="refused: not a patient code")
        show_refusal(AccessDenied(PATIENT_REFUSED))
        return False


def requested_session(store: Store, user: SignedInUser, /) -> int | None | bool:
    """``?session=`` from the URL: ``None`` when absent, the id when it is a whole number in the
    store's range, ``False`` after refusing (shown, audited) anything else, without any query."""
    raw = st.query_params.get(SESSION_PARAM)
    if raw is None:
        return None
    sid = parse_session_id(raw)
    if sid is not None:
        return sid
    load_or_stop(audit, store, user.username, "view_session", success=False, client=user.client,
                 detail=f"session={clean_input(raw)} refused: not a session id")
    st.warning("This session is not one of your care team's, or does not exist. "
               "Choose a session from the patient's list.")
    return False


def _offer_to_clear(param: str, key: str) -> None:
    if st.button("Show my patients instead" if param == PATIENT_PARAM else "Show the newest session", key=key):
        del st.query_params[param]
        st.rerun()


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


# Shown precision by unit, the precision a clinician can act on: rates to 0.1, percentages
# of time or agreement to whole numbers (a coefficient of variation, a few percent, to 0.1),
# angles to 0.1 deg (a goniometer reads to 1-2 deg), speeds and ratios to 0.01. Matched on
# the end of a column's label ("Practice rate (breaths/min)") or name ("rom_deg").
NUMBER_FORMATS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("(CV %)", "_cv_pct"), "%.1f"),
    (("(%)", "_pct"), "%.0f"),
    (("(breaths/min)", "_bpm", "(steps/min)", "_steps_per_min"), "%.1f"),
    (("(deg)", "_deg"), "%.1f"),
    (("(m/s)", "_m_s", "(ratio)", "_ratio", "symmetry"), "%.2f"),
    (("(points)", "_change", "(s)", "_s", "(min)"), "%.1f"),
)


def number_format(column: str, /) -> str | None:
    """The display format of a numeric column, from its unit (None: as it is)."""
    for suffixes, fmt in NUMBER_FORMATS:
        if column.endswith(suffixes):
            return fmt
    return None


def show_table(table: pd.DataFrame, /, *, key: str, column_config: dict | None = None) -> None:
    """``st.dataframe`` with every numeric column shown to the precision of its unit
    (:data:`NUMBER_FORMATS`); the values themselves stay exact (sorting, copying)."""
    config = {}
    for column in table.columns:
        fmt = number_format(str(column))
        if fmt is not None and pd.api.types.is_numeric_dtype(table[column]):
            config[column] = st.column_config.NumberColumn(format=fmt)
    for column, given in (column_config or {}).items():
        if isinstance(given, str) and column in config:  # a label for a formatted column keeps its format
            config[column] = st.column_config.NumberColumn(given, format=number_format(str(column)))
        else:
            config[column] = given
    st.dataframe(table, hide_index=True, width="stretch", key=key, column_config=config)


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
