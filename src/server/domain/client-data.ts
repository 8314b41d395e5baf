import type { Resource } from '@medplum/fhirtypes';
import type { ResponsibleWorkerTeam } from '../../domain/index.ts';
import { localIdSystem } from '../../mapping/index.ts';
import { FhirError } from '../../shared/outcome.ts';
import type { FacadeStore } from '../ports.ts';
import { ReadBack } from './read-back.ts';

/** Search parameters for the newest match only. */
const NEWEST = { _sort: '-_lastUpdated', _count: '1' };

/** The client's Patient, by the client's local id (404 when the caller's store has none). */
export async function findClient(store: FacadeStore, clientId: string): Promise<Resource> {
  const found = await store.search('Patient', {
    identifier: `${localIdSystem('client')}|${clientId}`,
    _count: '1',
  });
  const patient = found.resources[0];
  if (!patient) throw FhirError.notFound(`Client "${clientId}" not found`);
  return patient;
}

/** `patient`'s resources of `type` that `params` select. */
export async function ofPatient(
  store: FacadeStore,
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
 * The client's active team, read back as a domain object; with `ended`, when the client has none,
 * the latest one whose relationship has ended. An active team wins over an ended one however
 * recently the ended one changed (a corrected name of an old team is not a new relationship).
 */
export async function currentTeam(
  store: FacadeStore,
  clientId: string,
  opts: { ended?: boolean } = {},
): Promise<ResponsibleWorkerTeam | undefined> {
  const patient = await findClient(store, clientId);
  const team =
    (await newestOf(store, patient, 'CareTeam', 'active')) ??
    (opts.ended ? await newestOf(store, patient, 'CareTeam', 'inactive') : undefined);
  if (!team) return undefined;
  return (await new ReadBack(store, [patient]).domainOf(team)) as ResponsibleWorkerTeam;
}
