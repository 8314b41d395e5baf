import type { JWK } from 'jose';

/** How a 412 (remote changed since we last saw it) is resolved, per resource family. */
export type ConflictPolicy = 'remote-wins' | 'local-wins' | 'park';

/** Whether and how the remote takes several writes in one request. */
export type BundleMode = 'auto' | 'transaction' | 'batch' | 'none';

export interface OAuthConfig {
  tokenUrl: string;
  clientId: string;
  /** For `basic` and `post`. */
  clientSecret?: string;
  scope?: string;
  /**
   * client_secret_basic (default), client_secret_post, or private_key_jwt (SMART Backend Services:
   * a client assertion signed with `privateKey`, as a tyokyky facade with `--auth embedded` expects).
   */
  method?: 'basic' | 'post' | 'private_key_jwt';
  /** The client's private key as a JWK (with `kid` and `alg`, ES384 or RS384), for private_key_jwt. */
  privateKey?: JWK;
}

export interface RemoteConfig {
  /** FHIR base, e.g. https://phr.example/fhir/R4 (no trailing slash needed). */
  baseUrl: string;
  auth?: OAuthConfig;
  /** Per-attempt timeout. */
  timeoutMs?: number;
  /**
   * How far back each pull re-reads before its cursor (default 1 s; idempotent: what it holds already
   * is `unchanged`). A write the remote stamps and commits later than a newer one can otherwise be
   * passed over: set it above the remote's longest write transaction.
   */
  pullOverlapMs?: number;
  retry?: { maxAttempts?: number; initialDelayMs?: number; maxDelayMs?: number; maxRetryAfterMs?: number };
  breaker?: { consecutiveFailures?: number; halfOpenAfterMs?: number };
  bundle?: BundleMode;
  /**
   * The consent-party code (CodeSystem consent-party) that this store counts as when data is
   * disclosed to it; a consent must permit this party.
   */
  party: string;
  headers?: Record<string, string>;
  /**
   * What the remote is: `fhir-store` (default; a FHIR store that speaks our profiles) or `kanta-phr`
   * (Kanta PHR: only self-assessments go, as Kanta's own profiles; docs/kanta.md).
   */
  kind?: 'fhir-store' | 'kanta-phr';
  /** Kanta PHR's creating application (name + the applicationId Kela assigned); needed with `kanta-phr`. */
  application?: { name: string; applicationId: string };
}

/** Resource families: which consent data class their disclosure needs, how a 412 is resolved. */
export interface FamilyRule {
  /** consent-data-class code, or null when disclosure needs no consent (the client's own directives). */
  dataClass: string | null;
  conflict: ConflictPolicy;
}

export const DEFAULT_FAMILIES: Record<string, FamilyRule> = {
  Patient: { dataClass: 'identification', conflict: 'local-wins' },
  Consent: { dataClass: null, conflict: 'remote-wins' },
  QuestionnaireResponse: { dataClass: 'work-ability-assessment', conflict: 'remote-wins' },
  Observation: { dataClass: 'work-ability-assessment', conflict: 'local-wins' },
  CarePlan: { dataClass: 'support-plan', conflict: 'local-wins' },
  Goal: { dataClass: 'support-plan', conflict: 'local-wins' },
  ServiceRequest: { dataClass: 'support-plan', conflict: 'local-wins' },
  CareTeam: { dataClass: 'support-plan', conflict: 'local-wins' },
};

export const DEFAULT_PULL_TYPES = ['Consent', 'QuestionnaireResponse'];
