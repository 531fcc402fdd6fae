"""The module's config (the `config:` of its homeserver.yaml `modules:` entry), checked at Synapse's start."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from synapse.module_api.errors import ConfigError

FAILURE_POLICIES = ("allow", "reject")
DEFAULT_EVENT_TYPES = ("m.room.message", "m.sticker")
DEFAULT_TIMEOUT_SECONDS = 5.0
# A pre-send check holds the sender's request open; longer is a mistake, not a deadline (and stays below
# SimpleHttpClient's own 60 s, so a timeout is always ours).
MAX_TIMEOUT_SECONDS = 30.0
KNOWN_KEYS = ("bridge_url", "secret", "secret_path", "timeout_seconds", "on_bridge_failure", "event_types")


@dataclass(frozen=True)
class PrecheckConfig:
    bridge_url: str
    secret: str
    timeout_seconds: float
    on_bridge_failure: str
    event_types: frozenset[str]

    @property
    def endpoint(self) -> str:
        return self.bridge_url + "/_webhook-bridge/precheck/v1/events"

    def __repr__(self) -> str:  # never print the secret, even in a traceback
        return (
            f"PrecheckConfig(bridge_url={self.bridge_url!r}, secret=<hidden>, timeout_seconds={self.timeout_seconds!r}, "
            f"on_bridge_failure={self.on_bridge_failure!r}, event_types={sorted(self.event_types)!r})"
        )


def parse_config(raw: Any) -> PrecheckConfig:
    """Checks every key; raises ConfigError naming the key, so Synapse refuses to start with a clear message."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("the module's config must be a mapping")
    unknown = sorted(str(k) for k in raw if k not in KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(unknown)}; known: {', '.join(KNOWN_KEYS)}", (unknown[0],))
    return PrecheckConfig(
        bridge_url=_bridge_url(raw.get("bridge_url")),
        secret=_secret(raw.get("secret"), raw.get("secret_path")),
        timeout_seconds=_timeout(raw.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)),
        on_bridge_failure=_policy(raw.get("on_bridge_failure", "allow")),
        event_types=_event_types(raw.get("event_types", list(DEFAULT_EVENT_TYPES))),
    )


def _bridge_url(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError("bridge_url is required: the bridge's base URL, e.g. http://127.0.0.1:9000", ("bridge_url",))
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"bridge_url must be an http(s) URL with a host, got {value!r}", ("bridge_url",))
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError("bridge_url must not carry credentials, a query or a fragment", ("bridge_url",))
    return value.rstrip("/")


def _secret(secret: Any, secret_path: Any) -> str:
    if secret is not None and secret_path is not None:
        raise ConfigError("set either secret or secret_path, not both", ("secret",))
    if secret_path is not None:
        if not isinstance(secret_path, str) or not secret_path:
            raise ConfigError("secret_path must be a file path", ("secret_path",))
        try:
            with open(secret_path, encoding="utf-8") as f:
                secret = f.read().strip()
        except OSError as e:
            raise ConfigError(f"secret_path {secret_path!r} cannot be read: {e.strerror}", ("secret_path",)) from None
        if not secret:
            raise ConfigError(f"secret_path {secret_path!r} is empty", ("secret_path",))
        return secret
    if not isinstance(secret, str) or not secret.strip():
        raise ConfigError("secret (or secret_path) is required: the bridge's callbacks.precheck.secret", ("secret",))
    if any(c in secret for c in "\r\n"):
        raise ConfigError("secret must be one line", ("secret",))
    return secret.strip()


def _timeout(value: Any) -> float:
    # bool is an int in Python: `timeout_seconds: yes` must not mean one second.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_TIMEOUT_SECONDS:
        raise ConfigError(f"timeout_seconds must be a number in (0, {MAX_TIMEOUT_SECONDS:g}], got {value!r}", ("timeout_seconds",))
    return float(value)


def _policy(value: Any) -> str:
    if value not in FAILURE_POLICIES:
        raise ConfigError(f"on_bridge_failure must be one of {', '.join(FAILURE_POLICIES)}, got {value!r}", ("on_bridge_failure",))
    return value


def _event_types(value: Any) -> frozenset[str]:
    if not isinstance(value, list) or not value or not all(isinstance(t, str) and t for t in value):
        raise ConfigError(f"event_types must be a non-empty list of event types, got {value!r}", ("event_types",))
    return frozenset(value)
