// What every guarded store member shares: the caller, the store (or transaction) underneath, where
// its audit rows go, and the read rules (consent for a party, turvakielto redaction) they all apply.
import type { Resource } from '@medplum/fhirtypes';
import { redactNonDisclosed } from '../../mapping/index.ts';
import { FhirError, issue } from '../../shared/outcome.ts';
import { patientOfReferenceUnder, patientReferenceOf } from '../../shared/references.ts';
import type { StoreTx } from '../../store/index.ts';
import { type AuditRecord, insertAudit } from './audit.ts';
import { DisclosureCheck } from './consent.ts';
import type { Principal } from './context.ts';

/** Runs `fn` in the write transaction: a new one, or the one a transaction handler already holds. */
export type InTx = <T>(fn: (tx: StoreTx) => Promise<T>) => Promise<T>;

/** One caller's view of one store or transaction. */
export interface Guard {
  readonly p: Principal;
  readonly base: StoreTx;
  readonly inTx: InTx;
  /** Writes read audit rows: before the answer outside a transaction, inside it otherwise. */
  readonly audit: (records: AuditRecord[]) => Promise<void>;
  /** Records a refusal's row (see `refusalsAudited` and `pendingRefusals`). */
  readonly refusal: (row: AuditRecord) => Promise<void>;
}

/**
 * Each guarded store's guard, registered as the store is made (guard-store.ts): for the security
 * layer's own reads through a request's store that no store member makes (the disclosure log).
 */
const GUARDS = new WeakMap<object, Guard>();

export function registerGuard(store: object, g: Guard): void {
  GUARDS.set(store, g);
}

/** The guard of a request's guarded store; a store without one is refused (`sec-ctx-1`), as unchecked. */
export function guardOf(store: object): Guard {
  const g = GUARDS.get(store);
  if (!g) throw new FhirError(500, issue('fatal', 'security', 'sec-ctx-1: no access context for this call'));
  return g;
}

/**
 * The requests (by the caller's per-request principal) whose refusals the guard has audited, naming
 * what was refused: the front writes no second, vaguer row for them. A refused entry of a batch
 * (answered inside a 200) is audited only this way.
 */
export const refusalsAudited = new WeakSet<Principal>();

/**
 * `p`'s guard inside the transaction `tx`: reads, writes and audit rows all in it. Refusal rows go to
 * `refusals` instead: a refusal rolls the transaction back, so the guarded store's transaction writes
 * them after the rollback.
 */
export function txGuard(p: Principal, tx: StoreTx, refusals: AuditRecord[] = []): Guard {
  return {
    p,
    base: tx,
    inTx: (fn) => fn(tx),
    audit: (records) => insertAudit(tx, records),
    refusal: async (row) => {
      refusals.push(row);
    },
  };
}

