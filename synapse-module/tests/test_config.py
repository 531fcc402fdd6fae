import os
import tempfile
import unittest

from synapse.module_api.errors import ConfigError

from matrix_webhook_bridge_precheck.config import parse_config

BASE = {"bridge_url": "http://127.0.0.1:9000/", "secret": "s3cret"}


def error_of(raw):
    with unittest.TestCase().assertRaises(ConfigError) as caught:
        parse_config(raw)
    return caught.exception


class ParseConfigTest(unittest.TestCase):
    def test_defaults(self):
        config = parse_config(BASE)
        self.assertEqual(config.bridge_url, "http://127.0.0.1:9000")
        self.assertEqual(config.endpoint, "http://127.0.0.1:9000/_webhook-bridge/precheck/v1/events")
        self.assertEqual(config.secret, "s3cret")
        self.assertEqual(config.timeout_seconds, 5.0)
        self.assertEqual(config.on_bridge_failure, "allow")
        self.assertEqual(config.event_types, frozenset({"m.room.message", "m.sticker"}))

    def test_all_keys(self):
        config = parse_config({**BASE, "timeout_seconds": 1.5, "on_bridge_failure": "reject", "event_types": ["x.y"]})
        self.assertEqual((config.timeout_seconds, config.on_bridge_failure, config.event_types), (1.5, "reject", frozenset({"x.y"})))

    def test_secret_from_file_is_trimmed(self):
        with tempfile.NamedTemporaryFile("w", delete=False) as f:
            f.write("from-file\n")
        try:
            config = parse_config({"bridge_url": "https://bridge.local", "secret_path": f.name})
            self.assertEqual(config.secret, "from-file")
        finally:
            os.unlink(f.name)

    def test_repr_hides_the_secret(self):
        self.assertNotIn("s3cret", repr(parse_config(BASE)))

    def test_errors_name_the_key(self):
        cases = [
            ({"secret": "x"}, "bridge_url"),
            ({**BASE, "bridge_url": "ftp://h"}, "bridge_url"),
            ({**BASE, "bridge_url": "http://"}, "bridge_url"),
            ({**BASE, "bridge_url": "http://u:p@h"}, "bridge_url"),
            ({"bridge_url": "http://h"}, "secret"),
            ({"bridge_url": "http://h", "secret": "  "}, "secret"),
            ({**BASE, "secret_path": "/x"}, "secret"),
            ({"bridge_url": "http://h", "secret_path": "/nonexistent/secret"}, "secret_path"),
            ({**BASE, "timeout_seconds": 0}, "timeout_seconds"),
            ({**BASE, "timeout_seconds": 31}, "timeout_seconds"),
            ({**BASE, "timeout_seconds": True}, "timeout_seconds"),
            ({**BASE, "timeout_seconds": "5"}, "timeout_seconds"),
            ({**BASE, "on_bridge_failure": "drop"}, "on_bridge_failure"),
            ({**BASE, "event_types": []}, "event_types"),
            ({**BASE, "event_types": "m.room.message"}, "event_types"),
            ({**BASE, "event_types": [""]}, "event_types"),
            ({**BASE, "timeout": 5}, "timeout"),
        ]
        for raw, key in cases:
            with self.subTest(raw=raw):
                self.assertEqual(error_of(raw).path, (key,))

    def test_empty_secret_file(self):
        with tempfile.NamedTemporaryFile("w", delete=False) as f:
            f.write("\n")
        try:
            self.assertIn("empty", error_of({"bridge_url": "http://h", "secret_path": f.name}).msg)
        finally:
            os.unlink(f.name)

    def test_not_a_mapping(self):
        self.assertIn("mapping", error_of(["x"]).msg)


if __name__ == "__main__":
    unittest.main()
