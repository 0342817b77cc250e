"""The per-app objects the routes share, kept on ``app.state.services``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request

from serving.audit import AuditLog
from serving.compliance import Compliance
from serving.db import Database
from serving.faults import FaultState
from serving.ratelimit import RateLimiter
from serving.settings import Settings
from serving.timing import TimingBuffer

if TYPE_CHECKING:  # fraud imports torch: only loaded when a model is served
    from fraud import TrainingPipeline


@dataclass
class Services:
    settings: Settings
    db: Database
    audit: AuditLog
    limiter: RateLimiter
    timings: TimingBuffer
    faults: FaultState
    pipeline: TrainingPipeline | None
    compliance: Compliance


async def get_services(request: Request) -> Services:
    return request.app.state.services
