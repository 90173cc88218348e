"""The vocabulary every layer shares: error types, value types, identifier checks.

Nothing here imports anything else of MindMove, so ``sensing``, ``feedback``,
``calibration``, the store, the command line and the dashboard can all stand on it.
"""
