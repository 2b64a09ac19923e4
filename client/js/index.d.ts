// SPDX-License-Identifier: Apache-2.0
// Type declarations for the teevault Node.js client.

export declare const version: string;

export declare const Code: {
  OK: 0; CANCELLED: 1; UNKNOWN: 2; INVALID_ARGUMENT: 3; DEADLINE_EXCEEDED: 4; NOT_FOUND: 5;
  ALREADY_EXISTS: 6; PERMISSION_DENIED: 7; RESOURCE_EXHAUSTED: 8; FAILED_PRECONDITION: 9;
  ABORTED: 10; OUT_OF_RANGE: 11; UNIMPLEMENTED: 12; INTERNAL: 13; UNAVAILABLE: 14;
  DATA_LOSS: 15; UNAUTHENTICATED: 16;
};

/** A refused or failed call, or a check this client made that failed. */
export declare class TeevaultError extends Error {
  constructor(message: string, code?: number, name?: string);
  /** gRPC status code (0 for client-side checks that are not RPC errors). */
  readonly code: number;
  /** teevault's error name ("denied", "replay", "policy", ...) or the client's ("integrity", "verify", "protocol"). */
  readonly errorName: string;
  readonly codeName: string;
}

export type Bytes = Uint8Array | Buffer;

export interface ClientOptions {
  /** "unix:/path/to.sock" or "tls://host:port"; default $TEEVAULT_ADDR. */
  addr?: string;
  /** Operator token; default $TEEVAULT_TOKEN. Not needed on the function path. */
  token?: string;
  /** Default $TEEVAULT_TRANSPORT, else "grpc". */
  transport?: 'grpc' | 'ttrpc';
  /** PEM CA file verifying the server (tls://); default $TEEVAULT_CACERT. */
  cafile?: string;
  serverName?: string;
  timeoutMs?: number;
}

export interface Secret { name: string; version: number; value: Buffer; }

export interface AuditRecord {
  seq: string; time_ns: string; principal: string; method: string; secret: string;
  version: string; status: number; request_id: string; peer: string;
  prev_hash: Buffer; hash: Buffer; detail: string;
}

export interface VaultReport {
  evidenceType: 'sim' | 'sgx' | 'tdx' | 'snp';
  debug: boolean;
  measurement: Buffer;
  auditPubkey: Buffer;
  policyHash: Buffer;
  auditHead: Buffer;
  auditSeq: number;
  /** The pin attestFunction checks Attest replies against (zeros: uninitialised vault). */
  vaultId: Buffer;
  signPubkey: Buffer;
  stateVersion: number;
}

/** A pin from a vault id and signing key known out of band (as tv_client_pin_vault). */
export declare function vaultPin(vaultId: Bytes, signPubkey: Bytes): { evidenceType: 'pinned'; vaultId: Buffer; signPubkey: Buffer };

export interface VerifyVaultOptions {
  /** The sim platform's Ed25519 public key (<platform dir>/sim_platform.pub). */
  simPlatformPk?: Bytes;
  /** Pin of the vault's measurement. */
  measurement?: Bytes;
  allowDebug?: boolean;
}

/** Makes evidence over 64 bytes of report_data in the runtime's TEE. */
export interface Producer {
  readonly name: string;
  evidence(reportData: Buffer): Promise<{ evidence: Buffer; type: 'sim' | 'sgx' | 'tdx' | 'snp' }>;
}

export interface SimOptions {
  /** 32-byte measurement; default SHA-256 of measurementFile (default: the node binary). */
  measurement?: Bytes;
  measurementFile?: string;
  /** Signer string, hashed with SHA-256; default "teevault-sim-signer". */
  signer?: string;
  svn?: number;
  debug?: boolean;
}

