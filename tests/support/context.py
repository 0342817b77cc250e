"""A task context for calling ``operator.execute(context)`` directly (the store behind it is real)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TaskInstanceStub:
    dag_id: str = "assay_per_commit"
    run_id: str = "manual__test"
    task_id: str = "task"
    map_index: int = -1
    try_number: int = 1
    xcoms: dict[tuple[str, str], Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[(self.task_id, key)] = value
        if self.map_index >= 0:  # a mapped task's XCom, as the real one keeps it per map index
            self.xcoms[(self.task_id, key, self.map_index)] = value

    def xcom_pull(self, task_ids: str, key: str = "return_value", *, map_indexes: int | None = None) -> Any:
        if map_indexes is not None:
            return self.xcoms.get((task_ids, key, map_indexes))
        return self.xcoms.get((task_ids, key))


def make_context(task_id: str, params: dict | None = None, ti: TaskInstanceStub | None = None, **ti_fields) -> dict:
    ti = ti or TaskInstanceStub(**ti_fields)
    ti.task_id = task_id
    return {"ti": ti, "params": params or {}}
