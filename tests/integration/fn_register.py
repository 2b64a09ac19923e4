"""Register a function identity over ttrpc (Functions.Write) for the
attestation integration test, until the CLI has `teevault function`.

usage: fn_register.py SOCKET TOKEN_FILE NAME POLICY_FILE [ACL_POLICY...]
Exit 0 on success; otherwise prints the server's status and message.
"""
import sys

import ttrpc_raw as T


def main():
    sock, token_file, name, policy_file = sys.argv[1:5]
    acl = sys.argv[5:]
    token = open(token_file).read().strip()
    policy = open(policy_file, "rb").read()
    payload = T.field_bytes(1, name.encode()) + T.field_bytes(2, policy)
    for a in acl:
        payload += T.field_bytes(3, a.encode())
    c = T.Conn(sock)
    try:
        code, msg, _ = c.call("teevault.v1.Functions", "Write", payload,
                              metadata=[(b"authorization", b"Bearer " + token.encode())])
    finally:
        c.close()
    if code != 0:
        print("Functions.Write: status %d: %s" % (code, msg), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
