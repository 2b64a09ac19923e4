# SPDX-License-Identifier: Apache-2.0
"""teevault client: operator calls with a token, and the attested function path."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Iterator, List, Optional, Sequence, Union

import nacl.utils

from . import _stubs, crypto
from .errors import TeevaultError, VerifyError, INVALID_ARGUMENT
from .evidence import Producer
from .transport import Transport, open_transport

MAX_NAME = 512
MAX_FN_NAME = 100
MAX_CODE_HASH = 64


def _pb() -> Any:
    return _stubs.load()[0]


@dataclass
class Secret:
    name: str
    version: int
    value: bytes


@dataclass
class VaultReport:
    """What verify_vault() established about the vault. vault_id and
    sign_pubkey are the pin attest_function() checks Attest replies against
    (zeros: an uninitialised vault, which signs nothing)."""
    evidence_type: str
    debug: bool
    measurement: bytes
    audit_pubkey: bytes
    policy_hash: bytes
    audit_head: bytes
    audit_seq: int
    vault_id: bytes = bytes(32)
    sign_pubkey: bytes = bytes(32)
    state_version: int = 0


def vault_pin(vault_id: bytes, sign_pubkey: bytes) -> VaultReport:
    """A pin made from a vault id and signing key known out of band (as
    libteevault's tv_client_pin_vault), for attest_function(vault=...)."""
    if len(vault_id) != 32 or len(sign_pubkey) != 32 or not any(vault_id) or \
            not any(sign_pubkey):
        raise TeevaultError("a vault pin is a non-zero 32-byte vault id and signing key",
                            INVALID_ARGUMENT, "invalid")
    return VaultReport("pinned", False, b"", b"", b"", b"", 0, bytes(vault_id),
                       bytes(sign_pubkey), 0)


class _Part:
    def __init__(self, client: "Client"):
        self._c = client


class KV(_Part):
    """Secrets.Put / Get / List with the client's operator token."""

    def put(self, name: str, value: Union[bytes, str], cas: Optional[int] = None) -> int:
        """Store a new version; returns it. cas: the current version must equal it (0: new)."""
        pb = _pb()
        req = pb.PutRequest(name=name, value=value.encode() if isinstance(value, str) else value)
        if cas is not None:
            req.cas_set, req.cas = True, cas
        return self._c.call("Secrets", "Put", req, pb.PutResponse).version

    def get(self, name: str, version: int = 0) -> Secret:
        """Plaintext read (operator sessions; the vault may forbid it by config)."""
        pb = _pb()
        r = self._c.call("Secrets", "Get", pb.GetRequest(name=name, version=version),
                         pb.GetResponse)
        return Secret(r.name, r.version, bytes(r.value))

    def list(self, prefix: str = "", limit: int = 0) -> List[str]:
        """Every name under prefix (pages followed), at most `limit` when non-zero."""
        pb = _pb()
        out: List[str] = []
        cursor = ""
        while True:
            r = self._c.call("Secrets", "List", pb.ListRequest(prefix=prefix, cursor=cursor),
                             pb.ListResponse)
            out.extend(r.names)
            cursor = r.next_cursor
            if not cursor or (limit and len(out) >= limit):
                return out[:limit] if limit else out


class Policies(_Part):
    def write(self, name: str, document: str) -> None:
        pb = _pb()
        self._c.call("Policies", "Write", pb.PolicyDocument(name=name, document=document),
                     pb.Empty)


class Functions(_Part):
    def register(self, name: str, identity_policy: str, acl_policies: Sequence[str] = ()) -> None:
        """Functions.Write: the identity policy JSON (docs/ATTESTATION.md) and ACL policies."""
        pb = _pb()
        self._c.call("Functions", "Write",
                     pb.FunctionInfo(name=name, policy=identity_policy,
                                     acl_policies=list(acl_policies)), pb.Empty)


class Audit(_Part):
    def list(self, since: int = 0, principal: str = "", secret: str = "",
             limit: int = 100) -> List[Any]:
        pb = _pb()
        return list(self._c.call("Audit", "List",
                                 pb.AuditListRequest(since=since, principal=principal,
                                                     secret=secret, limit=limit),
                                 pb.AuditListResponse).records)


class Client:
    """A connection to teevaultd.

    addr:      "unix:/path" or "tls://host:port" (default $TEEVAULT_ADDR)
    token:     operator token (default $TEEVAULT_TOKEN); not needed on the function path
    transport: "grpc" (HTTP/2, default $TEEVAULT_TRANSPORT or grpc) or "ttrpc"
    """

    def __init__(self, addr: Optional[str] = None, token: Optional[str] = None,
                 transport: Optional[str] = None, cafile: Optional[str] = None,
                 server_name: Optional[str] = None, timeout: float = 30.0):
        addr = addr or os.environ.get("TEEVAULT_ADDR")
        if not addr:
            raise TeevaultError("no vault address (addr= or TEEVAULT_ADDR)", INVALID_ARGUMENT,
                                "invalid")
        self.token = token if token is not None else os.environ.get("TEEVAULT_TOKEN")
        self.timeout = timeout
        self.transport: Transport = open_transport(
            addr, transport or os.environ.get("TEEVAULT_TRANSPORT", "grpc"),
            cafile or os.environ.get("TEEVAULT_CACERT"), server_name)
        self.kv = KV(self)
        self.policies = Policies(self)
        self.functions = Functions(self)
        self.audit = Audit(self)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()

    def call(self, service: str, method: str, req: Any, resp_cls: Any,
             token: Optional[str] = None) -> Any:
        return self.transport.call(service, method, req, resp_cls,
                                   token if token is not None else self.token, self.timeout)

    def status(self) -> Any:
        pb = _pb()
        return self.call("Sys", "Status", pb.Empty(), pb.StatusResponse)

    # ------------------------------------------------------------ the vault
    def verify_vault(self, sim_platform_pk: Optional[bytes] = None,
                     measurement: Optional[bytes] = None,
                     allow_debug: bool = False) -> VaultReport:
        """Attestation.Report over a fresh nonce, verified as tv_attest_verify_vault does.

        sim evidence is checked against the pinned sim platform key; hardware
        evidence (sgx/tdx/snp) is refused by this client: its DCAP/SNP chain
        verification lives in libteevault only (README "Limits").
        """
        pb = _pb()
        nonce = nacl.utils.random(32)
        r = self.call("Attestation", "Report", pb.ReportRequest(nonce=nonce), pb.ReportResponse,
                      token="")
        if r.report_version != crypto.REPORT_VERSION:
            raise VerifyError("the vault's report is version %d; this client verifies version %d"
                              % (r.report_version, crypto.REPORT_VERSION), "format")
        if any(len(x) != 32 for x in (r.audit_pubkey, r.policy_hash, r.audit_head, r.vault_id,
                                       r.sign_pubkey, r.config_hash, r.tls_key_hash)):
            raise TeevaultError("the vault's report lacks a field of Report v2", 0, "protocol")
        ev = bytes(r.evidence)
        typ = crypto.detect_type(ev)
        if typ is None or typ != r.evidence_type:
            raise VerifyError("the vault's evidence is not of the type it claims", "format")
        if typ != "sim":
            raise VerifyError("%s evidence: hardware report verification is not implemented "
                              "in the Python client (use libteevault)" % typ, "unimplemented")
        if not sim_platform_pk:
            raise VerifyError("the vault runs on the sim backend (no hardware protection) and "
                              "no sim platform key is pinned", "policy")
        rep = crypto.sim_report_verify(ev, sim_platform_pk)
        if rep.debug and not allow_debug:
            raise VerifyError("debug sim report refused by policy", "policy")
        want = crypto.report_binding(nonce, r)
        if not crypto.ct_equal(rep.report_data, want):
            raise VerifyError("the vault's evidence does not bind this nonce and its audit key")
        if measurement is not None and not crypto.ct_equal(measurement, rep.measurement):
            raise VerifyError("the vault's measurement is not the pinned one", "policy")
        if any(r.vault_id):
            # An initialised vault signs its state with the key the report binds.
            if not crypto.ed25519_verify(r.sign_pubkey, crypto.state_message(
                    r.vault_id, r.state_version, r.audit_seq, r.audit_head), r.state_signature):
                raise VerifyError("the vault's state checkpoint is not signed by its bound "
                                  "signing key")
        return VaultReport(typ, rep.debug, rep.measurement, bytes(r.audit_pubkey),
                           bytes(r.policy_hash), bytes(r.audit_head), r.audit_seq,
                           bytes(r.vault_id), bytes(r.sign_pubkey), r.state_version)

    # ------------------------------------------------------ the function path
    def challenge(self) -> bytes:
        pb = _pb()
        r = self.call("Attestation", "Challenge", pb.Empty(), pb.ChallengeResponse, token="")
        if len(r.nonce) != 32:
            raise TeevaultError("the vault's challenge is not 32 bytes", 0, "protocol")
        return bytes(r.nonce)

    def attest_function(self, name: str, code_hash: bytes, producer: Producer,
                        vault: Optional[VaultReport] = None) -> "FunctionSession":
        """Challenge -> ephemeral X25519 -> evidence over the binding -> Attest -> session.

        vault: the result of verify_vault() (or vault_pin()), whose keys the
        Attest reply is checked against (see verify_attest_reply).
        """
        pb = _pb()
        _check_fn_args(name, code_hash)
        if vault is None or not any(vault.sign_pubkey):
            # Before the Challenge: nothing is sent to an unverified vault.
            raise VerifyError("no vault is pinned: verify the vault first (verify_vault) or pin "
                              "its key (vault_pin)", "policy")
        nonce = self.challenge()
        eph_pk, eph_sk = crypto.ephemeral_keypair()
        try:
            rd = crypto.attest_binding(nonce, name, code_hash, eph_pk)
            ev, typ = producer.evidence(rd)
            r = self.call("Attestation", "Attest",
                          pb.AttestRequest(evidence=ev, evidence_type=typ, function_name=name,
                                           code_hash=code_hash, eph_pubkey=eph_pk, nonce=nonce),
                          pb.AttestResponse, token="")
            key = verify_attest_reply(r, name=name, nonce=nonce, eph_pk=eph_pk, eph_sk=eph_sk,
                                      vault=vault)
        finally:
            eph_sk[:] = bytes(len(eph_sk))  # only the session key outlives Attest
        return FunctionSession(self, name, r.session_token, key, r.expires_at)


def _check_fn_args(name: str, code_hash: bytes) -> None:
    if not name or len(name.encode()) > MAX_FN_NAME:
        raise TeevaultError("function name must be 1-%d bytes" % MAX_FN_NAME, INVALID_ARGUMENT,
                            "invalid")
    if len(code_hash) > MAX_CODE_HASH:
        raise TeevaultError("code hash longer than %d bytes" % MAX_CODE_HASH, INVALID_ARGUMENT,
                            "invalid")


def verify_attest_reply(resp: Any, *, name: str, nonce: bytes, eph_pk: bytes, eph_sk: bytes,
                        vault: Optional[VaultReport]) -> bytearray:
    """Everything the client checks on an AttestResponse before trusting it,
    as libteevault's check_reply (docs/ATTESTATION.md "The certified
    session key and the reply MAC"), and the session key it returns (a bytearray the caller wipes):

    - a usable token and session key, a pinned vault, and the vault id of
      the pinned vault;
    - the session key's certificate: `signature`, the vault's Ed25519
      signature by the pinned key (the one its verified Report binds) over
      "teevault-session-key-v1\\0" || vault_id || session_pubkey ||
      i64be session_key_expires_at, not expired by more than
      crypto.SESSION_KEY_SKEW seconds on this host's clock;
    - `reply_mac`, keyed BLAKE2b-256 under the MAC key that only the holders
      of the session secret key and of eph_sk derive (crypto.session_keys,
      the same X25519 as the session key) over "teevault-attest-reply-v2\\0"
      || vault_id || nonce || eph_pk || session_pubkey || len||name ||
      expires_at || state_version || audit_seq || audit_head ||
      session_key_expires_at || len||session_token.

    A relay that swaps the session key, strips the certificate or MAC,
    replays an expired session key, alters the reply or answers for another
    vault is refused with VerifyError.
    """
    tok = resp.session_token
    if not tok or len(tok) > 128:
        raise TeevaultError("the vault returned no usable session token", 0, "protocol")
    if len(resp.session_pubkey) != 32:
        raise TeevaultError("the vault returned no session public key "
                            "(a vault older than this client?)", 0, "protocol")
    if vault is None or len(vault.sign_pubkey) != 32 or not any(vault.sign_pubkey):
        raise VerifyError("no vault is pinned: verify the vault first (verify_vault) or pin "
                          "its key (vault_pin)", "policy")
    if len(resp.signature) != 64 or len(resp.vault_id) != 32 or len(resp.audit_head) != 32 or \
            len(resp.reply_mac) != crypto.REPLY_MAC_LEN:
        raise VerifyError("the Attest reply is not signed by the vault (no signature: a vault "
                          "older than this client, or a relay in between)")
    if not crypto.ct_equal(resp.vault_id, vault.vault_id):
        raise VerifyError("the Attest reply comes from another vault than the one verified")
    spk, exp = bytes(resp.session_pubkey), resp.session_key_expires_at
    if not crypto.ed25519_verify(vault.sign_pubkey,
                                 crypto.session_key_message(resp.vault_id, spk, exp),
                                 resp.signature):
        raise VerifyError("the Attest reply's session key is not certified by the pinned vault "
                          "key (session key swapped: a relay in between?)")
    if int(time.time()) > exp + crypto.SESSION_KEY_SKEW:
        raise VerifyError("the Attest reply's session key expired at %d (a replayed key, or this "
                          "host's clock is off by more than %d s)" % (exp, crypto.SESSION_KEY_SKEW))
    key, mac_key = crypto.session_keys(eph_sk, eph_pk, spk)
    ok = False
    try:
        msg = crypto.attest_reply_message(resp.vault_id, nonce, eph_pk, spk, name,
                                          resp.expires_at, resp.state_version, resp.audit_seq,
                                          resp.audit_head, exp, tok)
        ok = crypto.ct_equal(crypto.attest_reply_mac(mac_key, msg), resp.reply_mac)
    finally:
        mac_key[:] = bytes(len(mac_key))
        if not ok:
            key[:] = bytes(len(key))  # only a verified reply's session key is used
    if not ok:
        raise VerifyError("the Attest reply's MAC does not verify (reply forged or altered: a "
                          "relay in between?)")
    return key


class _Secrets:
    def __init__(self, session: "FunctionSession"):
        self._s = session

    def get(self, name: str) -> bytes:
        return self._s.get(name)


class FunctionSession:
    """An attested function's session: `secrets.get(name)` returns the opened value."""

    def __init__(self, client: Client, name: str, token: str, key: bytearray, expires_at: int):
        self._client, self.function_name = client, name
        self._token: Optional[str] = token
        self._key: Optional[bytearray] = key
        self.expires_at = expires_at
        self.secrets = _Secrets(self)

    def get(self, name: str) -> bytes:
        pb = _pb()
        if self._key is None or self._token is None:
            raise TeevaultError("the function session is closed", 0, "invalid")
        if not name or len(name.encode()) > MAX_NAME:
            raise TeevaultError("secret name must be 1-%d bytes" % MAX_NAME, INVALID_ARGUMENT,
                                "invalid")
        if self.expires_at and time.time() >= self.expires_at:
            raise TeevaultError("the function session has expired; attest again", 0, "expired")
        r = self._client.call("Secrets", "Get", pb.GetRequest(name=name), pb.GetResponse,
                              token=self._token)
        if r.value:
            # A function must never receive plaintext on the wire.
            raise TeevaultError("the vault sent an unsealed value to a function session", 0,
                                "protocol")
        # Opened as the name asked for and the version the vault says it read.
        return crypto.open_sealed(self._key, name, r.version, bytes(r.sealed_value))

    def close(self) -> None:
        if self._key is not None:
            self._key[:] = bytes(len(self._key))
        self._key = None
        self._token = None

    def __enter__(self) -> "FunctionSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
