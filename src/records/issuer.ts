// Issues signed agent records (R19/R20): the canonical content of an agent at a version, signed
// with the active key, with its validity, and the revocation marker that the status list is built
// from. Also signs the status list itself.

import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { GOVERNANCE_URN, recordContent, recordHash, revokesOlderRecords } from '../agents/records/claims.js';
import {
  type AgentRecordClaims,
  JWKS_PATH,
  RECORD_TYP,
  STATUS_LIST_PATH,
  STATUS_LIST_TYP,
  type StatusListClaims,
} from '../agents/records/format.js';
import type { Json } from '../store/types.js';
import type { RecordKeyManager } from './keys.js';

export interface RecordSettings {
  /** `iss`: the server's public URL (without /scim/v2) */
  issuer: string;
  /** validity of an active agent's record */
  validityMs: number;
  /** validity of a record of an agent that is not active (pending, suspended, retired) */
  inactiveValidityMs: number;
  /** validity of the signed status list */
  statusListValidityMs: number;
}

/** The `attestation` attribute of the governance extension, as stored. */
export interface Attestation {
  recordJws: string;
  kid: string;
  issuedAt: string;
  validUntil: string;
  recordHash: string;
  version: number;
  /** records of this agent with a lower version are revoked (published in the status list) */
  minValidVersion?: number;
  /** when minValidVersion last advanced */
  revokedAt?: string;
}

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function attestationOf(agent: Json | undefined): Attestation | undefined {
  const gov = agent?.[GOVERNANCE_URN];
  if (!isObj(gov) || !isObj(gov.attestation)) return undefined;
  const a = gov.attestation;
  return typeof a.recordJws === 'string' ? (a as unknown as Attestation) : undefined;
}

export function withAttestation(agent: Json, attestation: Attestation): Json {
  const gov = isObj(agent[GOVERNANCE_URN]) ? (agent[GOVERNANCE_URN] as Json) : {};
  return { ...agent, [GOVERNANCE_URN]: { ...gov, attestation: { ...attestation } } };
}

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const isoOf = (s: number) => new Date(s * 1000).toISOString();

export class RecordIssuer {
  readonly settings: RecordSettings;
  readonly keys: RecordKeyManager;
  readonly #onRevocation: () => void;

  constructor(keys: RecordKeyManager, settings: RecordSettings, onRevocation: () => void = () => undefined) {
    this.keys = keys;
    this.settings = settings;
    this.#onRevocation = onRevocation;
  }

  get issuer(): string {
    return this.settings.issuer;
  }

  get jwksUrl(): string {
    return this.settings.issuer + JWKS_PATH;
  }

  get statusListUrl(): string {
    return this.settings.issuer + STATUS_LIST_PATH;
  }

  /**
   * The attestation of `agent` (with id) at `version`, written at `at`. `previous` is the stored
   * agent before this write: when its signed content changes in a way that makes its records
   * untrue, the revocation marker advances to this version.
   */
  async attest(agent: Json, previous: Json | undefined, version: number, at: string): Promise<Attestation> {
    const id = agent.id;
    if (typeof id !== 'string') throw new Error('attest: the agent has no id');
    const content = recordContent(agent);
    const prior = attestationOf(previous);
    let minValidVersion = prior?.minValidVersion;
    let revokedAt = prior?.revokedAt;
    if (previous && prior && revokesOlderRecords(recordContent(previous), content)) {
      minValidVersion = version;
      revokedAt = at;
      this.#onRevocation();
    }
    const iat = seconds(at);
    const validity = content.lifecycleState === 'active' ? this.settings.validityMs : this.settings.inactiveValidityMs;
    let exp = iat + Math.max(1, Math.floor(validity / 1000));
    // Never beyond the agent's own operational validity window (governance validUntil).
    const gov = agent[GOVERNANCE_URN];
    const windowEnd = isObj(gov) && typeof gov.validUntil === 'string' ? Date.parse(gov.validUntil) : NaN;
    if (Number.isFinite(windowEnd)) exp = Math.max(iat, Math.min(exp, Math.floor(windowEnd / 1000)));
    const claims: AgentRecordClaims = {
      iss: this.settings.issuer,
      sub: id,
      iat,
      exp,
      jti: randomUUID(),
      version,
      ...content,
      status: { revocation_list: { uri: this.statusListUrl } },
    };
    const key = await this.keys.signingKey();
    const recordJws = await new SignJWT(claims as unknown as Record<string, unknown>)
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: RECORD_TYP })
      .sign(key.key);
    const out: Attestation = {
      recordJws,
      kid: key.kid,
      issuedAt: isoOf(iat),
      validUntil: isoOf(exp),
      recordHash: recordHash(content),
      version,
    };
    if (minValidVersion !== undefined) out.minValidVersion = minValidVersion;
    if (revokedAt !== undefined) out.revokedAt = revokedAt;
    return out;
  }

  /** Signs a status list issued at `now`. */
  async signStatusList(revoked: StatusListClaims['revoked'], now: Date): Promise<{ jwt: string; claims: StatusListClaims }> {
    const iat = Math.floor(now.getTime() / 1000);
    const claims: StatusListClaims = {
      iss: this.settings.issuer,
      sub: this.statusListUrl,
      iat,
      exp: iat + Math.max(1, Math.floor(this.settings.statusListValidityMs / 1000)),
      revoked,
    };
    const key = await this.keys.signingKey();
    const jwt = await new SignJWT(claims as unknown as Record<string, unknown>)
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: STATUS_LIST_TYP })
      .sign(key.key);
    return { jwt, claims };
  }
}
