"""The bridge's answer, as pure functions: HTTP status + body -> Verdict, and the verdict a failure policy gives."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# The bridge speaks these; anything else is a bridge failure.
VERDICTS = ("allow", "reject", "drop", "rewrite")
MAX_REASON_CHARS = 1000
DEFAULT_REJECT_REASON = "Rejected by the room's before-send hook"
FAILURE_REJECT_REASON = "The room's message check is unavailable; the message was not sent"


@dataclass(frozen=True)
class Verdict:
    kind: str  # one of VERDICTS
    reason: str | None = None  # reject / drop: shown to the sender
    content: dict[str, Any] | None = None  # rewrite: the new event content


ALLOW = Verdict("allow")


class BridgeFailure(Exception):
    """The bridge did not give a usable answer; the message names what went wrong (never a secret)."""


def parse_verdict(status: int, body: bytes) -> Verdict:
    """Reads the bridge's answer; raises BridgeFailure for anything but 200 with a well-formed verdict."""
    if status != 200:
        raise BridgeFailure(f"HTTP status {status}, not 200")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BridgeFailure("the answer is not JSON") from None
    if not isinstance(data, dict):
        raise BridgeFailure("the answer is not a JSON object")
    kind = data.get("verdict")
    if kind == "allow":
        return ALLOW
    if kind in ("reject", "drop"):
        reason = data.get("reason")
        if reason is not None and not isinstance(reason, str):
            raise BridgeFailure(f"{kind}: reason is not a string")
        reason = (reason or "").strip()[:MAX_REASON_CHARS] or DEFAULT_REJECT_REASON
        return Verdict(kind, reason=reason)
    if kind == "rewrite":
        content = data.get("content")
        if not isinstance(content, dict):
            raise BridgeFailure("rewrite: content is missing or not an object")
        return Verdict("rewrite", content=content)
    shown = kind if isinstance(kind, str) else type(kind).__name__
    raise BridgeFailure(f"unknown verdict {shown[:40]!r}")


def failure_verdict(policy: str) -> Verdict:
    """What on_bridge_failure decides: let the message through (Tencent's default) or refuse it."""
    if policy == "reject":
        return Verdict("reject", reason=FAILURE_REJECT_REASON)
    return ALLOW


def precheck_request(event: Any) -> dict[str, Any]:
    """The request body: the event as Synapse built it (the fields the protocol names)."""
    fields: dict[str, Any] = {
        "event_id": event.event_id,
        "room_id": event.room_id,
        "sender": event.sender,
        "type": event.type,
        "content": dict(event.content),
        "origin_server_ts": event.origin_server_ts,
    }
    if event.is_state():
        fields["state_key"] = event.state_key
    return {"event": fields}
