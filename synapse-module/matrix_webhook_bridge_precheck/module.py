"""The Synapse module: asks the bridge about a message before Synapse accepts it, and enforces the verdict.

Synapse creates a local event in EventCreationHandler.create_new_client_event, which runs the third-party
rules' check_event_allowed (and can replace the event); the send path then runs the spam checkers'
check_event_for_spam (synapse/handlers/message.py, _create_and_send_nonmember_event_locked). So the bridge is
asked once, in check_event_allowed: a rewrite is returned there, a refusal is kept for check_event_for_spam,
which refuses with the bridge's reason as the error the sender sees.
"""

from __future__ import annotations

import logging
from typing import Any

from synapse.module_api import NOT_SPAM, EventBase, ModuleApi, StateMap
from synapse.module_api.errors import Codes

from matrix_webhook_bridge_precheck.client import BridgeClient
from matrix_webhook_bridge_precheck.config import PrecheckConfig, parse_config
from matrix_webhook_bridge_precheck.eligibility import needs_precheck
from matrix_webhook_bridge_precheck.pending import PendingRefusals
from matrix_webhook_bridge_precheck.verdict import BridgeFailure, Verdict, failure_verdict, precheck_request

logger = logging.getLogger(__name__)


class PrecheckModule:
    def __init__(self, config: PrecheckConfig, api: ModuleApi) -> None:
        self._config = config
        self._api = api
        self._bridge = BridgeClient(api, config)
        self._refusals = PendingRefusals()
        api.register_third_party_rules_callbacks(check_event_allowed=self.check_event_allowed)
        api.register_spam_checker_callbacks(check_event_for_spam=self.check_event_for_spam)
        logger.info("before-send checks: asking %s about %s", config.endpoint, ", ".join(sorted(config.event_types)))

    @staticmethod
    def parse_config(config: Any) -> PrecheckConfig:
        return parse_config(config)

    async def check_event_allowed(self, event: EventBase, state: StateMap[EventBase]) -> tuple[bool, dict | None]:
        if not needs_precheck(event.type, self._api.is_mine(event.sender), self._config.event_types, state):
            return True, None
        verdict = await self._verdict(event)
        if verdict.kind == "rewrite":
            # Synapse rebuilds the event from this dict; room, sender, type and origin_server_ts stay, so the bridge
            # still recognises the event it checked (room id + sender + origin_server_ts).
            replacement = event.get_dict()
            replacement["content"] = verdict.content
            return True, replacement
        if verdict.kind in ("reject", "drop"):
            self._refusals.put(event.event_id, verdict)
        return True, None

    async def check_event_for_spam(self, event: EventBase) -> Any:
        verdict = self._refusals.take(event.event_id)
        if verdict is None:
            return NOT_SPAM
        # Synapse copies the dict into the error body, so "error" replaces its generic "probable spam" text.
        return Codes.FORBIDDEN, {"error": verdict.reason}

    async def _verdict(self, event: EventBase) -> Verdict:
        try:
            return await self._bridge.ask(precheck_request(event))
        except BridgeFailure as failure:
            policy = self._config.on_bridge_failure
            logger.warning(
                "before-send check of %s in %s: bridge failure (%s); on_bridge_failure=%s", event.event_id, event.room_id, failure, policy
            )
            return failure_verdict(policy)
