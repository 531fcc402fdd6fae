"""Asks the bridge over HTTP, with one overall deadline (connect + headers + body)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from twisted.internet import defer, reactor
from twisted.web.client import readBody
from twisted.web.http_headers import Headers

from synapse.http import RequestTimedOutError  # what SimpleHttpClient raises; not part of ModuleApi
from synapse.module_api import ModuleApi, make_deferred_yieldable, run_in_background

from matrix_webhook_bridge_precheck.config import PrecheckConfig
from matrix_webhook_bridge_precheck.verdict import BridgeFailure, Verdict, parse_verdict

# The bridge is trusted and answers a few bytes (the deadline bounds the read); a bigger answer is a fault.
MAX_ANSWER_BYTES = 1024 * 1024


def _plain(value: Any) -> Any:
    # Synapse keeps event content in immutable mappings and tuples, which json cannot encode by itself.
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (tuple, list)):
        return list(value)
    raise TypeError(f"not JSON-serializable: {type(value).__name__}")


def _timed_out(_result: Any, _timeout: float) -> None:
    # Called when our deadline cancelled the request, whatever the cancellation turned into on its way up
    # (Synapse's SimpleHttpClient turns a CancelledError into an IndexError while logging it, in 1.163).
    raise defer.TimeoutError()


class BridgeClient:
    def __init__(self, api: ModuleApi, config: PrecheckConfig) -> None:
        # ModuleApi's client is Synapse's SimpleHttpClient without an IP blocklist: loopback is allowed.
        self._http = api.http_client
        self._url = config.endpoint
        self._timeout = config.timeout_seconds
        self._authorization = b"Bearer " + config.secret.encode("utf-8")

    async def ask(self, request_body: dict[str, Any]) -> Verdict:
        """The bridge's verdict, or BridgeFailure (status, parse error, timeout, connection error)."""
        body = json.dumps(request_body, default=_plain, ensure_ascii=False).encode("utf-8")
        # run_in_background + make_deferred_yieldable is how a module awaits a Deferred under Synapse's log contexts;
        # addTimeout cancels the whole exchange, which closes the connection.
        deferred = run_in_background(self._post, body)
        deferred.addTimeout(self._timeout, reactor, onTimeoutCancel=_timed_out)
        try:
            status, answer = await make_deferred_yieldable(deferred)
        except defer.TimeoutError:
            raise BridgeFailure(f"no answer within {self._timeout:g} s") from None
        except BridgeFailure:
            raise
        except RequestTimedOutError:
            raise BridgeFailure("the connection closed without an answer, twice") from None
        except Exception as e:  # connection refused, reset, DNS…: the type says enough, the text may be long
            raise BridgeFailure(f"request failed: {type(e).__name__}") from None
        return parse_verdict(status, answer)

    async def _post(self, body: bytes) -> tuple[int, bytes]:
        headers = Headers(
            {
                b"Authorization": [self._authorization],
                b"Content-Type": [b"application/json"],
                b"Accept": [b"application/json"],
            }
        )
        try:
            response = await self._http.request("POST", self._url, data=body, headers=headers)
        except RequestTimedOutError:
            # Synapse's pool reuses connections (a new one costs a resolver round trip); one the bridge closed
            # as idle just as we sent fails with ResponseNeverReceived, which SimpleHttpClient reports as this
            # error (our own deadline always fires first, as a cancellation). Once more, same deadline.
            response = await self._http.request("POST", self._url, data=body, headers=headers)
        answer = await make_deferred_yieldable(readBody(response))
        if len(answer) > MAX_ANSWER_BYTES:
            raise BridgeFailure(f"answer of {len(answer)} bytes is too big")
        return response.code, answer

