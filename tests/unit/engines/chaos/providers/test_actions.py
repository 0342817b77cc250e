"""The chaos actions refuse what they must not do."""

from __future__ import annotations

import pytest


def test_kill_worker_refuses_a_server_on_another_machine():
    from assay.engines.chaos.providers.actions import kill_worker
    from assay.engines.chaos.providers.target_api import ProbeError

    with pytest.raises(ProbeError, match="not on this machine"):
        kill_worker(base_url="http://192.0.2.1:8000")  # TEST-NET-1: never a local address
