import type { Logger } from 'pino';
import type { DisclosureRule, FamilyRule } from './ports.ts';
import type { RemoteClient } from './ports.ts';
import type { SyncStore } from './ports.ts';

/** What the Kanta PHR adapter needs of a sync context (the fields of SyncContext it reads). */
export interface KantaDeps {
  store: SyncStore;
  remote: RemoteClient;
  party: string;
  workerId: string;
  batchSize: number;
  leaseMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  disclosure: DisclosureRule;
  /** Resource families: how a conflict with the citizen's version on Kanta PHR is settled. */
  families: Readonly<Record<string, FamilyRule>>;
  /** How far a pull's window reaches back before its cursor (ms). */
  pullOverlapMs: number;
  today: () => string;
  log: Logger;
}

/**
 * One push round's deps: `claim` is the round's own claim id (repository.roundClaimId, as the
 * FHIR-store push's rounds have), the `claimed_by` its rows are claimed, renewed and settled under —
 * so a round can tell its rows from those another round of the same worker took once its lease ran out.
 */
export interface KantaRound extends KantaDeps {
  claim: string;
}

export interface KantaOptions {
  /** Kanta's creating application: the name and the applicationId Kela assigned at registration. */
  application: { name: string; applicationId: string };
}

export const KANTA = {
  patientProfile: 'http://phr.kanta.fi/StructureDefinition/fiphr-sd-patient',
  responseProfile: 'http://phr.kanta.fi/StructureDefinition/fiphr-sd-questionnaireresponse-r4',
  creatingApplication: 'http://phr.kanta.fi/StructureDefinition/fiphr-ext-creatingapplication',
  businessSystem: 'urn:ietf:rfc:3986',
} as const;

/** What this adapter sends; the rest is settled not applicable, and synced to no remote (a store has one). */
export const KANTA_PUSH_TYPES = new Set(['QuestionnaireResponse']);
export const NOT_APPLICABLE = 'not applicable to this remote';
