import json
import unittest

from matrix_webhook_bridge_precheck.verdict import (
    ALLOW,
    DEFAULT_REJECT_REASON,
    FAILURE_REJECT_REASON,
    BridgeFailure,
    Verdict,
    failure_verdict,
    parse_verdict,
)


def ok(data):
    return parse_verdict(200, json.dumps(data).encode())


class ParseVerdictTest(unittest.TestCase):
    def test_the_four_verdicts(self):
        self.assertEqual(ok({"verdict": "allow"}), ALLOW)
        self.assertEqual(ok({"verdict": "reject", "reason": "no swearing"}), Verdict("reject", reason="no swearing"))
        self.assertEqual(ok({"verdict": "drop", "reason": "quiet"}), Verdict("drop", reason="quiet"))
        content = {"msgtype": "m.text", "body": "***"}
        self.assertEqual(ok({"verdict": "rewrite", "content": content}), Verdict("rewrite", content=content))

    def test_a_refusal_without_reason_gets_a_default(self):
        self.assertEqual(ok({"verdict": "reject"}).reason, DEFAULT_REJECT_REASON)
        self.assertEqual(ok({"verdict": "drop", "reason": "  "}).reason, DEFAULT_REJECT_REASON)

    def test_a_long_reason_is_cut(self):
        self.assertEqual(len(ok({"verdict": "reject", "reason": "x" * 5000}).reason), 1000)

    def test_failures(self):
        cases = [
            (401, b'{"verdict":"allow"}', "HTTP status 401"),
            (204, b"", "HTTP status 204"),
            (200, b"<html>", "not JSON"),
            (200, b"\xff\xfe", "not JSON"),
            (200, b'["allow"]', "not a JSON object"),
            (200, b"{}", "unknown verdict 'NoneType'"),
            (200, b'{"verdict":"maybe"}', "unknown verdict 'maybe'"),
            (200, b'{"verdict":"rewrite"}', "content"),
            (200, b'{"verdict":"rewrite","content":"text"}', "content"),
            (200, b'{"verdict":"reject","reason":7}', "reason"),
        ]
        for status, body, expected in cases:
            with self.subTest(status=status, body=body):
                with self.assertRaises(BridgeFailure) as caught:
                    parse_verdict(status, body)
                self.assertIn(expected, str(caught.exception))


class FailurePolicyTest(unittest.TestCase):
    def test_allow_lets_the_message_through(self):
        self.assertEqual(failure_verdict("allow"), ALLOW)

    def test_reject_refuses_with_a_reason(self):
        self.assertEqual(failure_verdict("reject"), Verdict("reject", reason=FAILURE_REJECT_REASON))


if __name__ == "__main__":
    unittest.main()
