"""HTTP routes, one router per concern. Each route's ``name`` is the action the audit trail records."""

from __future__ import annotations
