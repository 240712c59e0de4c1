"""Cursor paging, newest first: a cursor names the last row seen (its time and id), so pages
stay right while rows are added or deleted, unlike an offset."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from demixer.api.errors import ApiError

MAX_LIMIT = 100


def _encode(created: datetime, pk: object) -> str:
    raw = json.dumps([created.isoformat(), str(pk)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, pk = json.loads(raw)
        return datetime.fromisoformat(created), str(uuid.UUID(pk))
    except (ValueError, TypeError, AttributeError, binascii.Error, UnicodeDecodeError):
        raise ApiError(400, "invalid_cursor", "This cursor is not one the API gave.") from None


def page(rows: QuerySet[Any], cursor: str | None, limit: int) -> tuple[list[Any], str | None]:
    """Up to ``limit`` rows after ``cursor`` and the cursor of the next page (None: the last)."""
    rows = rows.order_by("-created", "-pk")
    if cursor:
        created, pk = _decode(cursor)
        if created.tzinfo is None:
            raise ApiError(400, "invalid_cursor", "This cursor is not one the API gave.")
        rows = rows.filter(Q(created__lt=created) | Q(created=created, pk__lt=pk))
    items = list(rows[: limit + 1])
    more = len(items) > limit
    items = items[:limit]
    return items, _encode(items[-1].created, items[-1].pk) if more else None
