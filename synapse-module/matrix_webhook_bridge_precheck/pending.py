"""Refusals decided in check_event_allowed, waiting for check_event_for_spam (bounded, so a lost one is forgotten)."""

from __future__ import annotations

from collections import OrderedDict

from matrix_webhook_bridge_precheck.verdict import Verdict

MAX_PENDING = 1000


class PendingRefusals:
    """event_id -> Verdict. Synapse calls the two callbacks back to back for one send, so entries are short-lived;
    the bound only matters if a send fails between them, and then the oldest entries go first."""

    def __init__(self, limit: int = MAX_PENDING) -> None:
        self._limit = limit
        self._by_event_id: OrderedDict[str, Verdict] = OrderedDict()

    def put(self, event_id: str, verdict: Verdict) -> None:
        self._by_event_id[event_id] = verdict
        self._by_event_id.move_to_end(event_id)
        while len(self._by_event_id) > self._limit:
            self._by_event_id.popitem(last=False)

    def take(self, event_id: str) -> Verdict | None:
        return self._by_event_id.pop(event_id, None)

    def __len__(self) -> int:
        return len(self._by_event_id)
