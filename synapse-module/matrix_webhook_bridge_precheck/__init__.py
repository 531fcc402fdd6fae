"""Synapse module for matrix-webhook-bridge's before-send callbacks.

homeserver.yaml: modules: [{module: matrix_webhook_bridge_precheck.PrecheckModule, config: {...}}]
"""

from matrix_webhook_bridge_precheck.module import PrecheckModule

__all__ = ["PrecheckModule"]
