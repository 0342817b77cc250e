"""Waivers: required expiry, scope globs, validity through the expiry day, unknown controls named."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from assay.engines.compliance.waivers import load_waivers, parse_waivers
from assay.errors import ConfigError

W = {
    "id": "W-1",
    "control": "c-1",
    "scope": "store:legacy_*",
    "justification": "read-only legacy store, deleted in Q1",
    "approver": "ciso",
    "expires": "2027-01-31",
}


def test_a_waiver_covers_its_control_and_scope_through_its_expiry_day():
    (w,) = parse_waivers({"version": 1, "waivers": [W]}).waivers
    assert w.expires == date(2027, 1, 31)
    assert (
        w.covers("c-1", "store:legacy_x") and not w.covers("c-1", "store:raw") and not w.covers("c-2", "store:legacy_x")
    )
    assert not w.expired(datetime(2027, 1, 31, 23, 59, tzinfo=UTC))
    assert w.expired(datetime(2027, 2, 1, 0, 0, tzinfo=UTC))
    everything = parse_waivers({"version": 1, "waivers": [{k: v for k, v in W.items() if k != "scope"}]}).waivers[0]
    assert everything.scope == "*" and everything.covers("c-1", "user:alice")


@pytest.mark.parametrize(
    "data, message",
    [
        (
            {"version": 1, "waivers": [{k: v for k, v in W.items() if k != "expires"}]},
            r"waivers\.yaml: waivers\[0\]\.expires: a waiver needs an expiry date",
        ),
        (
            {"version": 1, "waivers": [W | {"expires": "someday"}]},
            r"waivers\[0\]\.expires: Input should be a valid date",
        ),
        ({"version": 1, "waivers": [W | {"approver": ""}]}, r"waivers\[0\]\.approver: String should have at least 1"),
        ({"version": 1, "waivers": [W, W]}, r"waiver id 'W-1' is also waivers\[0\]"),
        ({"version": 2, "waivers": []}, r"version: Input should be 1"),
        ({"waivers": []}, r"version: Field required"),
        ({"version": 1, "waivers": [W | {"reason": "x"}]}, r"waivers\[0\]\.reason: Extra inputs are not permitted"),
    ],
)
def test_bad_waiver_files_name_the_file_and_path(tmp_path, data, message):
    import yaml

    path = tmp_path / "waivers.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=message):
        load_waivers(path)


def test_no_file_is_no_waiver_and_a_missing_file_or_unknown_control_is_an_error(tmp_path):
    assert load_waivers(None).waivers == []
    with pytest.raises(ConfigError, match="cannot read waiver file"):
        load_waivers(tmp_path / "nope.yaml")
    (tmp_path / "empty.yaml").write_text("")
    with pytest.raises(ConfigError, match="empty waiver file"):
        load_waivers(tmp_path / "empty.yaml")
    waivers = parse_waivers({"version": 1, "waivers": [W]})
    waivers.check_controls({"c-1"})
    with pytest.raises(
        ConfigError, match=r"waivers\[0\]\.control: waiver 'W-1' names control 'c-1', which no framework"
    ):
        waivers.check_controls({"c-2"}, "waivers.yaml")
