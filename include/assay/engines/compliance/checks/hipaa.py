"""HIPAA PHI encryption at rest (45 CFR 164.312(a)(2)(iv)): the raw storage of every column the inventory
tags ``phi`` holds ciphertext only.

A stored value counts as encrypted when it matches ``ciphertext_pattern`` (default: a Fernet token, as the
``cryptography`` package writes them); anything else that is not NULL (a date, readable text, a number) is
plaintext and named by its subject.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import Field

from assay.engines.compliance.checks._sql import Params, column, fetch, listed, query_text, reflect
from assay.engines.compliance.model import Outcome, ResourceResult
from assay.engines.compliance.registry import check
from assay.errors import ConfigError, TargetError

if TYPE_CHECKING:
    from assay.engines.compliance.model import CheckContext
    from assay.inventory import InventoryStore

FERNET_TOKEN = r"gAAAAA[A-Za-z0-9_\-]{40,}={0,2}"


class PhiParams(Params):
    ciphertext_pattern: str = FERNET_TOKEN  # a full match means encrypted
    max_rows: int = Field(default=100_000, ge=1)  # per column

    def pattern(self) -> re.Pattern[str]:
        try:
            return re.compile(self.ciphertext_pattern)
        except re.error as exc:
            raise ConfigError(
                f"ciphertext_pattern {self.ciphertext_pattern!r} is not a regular expression: {exc}"
            ) from None


def _encrypted(value: Any, pattern: re.Pattern[str]) -> bool:
    if isinstance(value, bytes | memoryview):
        try:
            value = bytes(value).decode("ascii")
        except UnicodeDecodeError:
            return True  # binary, not text: not readable plaintext
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def _values(ctx: CheckContext, store: InventoryStore, col: str, max_rows: int) -> tuple[list[tuple[Any, Any]], str]:
    if store.kind == "sql":
        from sqlalchemy import select

        engine = ctx.stores.engine(store.connection or "")
        table = reflect(engine, store.table or "", f"store {store.name!r}")
        phi, subject = column(table, col, store.name), column(table, store.subject_column, store.name)
        stmt = select(subject, phi).where(phi.is_not(None)).limit(max_rows)
        rows = fetch(engine, stmt, f"store {store.name!r}")
        return [(r[subject.name], r[phi.name]) for r in rows], query_text(engine, stmt)
    if store.kind == "parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(store.path or "", columns=[store.subject_column, col])
        except (OSError, ValueError) as exc:
            raise TargetError(f"store {store.name!r}: cannot read {store.path}: {exc}") from None
        pairs = [(s, v) for s, v in zip(*(table.column(i).to_pylist() for i in range(2)), strict=True) if v is not None]
        return pairs[:max_rows], f"{store.path}: columns {store.subject_column}, {col}"
    raise TargetError(
        f"store {store.name!r} is an api store: its raw storage cannot be read to verify encryption of {col!r}",
        retryable=False,
    )


@check("hipaa.phi_encryption", title="PHI columns hold no plaintext at rest", params=PhiParams)
def phi_encryption(ctx: CheckContext) -> list[ResourceResult]:
    p = ctx.params if isinstance(ctx.params, PhiParams) else PhiParams()
    if ctx.inventory is None:
        raise ConfigError("hipaa.phi_encryption needs the personal-data inventory: set compliance.inventory")
    pattern = p.pattern()
    tagged = ctx.inventory.tagged("phi")
    if not tagged:
        return [ResourceResult("inventory", Outcome.NOT_APPLICABLE, "the inventory tags no column 'phi'")]
    results = []
    for store, col in tagged:
        resource = f"store:{store.name}.{col}"
        try:
            pairs, source = _values(ctx, store, col, p.max_rows)
        except TargetError as exc:
            if exc.retryable:
                raise
            results.append(ResourceResult(resource, Outcome.ERROR, str(exc)))
            continue
        plain = [(s, v) for s, v in pairs if not _encrypted(v, pattern)]
        content = {
            "values_checked": len(pairs),
            "plaintext_count": len(plain),
            "plaintext_subjects": [str(s) for s, _ in plain[:50]],  # the values themselves are PHI: not kept
            "ciphertext_pattern": p.ciphertext_pattern,
        }
        evidence = [
            ctx.evidence(f"raw values of {store.name}.{col}", "sql" if store.kind == "sql" else "file", source, content)
        ]
        if plain:
            subjects = [str(s) for s, _ in plain]
            message = f"{store.name}.{col} holds {len(plain)} plaintext value(s) of {len(pairs)}: subjects {listed(subjects, 5)}"
            results.append(ResourceResult(resource, Outcome.FAIL, message, evidence))
        else:
            results.append(
                ResourceResult(
                    resource, Outcome.PASS, f"{store.name}.{col}: all {len(pairs)} value(s) encrypted", evidence
                )
            )
    return results


__all__ = ["FERNET_TOKEN", "PhiParams", "phi_encryption"]
