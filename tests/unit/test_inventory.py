"""The personal-data inventory: the YAML shape of the contract, and errors naming the file and dotted path."""

from __future__ import annotations

import pytest
import yaml

from assay.errors import ConfigError
from assay.inventory import ColumnTag, load_inventory, parse_inventory

GOOD = {
    "subject": "customer",
    "stores": [
        {
            "name": "raw_customers",
            "kind": "sql",
            "connection": "demo_db",
            "table": "customers_raw",
            "subject_column": "customer_id",
            "time_column": "created_at",
            "retention_days": 730,
            "erasable": True,
            "columns": {"name": ["personal", "provided"], "email": ["personal", "provided"], "diagnosis": ["phi"]},
        },
        {
            "name": "features",
            "kind": "parquet",
            "path": "/data/features",
            "subject_column": "customer_id",
            "columns": {"zip": ["quasi_identifier"], "email": ["personal"]},
        },
        {
            "name": "predictions",
            "kind": "api",
            "endpoint": "/predictions?customer={subject_id}",
            "subject_column": "customer_id",
            "erasable": False,
            "columns": {"phone": ["personal", "provided"]},
        },
    ],
}


def write(tmp_path, data) -> str:
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def test_a_good_inventory_loads_with_its_helpers(tmp_path):
    inv = load_inventory(write(tmp_path, GOOD))
    assert inv.subject == "customer" and inv.store_names == ["raw_customers", "features", "predictions"]
    assert [s.name for s in inv.erasable_stores()] == ["raw_customers", "features"]
    assert inv.provided_fields() == ["name", "email", "phone"]
    assert [(s.name, c) for s, c in inv.tagged(ColumnTag.PHI)] == [("raw_customers", "diagnosis")]
    assert inv.store("features").columns_tagged("quasi_identifier") == ["zip"]
    assert inv.connections() == ["demo_db"]
    assert inv.store("raw_customers").path is None and inv.store("predictions").retention_days is None
    with pytest.raises(KeyError, match="'nope' is not in the inventory"):
        inv.store("nope")


def bad(path_value, **changes):
    data = {"subject": "customer", "stores": [dict(GOOD["stores"][0])]}
    data["stores"][0].update(changes)
    return data


@pytest.mark.parametrize(
    "data, message",
    [
        (bad(None, extra_key=1), r"stores\[0\]\.extra_key: Extra inputs are not permitted"),
        (bad(None, kind="nosql"), r"stores\[0\]\.kind: Input should be 'sql', 'parquet' or 'api'"),
        (bad(None, table=None), r"stores\[0\]: Value error, a sql store needs table"),
        (bad(None, path="/x"), r"stores\[0\]: Value error, a sql store does not use path"),
        (bad(None, columns={"name": ["secret"]}), r"stores\[0\]\.columns\.name\[0\]: Input should be 'personal'"),
        (bad(None, table="t; DROP TABLE x"), r"stores\[0\]\.table: Value error, 't; DROP TABLE x' is not a plain SQL"),
        (bad(None, retention_days=0), r"stores\[0\]\.retention_days: Input should be greater than 0"),
        (bad(None, time_column=None), r"retention_days needs time_column"),
        (
            {"subject": "c", "stores": [GOOD["stores"][0], GOOD["stores"][0]]},
            r"stores: Value error, store name 'raw_customers' of stores\[1\] is already used by stores\[0\]",
        ),
        (
            {"subject": "c", "stores": [dict(GOOD["stores"][2], endpoint="/p")]},
            r"endpoint '/p' has no \{subject_id\} placeholder",
        ),
        ({"subject": "c", "stores": []}, r"stores: List should have at least 1 item"),
    ],
)
def test_bad_inventories_name_the_file_and_the_dotted_path(tmp_path, data, message):
    path = write(tmp_path, data)
    with pytest.raises(ConfigError, match=message) as info:
        load_inventory(path)
    assert path in str(info.value)


def test_unreadable_or_non_mapping_files_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="cannot read personal-data inventory"):
        load_inventory(tmp_path / "none.yaml")
    (tmp_path / "list.yaml").write_text("- a\n")
    with pytest.raises(ConfigError, match="the top level must be a mapping"):
        load_inventory(tmp_path / "list.yaml")
    (tmp_path / "broken.yaml").write_text("subject: [\n")
    with pytest.raises(ConfigError, match="broken.yaml: not valid YAML"):
        load_inventory(tmp_path / "broken.yaml")
    assert parse_inventory(GOOD).subject == "customer"


def test_the_contract_example_loads_as_written(tmp_path):
    (tmp_path / "inv.yaml").write_text(
        """\
subject: member                        # what one data subject is called
stores:
  - name: raw_members                  # unique
    kind: sql                          # sql | parquet | api
    connection: main_db                # sql: a named store in compliance.stores (resolved by StoreResolver)
    table: members_raw                 # sql
    path: null                         # parquet: file or directory
    endpoint: null                     # api: GET path returning the subject's rows, "{subject_id}" placeholder
    subject_column: member_id
    time_column: created_at            # for retention (optional)
    retention_days: 730                # optional
    erasable: true                     # erasure must remove the subject here
    columns:                           # column -> tags: personal | provided (by the subject) | phi | quasi_identifier
      name: [personal, provided]
      email: [personal, provided]
"""
    )
    inv = load_inventory(tmp_path / "inv.yaml")
    store = inv.store("raw_members")
    assert (store.kind, store.connection, store.table, store.retention_days) == ("sql", "main_db", "members_raw", 730)
    assert inv.provided_fields() == ["name", "email"] and store.columns_tagged(ColumnTag.PERSONAL) == ["name", "email"]
