"""The dashboard's web server: ``streamlit run dashboard/server.py`` (``mindmove dashboard`` does).

Streamlit's own server (``st.App``, Starlette) serving ``app.py``, with two additions of the
dashboard's own (``dashboard/downloads.py``):

- every browser gets a ``mindmove_device`` cookie, which sign-in uses to recognise the
  browsers a user signed in on before (so nobody else's wrong passwords lock them out) and
  which download links are bound to;
- ``/mindmove/download/<token>`` serves an export once, to the signed-in user's own browser,
  for a short time, and audits every fetch (Streamlit's ``/media/`` URLs would serve it to
  anyone holding the link).

``streamlit run dashboard/app.py`` still runs the pages, without those two: sign-in then
counts every browser as unknown, and exports cannot be downloaded.
"""

import streamlit as st
from starlette.middleware import Middleware
from starlette.routing import Route

from dashboard import downloads

app = st.App(
    "app.py",
    routes=[Route(downloads.ROUTE, downloads.serve_download, methods=["GET"])],
    middleware=[Middleware(downloads.DeviceCookieMiddleware)],
)
