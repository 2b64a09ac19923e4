# SPDX-License-Identifier: Apache-2.0
"""A function runtime in one call with the Python client: verify the vault
(sim report, pinned platform key), attest as FN with sim evidence, print
secrets.get(SECRET). Used by test_client_mitm.sh.

    client_fn_get.py ADDR PLATFORM_DIR MEASUREMENT_FILE CODE_FILE FN SECRET
Exit 0 and the value on stdout, or 1 and the refusal on stderr."""
import hashlib
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "client", "python"))
import teevault as T  # noqa: E402

addr, plat, mfile, cfile, fn, secret = sys.argv[1:7]
try:
    c = T.Client(addr, token="", transport="ttrpc")
    rep = c.verify_vault(sim_platform_pk=open(os.path.join(plat, "sim_platform.pub"), "rb").read())
    print("vault verified", file=sys.stderr)
    code_hash = hashlib.sha256(open(cfile, "rb").read()).digest()
    with open(mfile, "rb") as f:
        meas = hashlib.sha256(f.read()).digest()
    s = c.attest_function(fn, code_hash, T.SimProducer(plat, measurement=meas), rep)
    sys.stdout.write(s.secrets.get(secret).decode())
except T.TeevaultError as e:
    print(str(e), file=sys.stderr)
    sys.exit(1)
