"""Which events the bridge is asked about: pure checks on the event and the room's state at it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Hookshot's outbound-hook state type; `phase: before` marks a before-send callback (see the bridge's README).
OUTBOUND_HOOK_TYPE = "uk.half-shot.matrix-hookshot.outbound-hook"


def room_has_before_hook(state: Mapping[tuple[str, str], Any]) -> bool:
    """True when the state holds an outbound hook (any state_key) whose content says phase: before."""
    for (event_type, _state_key), state_event in state.items():
        if event_type == OUTBOUND_HOOK_TYPE and state_event.content.get("phase") == "before":
            return True
    return False


def needs_precheck(event_type: str, sender_is_local: bool, event_types: frozenset[str], state: Mapping[tuple[str, str], Any]) -> bool:
    """Cheap tests first: most events are of another type and never look at the state."""
    # A remote server has already accepted (and maybe shown) its own users' events: no veto is possible there.
    return event_type in event_types and sender_is_local and room_has_before_hook(state)
