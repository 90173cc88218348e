"""Home practice in the patient's browser (``mindmove serve``); see ``docs/telehealth.md``.

The pose runs in the patient's browser (MediaPipe's web build, the model served by the
clinic); only landmarks and times travel to this server, which runs the same practice
pipeline as the clinic's station (:mod:`feedback.session`) and sends back what to show.

- :mod:`~mindmove.telehealth.access`: invitations, bound devices, revocation.
- :mod:`~mindmove.telehealth.protocol`: the WebSocket messages, checked and refused.
- :mod:`~mindmove.telehealth.live`: one home session (pipeline, recorder, journal).
- :mod:`~mindmove.telehealth.journal`: the landmark journal a restarted server resumes from.
- :mod:`~mindmove.telehealth.host`: where sessions run (in this process, or worker processes).
- :mod:`~mindmove.telehealth.app`: the Starlette application; :mod:`~mindmove.telehealth.server` runs it.
"""
