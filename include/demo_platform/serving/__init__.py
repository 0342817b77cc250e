"""Model-serving API of the demo platform: predictions, a model registry, audit trail and test hooks.

Start it with ``python -m serving`` (see README) or build an app in-process with
``serving.app.create_app(Settings(...))``.
"""

from __future__ import annotations
