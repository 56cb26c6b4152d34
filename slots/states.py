"""The states of a migration request (a module of its own: the CLI reads it without loading the models)."""

from __future__ import annotations

from enum import StrEnum


class RequestStatus(StrEnum):
    """granted and approved hold a slot; refused and cancelled do not."""

    GRANTED = "granted"
    APPROVED = "approved"
    REFUSED = "refused"
    CANCELLED = "cancelled"

    @property
    def holds_slot(self) -> bool:
        return self in (RequestStatus.GRANTED, RequestStatus.APPROVED)
