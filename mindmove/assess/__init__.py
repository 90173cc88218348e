"""The shell around the functional tests: the live capture and its window (``mindmove assess``).

The analysis lives in :mod:`feedback.assessments`; storing a result in
:mod:`mindmove.store.assessments`.
"""