/** The sim TEE (development only: whoever reads the platform key forges reports). */
export declare class SimProducer implements Producer {
  constructor(platformDir: string, opts?: SimOptions);
  readonly name: string;
  evidence(reportData: Buffer): Promise<{ evidence: Buffer; type: 'sim' }>;
}
/** Gramine's /dev/attestation (DCAP quotes, type "sgx"). */
export declare class GramineProducer implements Producer {
  constructor(root?: string);
  readonly name: string;
  evidence(reportData: Buffer): Promise<{ evidence: Buffer; type: 'sgx' }>;
}
/** Linux configfs-tsm (TDX, SEV-SNP). */
export declare class TsmProducer implements Producer {
  constructor(root?: string);
  readonly name: string;
  evidence(reportData: Buffer): Promise<{ evidence: Buffer; type: 'tdx' | 'snp' }>;
}
/** The dstack guest agent's socket (GetQuote, type "tdx"). */
export declare class DstackProducer implements Producer {
  constructor(sock?: string);
  readonly name: string;
  evidence(reportData: Buffer): Promise<{ evidence: Buffer; type: 'tdx' }>;
}
export declare function openProducer(tee: 'sim' | 'gramine-sgx' | 'tsm' | 'dstack', root?: string,
                                     simOpts?: SimOptions): Producer;

/** An attested function's session. */
export declare class FunctionSession {
  readonly functionName: string;
  /** Unix seconds. */
  readonly expiresAt: number;
  /** Secrets.Get with the session token; the value opened with the session key. */
  get(name: string): Promise<Buffer>;
  readonly secrets: { get(name: string): Promise<Buffer> };
  /** Wipes the session key; later gets fail. */
  close(): void;
}

export declare class Client {
  constructor(opts?: ClientOptions);
  readonly kv: {
    put(name: string, value: string | Bytes, opts?: { cas?: number }): Promise<number>;
    get(name: string, version?: number): Promise<Secret>;
    list(prefix?: string, opts?: { limit?: number }): Promise<string[]>;
  };
  readonly policies: { write(name: string, document: string): Promise<void> };
  readonly functions: {
    /** identityPolicy: the JSON document of docs/ATTESTATION.md. */
    register(name: string, identityPolicy: string, aclPolicies?: string[]): Promise<void>;
  };
  readonly audit: {
    list(opts?: { since?: number; principal?: string; secret?: string; limit?: number }): Promise<AuditRecord[]>;
  };
  status(): Promise<Record<string, unknown>>;
  verifyVault(opts?: VerifyVaultOptions): Promise<VaultReport>;
  challenge(): Promise<Buffer>;
  /** Refused before the Challenge unless `vault` (verifyVault's result or vaultPin) pins the vault's signing key. */
  attestFunction(name: string, codeHash: Bytes, producer: Producer, vault: VaultReport | { vaultId: Bytes; signPubkey: Bytes }): Promise<FunctionSession>;
  close(): void;
}

/**
 * Checks an AttestResponse (the session key's certificate by the pinned key,
 * its expiry, then reply_mac: docs/ATTESTATION.md "The certified session key and the reply MAC") and
 * returns the session key derived with ephSk (wipe it when done); throws
 * TeevaultError (errorName "verify", "policy" or "protocol") otherwise.
 */
export declare function verifyAttestReply(resp: Record<string, unknown>, ctx: {
  name: string; nonce: Buffer; ephPk: Uint8Array; ephSk: Uint8Array;
  vault?: VaultReport | { vaultId: Bytes; signPubkey: Bytes };
}): Uint8Array;

export declare const crypto: {
  ready(): Promise<unknown>;
  attestBinding(nonce: Bytes, name: string, codeHash: Bytes, ephPk: Bytes): Buffer;
  /** Report v2 binding over the ReportResponse's fields (docs/ATTESTATION.md). */
  reportBinding(nonce: Bytes, r: Record<string, unknown>): Buffer;
  sessionKey(ephSk: Bytes, ephPk: Bytes, sessionPk: Bytes): Uint8Array;
  /** The session key and the Attest reply's MAC key from one X25519 (wipe both). */
  sessionKeys(ephSk: Bytes, ephPk: Bytes, sessionPk: Bytes): { key: Uint8Array; macKey: Uint8Array };
  /** The session key's certificate that AttestResponse.signature signs. */
  sessionKeyMessage(vaultId: Bytes, sessionPk: Bytes, expiresAt: number | string | bigint): Buffer;
  /** What AttestResponse.reply_mac covers. */
  attestReplyMessage(vaultId: Bytes, nonce: Bytes, ephPk: Bytes, sessionPk: Bytes, name: string,
                     expiresAt: number | string | bigint, stateVersion: number | string | bigint,
                     auditSeq: number | string | bigint, auditHead: Bytes,
                     sessionKeyExpiresAt: number | string | bigint, token: string): Buffer;
  openSealed(key: Bytes, name: string, version: number | string | bigint, sealed: Bytes): Buffer;
};