const PATIENT_IN_JSON =
  /"(?:subject|patient)"\s*:\s*\{(?:[^{}]|\{[^{}]*\})*?"reference"\s*:\s*"([^"\\]*Patient\/[^"\\]+)"/;
export const TURVAKIELTO = '"TURVAKIELTO"';

/**
 * The client (Patient reference) a stored resource belongs to, read off its JSON text: a relative
 * reference, or an absolute one under `base` (the request's, `Principal.base`).
 */
export function patientOfJson(type: string, id: string, json: string, base?: string): string[] {
  if (type === 'Patient') return [`Patient/${id}`];
  const patient = patientOfReferenceUnder(PATIENT_IN_JSON.exec(json)?.[1], base);
  return patient ? [patient] : [];
}

/** The client `r` belongs to (patientReferenceOf), an absolute reference read under `base`. */
export function patientOf(r: Resource, base?: string): string[] {
  const patient = patientReferenceOf(r, base);
  return patient ? [patient] : [];
}

/** A party's consent check, reading clients off references as the request's base names them. */
export function disclosureCheck(g: Guard, party: string): DisclosureCheck {
  return new DisclosureCheck(g.base, party, g.p.base);
}

/**
 * `checked` for a resource found by identifier before a write (a conditional create's or update's
 * match): a party refused it is not told its id either, since the criteria may be a HETU.
 */
export async function checkedMatch<T extends Resource>(
  g: Guard,
  r: T,
): Promise<{ resource: T; consentId?: string }> {
  try {
    return await checked(g, r);
  } catch (err) {
    if (!(err instanceof FhirError) || err.status !== 403) throw err;
    throw new FhirError(
      403,
      issue(
        'error',
        'forbidden',
        `sec-consent-1: a ${r.resourceType} matching the conditional criteria is not available to this client`,
        r.resourceType,
      ),
    );
  }
}

/** The same refusal whether the resource is missing or withheld: nothing tells a party it exists. */
export function withheld(type: string, id: string): FhirError {
  return new FhirError(
    403,
    issue('error', 'forbidden', `sec-consent-1: ${type}/${id} is not available to this client`, type),
  );
}

/**
 * The audit action of each FHIR interaction (R4 AuditEvent.action): reads (read, vread, history) `R`,
 * writes `C`/`U`/`D` (a patch is an update), searches and operations `E`.
 */
const INTERACTION_ACTION: Readonly<Record<string, AuditRecord['action']>> = {
  read: 'R',
  vread: 'R',
  'history-instance': 'R',
  'history-type': 'R',
  'history-system': 'R',
  capabilities: 'R',
  create: 'C',
  update: 'U',
  patch: 'U',
  delete: 'D',
  'search-type': 'E',
  'search-system': 'E',
  transaction: 'E',
  batch: 'E',
  operation: 'E',
};

/**
 * The audit action (C, R, U, D, E) of a FHIR interaction. One not in the table is `E`, never `R`: a
 * party's `R` rows are disclosures in the client's disclosure log (disclosures.ts).
 */
export const actionOf = (interaction: string): AuditRecord['action'] =>
  Object.hasOwn(INTERACTION_ACTION, interaction)
    ? (INTERACTION_ACTION[interaction] as AuditRecord['action'])
    : 'E';

/** An audit record of `p`'s request. */
export const record = (
  p: Principal,
  r: Omit<AuditRecord, 'client' | 'party' | 'requestId'>,
): AuditRecord => ({
  client: p.clientId,
  ...(p.party ? { party: p.party } : {}),
  ...(p.requestId ? { requestId: p.requestId } : {}),
  ...r,
});

/** An audit record of a successful access. */
export function succeeded(
  g: Guard,
  interaction: string,
  action: AuditRecord['action'],
  entities: string[],
  patients: string[],
  extra: { consents?: string[]; query?: string } = {},
): AuditRecord {
  return record(g.p, {
    interaction,
    action,
    outcome: '0',
    entities,
    patients,
    ...(extra.consents?.length ? { consents: extra.consents } : {}),
    ...(extra.query !== undefined ? { query: extra.query } : {}),
  });
}

/** `r` as the caller may see it: withheld for a party without consent, redacted without turvakielto. */
export async function checked<T extends Resource>(
  g: Guard,
  r: T,
): Promise<{ resource: T; consentId?: string }> {
  const { p } = g;
  if (!p.party) return { resource: p.turvakielto ? r : redactNonDisclosed(r) };
  const d = await disclosureCheck(g, p.party).check(r);
  if (!d.permitted) throw withheld(r.resourceType, r.id ?? '');
  return {
    resource: p.turvakielto ? r : redactNonDisclosed(r),
    ...(d.consentId ? { consentId: d.consentId } : {}),
  };
}

/** A refused read (403) audited before the refusal reaches the caller; anything else passes as it is. */
export async function auditRefusal(
  g: Guard,
  interaction: string,
  entity: string,
  patients: string[],
  err: unknown,
): Promise<never> {
  if (err instanceof FhirError && err.status === 403)
    await refuseAudited(g, interaction, entity, patients, err);
  throw err;
}

/**
 * The refusals whose audit row the guard has written (or, in a transaction, set aside to write): a
 * batch's failed entry is not audited a second time (entry-audit.ts).
 */
export const auditedRefusals = new WeakSet<FhirError>();

/** A refusal by one of the guard's own rules, whatever its status: audited, naming the rule, then thrown. */
export async function refuseAudited(
  g: Guard,
  interaction: string,
  entity: string,
  patients: string[],
  err: FhirError,
): Promise<never> {
  await g.refusal(
    record(g.p, {
      interaction,
      action: actionOf(interaction),
      outcome: '4',
      detail: err.outcome.issue?.[0]?.diagnostics ?? 'refused',
      entities: [entity],
      patients,
    }),
  );
  auditedRefusals.add(err);
  throw err;
}

/** For a party a missing resource is refused like a withheld one. */
export async function hideMissing<T>(g: Guard, type: string, id: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (g.p.party && err instanceof FhirError && (err.status === 404 || err.status === 410))
      throw withheld(type, id);
    throw err;
  }
}

export const consentRefs = (ids: (string | undefined)[]): string[] => [
  ...new Set(ids.filter((id): id is string => !!id).map((id) => `Consent/${id}`)),
];
