import { randomUUID } from 'node:crypto';
import type { Patient } from '@medplum/fhirtypes';
// The pseudonymous PHR Patient of a local client: created (or found) on Kanta PHR by its urn:uuid
// identifier, with nothing but that identifier — never HETU, name, birth date or address.
import { identifierCriteria } from '../../store/index.ts';
import { type BeforeAttempt, refFromAnswer } from './ports.ts';
import { KANTA, type KantaDeps } from './types.ts';

export interface PhrPatient {
  localId: string;
  pseudonym: string;
  remoteId: string;
}

/** The PHR Patient resource for a pseudonym: the only things fiphr-sd-patient allows and needs. */
export function phrPatientResource(pseudonym: string): Patient {
  return {
    resourceType: 'Patient',
    meta: { profile: [KANTA.patientProfile] },
    language: 'fi',
    text: {
      status: 'generated',
      div: '<div xmlns="http://www.w3.org/1999/xhtml" lang="fi" xml:lang="fi">Pseudonyymi henkilö (PHR)</div>',
    },
    identifier: [{ system: KANTA.businessSystem, value: pseudonym }],
    active: true,
  };
}

async function pseudonymOf(
  deps: KantaDeps,
  localId: string,
): Promise<{ pseudonym: string; remoteId: string | null }> {
  // The pseudonym is stored before anything is sent: a retry reuses it.
  await deps.store.query(
    `INSERT INTO sync_kanta_patient (local_id, pseudonym) VALUES ($1, $2) ON CONFLICT (local_id) DO NOTHING`,
    [localId, `urn:uuid:${randomUUID()}`],
  );
  const [row] = await deps.store.query<{ pseudonym: string; remote_id: string | null }>(
    'SELECT pseudonym, remote_id FROM sync_kanta_patient WHERE local_id = $1',
    [localId],
  );
  return { pseudonym: row.pseudonym, remoteId: row.remote_id };
}

/**
 * Creates or finds the PHR Patient (conditional create on its pseudonym) and records the mapping.
 * `mayGo` is asked right before the create leaves (not when the PHR Patient is known already): when it
 * says no, nothing is sent and the result is undefined. `beforeAttempt` is the remote client's, asked
 * before each attempt of the create (a throw stops it unsent and is thrown on).
 */
export async function ensurePhrPatient(
  deps: KantaDeps,
  localId: string,
  signal?: AbortSignal,
  mayGo: () => Promise<boolean> = async () => true,
  beforeAttempt?: BeforeAttempt,
): Promise<PhrPatient | undefined> {
  const known = await pseudonymOf(deps, localId);
  if (known.remoteId) return { localId, pseudonym: known.pseudonym, remoteId: known.remoteId };
  if (!(await mayGo())) return undefined;
  const answer = await deps.remote.request('POST', 'Patient', {
    body: phrPatientResource(known.pseudonym),
    headers: { 'if-none-exist': identifierCriteria(KANTA.businessSystem, known.pseudonym) },
    signal,
    beforeAttempt,
  });
  const remoteId = refFromAnswer(answer, 'Patient').id;
  await deps.store.query(
    'UPDATE sync_kanta_patient SET remote_id = $2, updated_at = now() WHERE local_id = $1',
    [localId, remoteId],
  );
  return { localId, pseudonym: known.pseudonym, remoteId };
}

/** A PHR Patient the pull follows, with where its last finished pull got to. */
export interface FollowedPhrPatient extends PhrPatient {
  /** The newest Kanta PHR lastUpdated a finished pull stored (absent: never pulled). */
  pulledUntil?: string;
}

export async function knownPhrPatients(deps: KantaDeps): Promise<FollowedPhrPatient[]> {
  const rows = await deps.store.query<{
    local_id: string;
    pseudonym: string;
    remote_id: string;
    pulled_until: string | null;
  }>(
    'SELECT local_id, pseudonym, remote_id, pulled_until FROM sync_kanta_patient WHERE remote_id IS NOT NULL ORDER BY local_id',
  );
  return rows.map((r) => ({
    localId: r.local_id,
    pseudonym: r.pseudonym,
    remoteId: r.remote_id,
    ...(r.pulled_until ? { pulledUntil: r.pulled_until } : {}),
  }));
}

/** Where a finished pull of a client got to: the next one goes on from there. */
export async function recordPulledUntil(deps: KantaDeps, localId: string, stamp: string): Promise<void> {
  await deps.store.query(
    'UPDATE sync_kanta_patient SET pulled_until = $2, updated_at = now() WHERE local_id = $1',
    [localId, stamp],
  );
}
