# SPDX-License-Identifier: Apache-2.0
"""Audit-store helpers for test_audit_archive.sh (standard library only).

  audit_fill.py SOCK TOKEN_FILE fill N
      N Secrets.Get of keep/me pipelined on one connection (each audited
      with its own record); prints {"codes": {status: count}, "msg": the
      first refusal's message}.
  audit_fill.py SOCK TOKEN_FILE prune UPTO HASH_HEX
      one raw Audit.Prune (what a client that skipped the archive, or holds
      another chain, would send); prints {"code": N, "msg": "...",
      "dropped": N, "first_seq": N}.
"""
import json
import sys

import ttrpc_raw as T

sock, token_file, case = sys.argv[1], sys.argv[2], sys.argv[3]
with open(token_file) as f:
    md = [("authorization", "Bearer " + f.read().strip())]
c = T.Conn(sock, timeout=60)
if case == "fill":
    n = int(sys.argv[4])
    codes, first_msg = {}, ""
    req = T.encode_request("teevault.v1.Secrets", "Get", T.field_bytes(1, "keep/me"), md)
    for start in range(0, n, 500):
        k = min(500, n - start)
        c.send(b"".join(T.frame(c.next_sid(), req) for _ in range(k)))
        for _ in range(k):
            fr = c.recv_frame()
            if fr is None:
                codes["closed"] = codes.get("closed", 0) + 1
                break
            code, msg, _ = T.parse_response(fr[4])
            codes[str(code)] = codes.get(str(code), 0) + 1
            if code and not first_msg:
                first_msg = msg
    print(json.dumps({"codes": codes, "msg": first_msg}))
elif case == "prune":
    body = T.field_varint(1, int(sys.argv[4])) + T.field_bytes(2, bytes.fromhex(sys.argv[5]))
    code, msg, payload = c.call("teevault.v1.Audit", "Prune", body, md)
    f = T.parse_fields(payload) if code == 0 else {}
    print(json.dumps({"code": code, "msg": msg, "dropped": f.get(1, [0])[0],
                      "first_seq": f.get(2, [0])[0]}))
