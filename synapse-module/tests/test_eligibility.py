import unittest
from types import SimpleNamespace

from matrix_webhook_bridge_precheck.eligibility import OUTBOUND_HOOK_TYPE, needs_precheck, room_has_before_hook
from matrix_webhook_bridge_precheck.pending import PendingRefusals
from matrix_webhook_bridge_precheck.verdict import Verdict

TYPES = frozenset({"m.room.message"})


def state(*hooks):
    entries = {("m.room.create", ""): SimpleNamespace(content={})}
    for key, content in hooks:
        entries[(OUTBOUND_HOOK_TYPE, key)] = SimpleNamespace(content=content)
    return entries


class EligibilityTest(unittest.TestCase):
    def test_a_before_hook_under_any_state_key(self):
        self.assertTrue(room_has_before_hook(state(("after", {"phase": "after"}), ("gate", {"phase": "before"}))))

    def test_no_before_hook(self):
        self.assertFalse(room_has_before_hook(state()))
        self.assertFalse(room_has_before_hook(state(("h", {"name": "h", "url": "https://x"}))))
        self.assertFalse(room_has_before_hook(state(("removed", {}))))

    def test_only_local_senders_and_configured_types(self):
        gated = state(("gate", {"phase": "before"}))
        self.assertTrue(needs_precheck("m.room.message", True, TYPES, gated))
        self.assertFalse(needs_precheck("m.reaction", True, TYPES, gated))
        self.assertFalse(needs_precheck("m.room.message", False, TYPES, gated))
        self.assertFalse(needs_precheck("m.room.message", True, TYPES, state()))


class PendingRefusalsTest(unittest.TestCase):
    def test_taken_once(self):
        pending = PendingRefusals()
        pending.put("$a", Verdict("reject", reason="r"))
        self.assertEqual(pending.take("$a"), Verdict("reject", reason="r"))
        self.assertIsNone(pending.take("$a"))

    def test_bounded_oldest_first(self):
        pending = PendingRefusals(limit=2)
        for event_id in ("$1", "$2", "$3"):
            pending.put(event_id, Verdict("drop", reason="r"))
        self.assertEqual(len(pending), 2)
        self.assertIsNone(pending.take("$1"))
        self.assertIsNotNone(pending.take("$3"))


if __name__ == "__main__":
    unittest.main()
