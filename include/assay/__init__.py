"""Assay engine package: runs test tools, parses their machine output, stores results.

Nothing in this package imports airflow (``tests/unit/test_layering.py`` enforces it); the Airflow
layer lives in ``plugins/assay_airflow``.
"""

from __future__ import annotations

__version__ = "0.1.0"
