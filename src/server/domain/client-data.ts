import type { Identifier, Resource } from '@medplum/fhirtypes';
import { GLOBAL_IDENTIFIER_SYSTEM, type ResponsibleWorkerTeam } from '../../domain/index.ts';
import { fullUrl, idIdentifier } from '../../mapping/index.ts';
import { FhirError } from '../../shared/outcome.ts';
import { isFhirId } from '../../shared/references.ts';
import type { FacadeStore, StoreWrites } from '../ports.ts';
import type { StoredVersion } from './fields.ts';
import { ReadBack } from './read-back.ts';

/** Search parameters for the newest match only. */
const NEWEST = { _sort: '-_lastUpdated', _count: '1' };

/**
 * The `{clientId}` path parameter: a client's domain id — its local id, or the carried id
 * (`urn.uuid.<UUID>`) the SDK reads another sender's client with — in FHIR id syntax, as the domain's ids. Anything
 * else is a 400 that quotes nothing — a comma would make the identifier search an OR over any
 * identifier, a HETU among them.
 */
export function clientIdParam(value: unknown): string {
  if (isFhirId(value)) return value;
  throw FhirError.badRequest(
    "clientId: the path parameter must be a client's local id (1-64 of A-Z a-z 0-9 - .)",
    'clientId',
  );
}

/**
 * The client's Patient, by the identifier the client's domain id names (`idIdentifier`: its local id,
 * or the business identifier a carried id carries), as the caller's store holds it (undefined: none).
 */
export async function clientPatient(store: StoreWrites, clientId: string): Promise<Resource | undefined> {
  const { system, value } = idIdentifier('client', clientIdParam(clientId));
  const found = await store.search('Patient', { identifier: `${system}|${value}`, _count: '1' });
  return found.resources[0];
}

/** A resource's business identifier (`urn:uuid:…`, system `GLOBAL_IDENTIFIER_SYSTEM`), if it has one. */
export function businessIdOf(resource: Resource): string | undefined {
  const { identifier } = resource as { identifier?: Identifier[] | Identifier };
  const ids = Array.isArray(identifier) ? identifier : identifier ? [identifier] : [];
  return ids.find((i) => i.system === GLOBAL_IDENTIFIER_SYSTEM)?.value;
}

/**
 * The advisory lock (`StoreTx.lock`) a domain write that checks a rule over the client's stored
 * objects takes, in the transaction of its check and its write: one per client, named by the client's
 * business identifier, so a local id and the carried id of one client take the same lock.
 */
export function clientLockKey(clientId: string): string {
  return `domain-client:${fullUrl('client', clientId)}`;
}

/** The client's Patient, by the client's domain id (404 when the caller's store has none). */
export async function findClient(store: FacadeStore, clientId: string): Promise<Resource> {
  const patient = await clientPatient(store, clientId);
  if (!patient)
    throw FhirError.notFound('Client not found (no Patient carries the identifier its clientId names)');
  return patient;
}

/** `patient`'s resources of `type` that `params` select. */
export async function ofPatient(
  store: StoreWrites,
  patient: Resource,
  type: string,
  params: Record<string, string>,
): Promise<Resource[]> {
  return (await store.search(type, { patient: `Patient/${patient.id}`, ...params })).resources;
}

/** `patient`'s newest resource of `type` in `status`, if any. */
export async function newestOf(
  store: FacadeStore,
  patient: Resource,
  type: string,
  status: string,
): Promise<Resource | undefined> {
  return (await ofPatient(store, patient, type, { status, ...NEWEST }))[0];
}

/**
 * The client's active team, read back as a domain object, with the stored version it was read from
 * (`read`: what a change made from it must replace, `same-version`); with `ended`, when the client
 * has none, the latest one whose relationship has ended. An active team wins over an ended one however
 * recently the ended one changed (a corrected name of an old team is not a new relationship). With
 * `strict`, for a change written from it, a team the domain object cannot hold all of is refused (422).
 */
export async function currentTeam(
  store: FacadeStore,
  clientId: string,
  opts: { ended?: boolean; strict?: boolean } = {},
): Promise<{ team: ResponsibleWorkerTeam; read: StoredVersion } | undefined> {
  const patient = await findClient(store, clientId);
  const team =
    (await newestOf(store, patient, 'CareTeam', 'active')) ??
    (opts.ended ? await newestOf(store, patient, 'CareTeam', 'inactive') : undefined);
  if (!team?.id) return undefined;
  return {
    team: (await new ReadBack(store, [patient], { strict: opts.strict }).domainOf(
      team,
    )) as ResponsibleWorkerTeam,
    read: { resourceType: team.resourceType, id: team.id, versionId: team.meta?.versionId ?? '' },
  };
}
