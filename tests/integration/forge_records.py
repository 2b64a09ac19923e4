# SPDX-License-Identifier: Apache-2.0
"""The host's tools against a vault's LMDB file (tests/integration attacker tests).

The attacker can read and write the state directory but holds no key. These
helpers read and write named databases of data.mdb with the LMDB command-line
tools (mdb_dump / mdb_load, package lmdb-utils), also while teevaultd runs
(LMDB's lock file serialises the writers), and build records the way the
code writes them:

  - old layout (store format 1): the table's own payload, first byte 0x01;
  - current layout (vault_record.h): 0x02 | u64be state version | payload |
    tag[32]. Without the root key the attacker cannot compute the tag; the
    forger copies the header of a record it sees and puts random bytes there.

forge() picks the layout of the records already in the table, so the same
attack runs against the old code (where it works) and the new (refused).

Usage (python3 forge_records.py CMD ...):
  dump ENV DB                      hex key=value per line
  put ENV DB KEYHEX VALHEX         write one raw value
  get ENV DB KEY                   print the raw value under text KEY (hex), or nothing
  set ENV DB KEY VALHEX            write one raw value under text KEY
  token ENV                        forge a root token record, print the token
  policy ENV NAME TEXT             overwrite policy NAME with TEXT
  copy SRCENV DSTENV DB KEY [NEWKEY]   copy a raw record (another vault's)
  repoint ENV NAME OLDHEX NEWHEX   replace a function's measurement in place
"""
import base64
import hashlib
import os
import struct
import subprocess
import sys
import tempfile
import time


def dump(env, db):
    out = subprocess.run(["mdb_dump", "-s", db, env], check=True, capture_output=True,
                         text=True).stdout
    lines = out.splitlines()
    i = lines.index("HEADER=END") + 1
    recs = {}
    while i < len(lines) and lines[i] != "DATA=END":
        k = bytes.fromhex(lines[i].strip())
        v = bytes.fromhex(lines[i + 1].strip())
        recs[k] = v
        i += 2
    return recs


def load(env, db, items):
    with tempfile.NamedTemporaryFile("w", delete=False, suffix=".txt") as f:
        f.write("VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n")
        for k, v in items:
            f.write(" %s\n %s\n" % (k.hex(), v.hex()))
        f.write("DATA=END\n")
        path = f.name
    try:
        subprocess.run(["mdb_load", "-s", db, "-f", path, env], check=True,
                       capture_output=True)
    finally:
        os.unlink(path)


def layout_of(env, db):
    """'v2' when the table holds current-layout records (first byte 2)."""
    for v in dump(env, db).values():
        return "v2" if v[:1] == b"\x02" else "v1"
    return "v1"


def wrap(env, db, payload):
    """Dress a payload the way the table's records look (see module doc)."""
    if layout_of(env, db) == "v1":
        return payload
    sv = 1
    for v in dump(env, db).values():
        if len(v) >= 9 and v[:1] == b"\x02":
            sv = max(sv, struct.unpack(">Q", v[1:9])[0])
    return b"\x02" + struct.pack(">Q", sv) + payload + os.urandom(32)


def lv(b):
    return struct.pack(">I", len(b)) + b


def forge_token(env):
    raw = os.urandom(32)
    tid = hashlib.sha256(b"teevault-token-id-v1\0" + raw).hexdigest()[:16].encode()
    h = hashlib.sha256(b"teevault-token-v1\0" + raw).digest()
    now = int(time.time())
    payload = (b"\x01" + h + struct.pack(">QQ", now, 0) + b"\x01" + lv(b"") + lv(b"forged") +
               struct.pack(">I", 0))
    load(env, "tokens", [(tid, wrap(env, "tokens", payload))])
    return "tvs." + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def forge_policy(env, name, text):
    payload = b"\x01" + struct.pack(">Q", int(time.time())) + text.encode()
    load(env, "policies", [(name.encode(), wrap(env, "policies", payload))])


def copy(src, dst, db, key, newkey=None):
    v = dump(src, db)[key.encode()]
    load(dst, db, [((newkey or key).encode(), v)])


def repoint(env, name, old, new):
    v = dump(env, "functions")[name.encode()]
    for a, b in ((bytes.fromhex(old), bytes.fromhex(new)), (old.encode(), new.encode())):
        if a in v:
            load(env, "functions", [(name.encode(), v.replace(a, b))])
            return
    sys.exit("measurement not found in the function record")


def main(argv):
    cmd = argv[1]
    if cmd == "dump":
        for k, v in dump(argv[2], argv[3]).items():
            print("%s=%s" % (k.hex(), v.hex()))
    elif cmd == "put":
        load(argv[2], argv[3], [(bytes.fromhex(argv[4]), bytes.fromhex(argv[5]))])
    elif cmd == "get":
        v = dump(argv[2], argv[3]).get(argv[4].encode())
        if v is not None:
            print(v.hex())
    elif cmd == "set":
        load(argv[2], argv[3], [(argv[4].encode(), bytes.fromhex(argv[5]))])
    elif cmd == "token":
        print(forge_token(argv[2]))
    elif cmd == "policy":
        forge_policy(argv[2], argv[3], argv[4])
    elif cmd == "copy":
        copy(argv[2], argv[3], argv[4], argv[5], argv[6] if len(argv) > 6 else None)
    elif cmd == "repoint":
        repoint(argv[2], argv[3], argv[4], argv[5])
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
