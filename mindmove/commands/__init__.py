"""Command modules: each has ``register(app)``."""
