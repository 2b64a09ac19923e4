# SPDX-License-Identifier: Apache-2.0
"""py_runtime.py's child sandbox: what it stops and what it keeps out."""
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import py_runtime as R  # noqa: E402


def denied(name):
    raise R.T.TeevaultError("permission denied", 7, "denied")


class Sandbox(unittest.TestCase):
    def run_fn(self, code, get=denied, args=(), time_limit=3.0, mem=256 << 20):
        return R.run_sandboxed(code, "f", list(args), get, time_limit, mem)

    def test_seed_function(self):
        with open(os.path.join(HERE, "..", "functions", "fetch_price.py")) as f:
            code = f.read()
        seen = []
        r = R.run_sandboxed(code, "fetch_price_data", ["NEO"],
                            lambda n: seen.append(n) or b"k-1", 5.0, 256 << 20)
        self.assertEqual(r["headers"]["Authorization"], "Bearer k-1")
        self.assertEqual(seen, ["app/price-feed/exchange_api_key"])

    def test_loop_forever_is_stopped(self):
        t0 = time.monotonic()
        with self.assertRaises(R.Stopped) as cm:
            self.run_fn("def f():\n    while True: pass\n", time_limit=1.0)
        self.assertEqual(cm.exception.kind, "timeout")
        self.assertLess(time.monotonic() - t0, 10)

    def test_sleeping_forever_is_stopped(self):
        with self.assertRaises(R.Stopped) as cm:
            self.run_fn("import time\ndef f():\n    time.sleep(3600)\n", time_limit=1.0)
        self.assertEqual(cm.exception.kind, "timeout")

    def test_allocating_too_much_is_stopped(self):
        with self.assertRaises(R.Stopped) as cm:
            self.run_fn("def f():\n    a = []\n    while True: a.append(bytearray(1 << 24))\n",
                        mem=128 << 20, time_limit=10.0)
        self.assertEqual(cm.exception.kind, "memory")

    def test_cannot_write_files_or_see_the_session(self):
        r = self.run_fn("import os\ndef f():\n    try:\n        open('x', 'w').write('y' * 10)\n"
                        "        w = 'wrote'\n    except OSError as e:\n        w = 'refused'\n"
                        "    return [w, dict(os.environ), os.getuid()]\n")
        self.assertEqual(r[0], "refused")
        # an empty environment (Python adds only its own LC_CTYPE coercion): no TEEVAULT_*
        self.assertEqual([k for k in r[1] if k != 'LC_CTYPE'], [])
        if os.geteuid() == 0:
            self.assertEqual(r[2], 65534)  # dropped to nobody

    def test_refused_read_and_protocol_abuse(self):
        r = self.run_fn("def f():\n    try:\n        return secrets.get('app/other')\n"
                        "    except PermissionError as e:\n        return str(e)\n")
        self.assertIn("permission denied", r)
        with self.assertRaises(R.Stopped):
            # printing to the real stdout would corrupt the channel; prints go to stderr
            self.run_fn("import sys\ndef f():\n    sys.__stdout__.write('garbage\\n'); sys.__stdout__.flush()\n")
        r = self.run_fn("def f():\n    print('hello')\n    return 1\n")
        self.assertEqual(r, 1)


if __name__ == "__main__":
    unittest.main()
