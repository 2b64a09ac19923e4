# SPDX-License-Identifier: Apache-2.0
"""The audit chain and journal formats (docs/AUDIT.md), in Python, for tests
that do what an attacker on the host would do to audit.journal, and for the
fuzz seeds of tests/fuzz/corpus/audit_journal (gen_seeds below).

    canonical(seq, time_ns, principal, method, ...)   canonical record bytes
    chain_hash(prev, canon)                            BLAKE2b-256 chain hash
    decode(canon) -> dict                              its fields
    sealed(prev, seq, **fields) -> (value, hash)       canonical | prev | hash
    frame(first, values, key=None, magic=b"TVJ2")      one journal frame; with
                                                       key=None the trailer is
                                                       an unkeyed BLAKE2b (all
                                                       a forger without the key
                                                       can compute)
    frames(data) -> [(off, first, count, values)]      parse from offset 0
"""
import hashlib
import struct

DOMAIN_REC = b"teevault-audit-record-v1\0"
HDR = 4 + 4 + 8 + 4
SUM = 32
MAGICS = (b"TVJ2", b"TVAJ")


def _lv(b):
    if isinstance(b, str):
        b = b.encode()
    return struct.pack(">I", len(b)) + b


def canonical(seq, time_ns=1, principal="anonymous", method="", secret="", version=0,
              status=0, request_id="", peer="unix", detail=""):
    return (b"\x01" + struct.pack(">Qq", seq, time_ns) + _lv(principal) + _lv(method) +
            _lv(secret) + struct.pack(">QI", version, status) + _lv(request_id) + _lv(peer) +
            _lv(detail))


def decode(canon):
    """canonical bytes -> dict of the fields (the inverse of canonical())."""
    assert canon[0] == 1
    seq, time_ns = struct.unpack(">Qq", canon[1:17])
    p, out = 17, {"seq": seq, "time_ns": time_ns}

    def lv():
        nonlocal p
        (n,) = struct.unpack(">I", canon[p:p + 4])
        v = canon[p + 4:p + 4 + n].decode("latin-1")
        p += 4 + n
        return v
    out["principal"], out["method"], out["secret"] = lv(), lv(), lv()
    out["version"], out["status"] = struct.unpack(">QI", canon[p:p + 12])
    p += 12
    out["request_id"], out["peer"], out["detail"] = lv(), lv(), lv()
    assert p == len(canon)
    return out


def chain_hash(prev, canon):
    return hashlib.blake2b(DOMAIN_REC + prev + canon, digest_size=32).digest()


def sealed(prev, seq, **fields):
    c = canonical(seq, **fields)
    h = chain_hash(prev, c)
    return c + prev + h, h


def frame(first, values, key=None, magic=b"TVJ2"):
    payload = b"".join(struct.pack(">I", len(v)) + v for v in values)
    body = magic + struct.pack(">IQI", len(payload), first, len(values)) + payload
    if key is None:
        mac = hashlib.blake2b(body, digest_size=32).digest()
    else:
        mac = hashlib.blake2b(body, digest_size=32, key=key).digest()
    return body + mac


def frames(data):
    """The frames from offset 0 up to the first offset without one."""
    out, off = [], 0
    while off + HDR <= len(data) and data[off:off + 4] in MAGICS:
        ln, first, count = struct.unpack(">IQI", data[off + 4:off + HDR])
        if off + HDR + ln + SUM > len(data):
            break
        p, vals = off + HDR, []
        for _ in range(count):
            (vl,) = struct.unpack(">I", data[p:p + 4])
            vals.append(data[p + 4:p + 4 + vl])
            p += 4 + vl
        out.append((off, first, count, vals))
        off += HDR + ln + SUM
    return out


def gen_seeds(outdir):
    """Seeds for fuzz_audit_journal: u64 head | head hash | file bytes, with
    the fuzz target's key (32 x 0x11)."""
    import os
    key = b"\x11" * 32
    z = b"\0" * 32
    recs, h = [], z
    for s in range(1, 6):
        v, h = sealed(h, s, principal="user:alice", method="teevault.v1.Secrets/Get",
                      secret="app/db", version=1)
        recs.append((v, h))
    f1 = frame(1, [recs[0][0], recs[1][0]], key)
    f2 = frame(3, [recs[2][0]], key)
    f3 = frame(4, [recs[3][0], recs[4][0]], key)
    head0 = struct.pack(">Q", 0) + z
    seeds = {
        "v2_two_frames": head0 + f1 + f2 + b"\0" * 64,
        "v2_erased_middle": head0 + f1 + b"\0" * len(f2) + f3,
        "v2_reordered": head0 + f1 + f3 + f2,
        "v2_forged_tail": head0 + f1 + f2 + frame(4, [recs[3][0]], None),
        "v2_stale_after_reset": struct.pack(">Q", 3) + recs[2][1] + f3 + f2[len(f3):] + f1,
        "v2_wrong_head": struct.pack(">Q", 0) + recs[0][1] + f1,
        "v2_straddle": struct.pack(">Q", 1) + recs[0][1] + f1 + f2,
        "v2_magic_in_payload": head0 + frame(1, [sealed(z, 1, secret="TVJ2TVJ2")[0]], key),
    }
    for name, data in seeds.items():
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    import sys
    gen_seeds(sys.argv[1])
