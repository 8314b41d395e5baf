// Pull from Kanta PHR: the self-assessment responses citizens filled in or changed (for every client
// with a PHR Patient), read back through the SDK into our profile and linked to the local client.
// Responses the citizen restricted (meta.security R) are not imported — that they exist is recorded
// with the reason — and one already held here is labelled restricted.
import type { Patient, QuestionnaireResponse } from '@medplum/fhirtypes';
import { isFhirId } from '../../shared/references.ts';
import {
  type CitizenVersion,
  markRestricted,
  readCitizenVersion,
  storeCitizenVersion,
} from './citizen-version.ts';
import { hiddenReason } from './convert.ts';
import { type KantaMapping, mappingsOfRemote } from './mapping.ts';
import { type FollowedPhrPatient, knownPhrPatients, recordPulledUntil } from './patients.ts';
import { changedSince, emptyPullResult, laterCursor, readHere, setState } from './ports.ts';
import type { PullResult } from './ports.ts';
import type { KantaDeps, KantaOptions } from './types.ts';

async function recordSkipped(
  deps: KantaDeps,
  remoteId: string,
  patient: string,
  reason: string,
): Promise<void> {
  await deps.store.query(
    `INSERT INTO sync_kanta_skipped (resource_type, remote_id, local_patient, reason) VALUES ('QuestionnaireResponse', $1, $2, $3)
     ON CONFLICT (resource_type, remote_id) DO UPDATE SET reason = EXCLUDED.reason, seen_at = now()`,
    // The reason may quote what the remote sent, and PostgreSQL's text holds no U+0000.
    [remoteId, patient, reason.replaceAll('\u0000', '\uFFFD')],
  );
}

/** What storing one fetched response did, as the pull counts it. */
const COUNTED = {
  created: 'applied',
  updated: 'applied',
  unchanged: 'unchanged',
  deferred: 'skipped',
  foreign: 'skipped',
} as const;

/** Why a citizen's response was not taken into a local one found by its business identifier. */
const FOREIGN = 'identifier held by another client: not imported';

/**
 * One fetched response: passed over when we hold it at that version (our own restricted one too),
 * else stored (created, or the citizen's answers taken into the local copy); a restricted or
 * unreadable one is recorded as not imported. Returns whether it was deferred (a local change of it is still to go).
 */
async function pullOne(
  deps: KantaDeps,
  opts: KantaOptions,
  r: QuestionnaireResponse & { id: string },
  local: Patient & { id: string },
  mapping: KantaMapping | undefined,
  result: PullResult,
): Promise<boolean> {
  // First: a version we hold is ours (sent or read before) — a label on it is no citizen's change.
  if (mapping?.remoteVersion && mapping.remoteVersion === r.meta?.versionId) {
    result.unchanged++;
    return false;
  }
  const hidden = hiddenReason(r);
  if (hidden) {
    // Held here already: the local copy is labelled restricted as well.
    if (mapping) await markRestricted(deps, mapping, local.id);
    await recordSkipped(deps, r.id, local.id, hidden);
    result.skipped++;
    return false;
  }
  let version: CitizenVersion;
  try {
    version = readCitizenVersion(r, local, opts);
  } catch (err) {
    await recordSkipped(deps, r.id, local.id, `not readable as a self-assessment: ${(err as Error).message}`);
    result.skipped++;
    return false;
  }
  const stored = await storeCitizenVersion(deps, version, mapping);
  if (stored === 'foreign') {
    // Kept apart and said so; the reason names no one.
    deps.log.warn({ type: 'QuestionnaireResponse', remote: r.id }, `sync: Kanta PHR pull: ${FOREIGN}`);
    await recordSkipped(deps, r.id, local.id, FOREIGN);
  }
  result[COUNTED[stored]]++;
  return stored === 'deferred';
}

/**
 * A client's responses on Kanta PHR changed since its last finished pull (all of them the first
 * time). The client's cursor moves to the newest stamp seen once every page is stored — not when a
 * response was deferred: the next pull reads it again, after its local change has gone.
 */
async function pullPatient(
  deps: KantaDeps,
  opts: KantaOptions,
  phr: FollowedPhrPatient,
  local: Patient & { id: string },
  result: PullResult,
  signal?: AbortSignal,
) {
  const params: Record<string, string> = { patient: `Patient/${phr.remoteId}`, _count: '100' };
  if (phr.pulledUntil) params._lastUpdated = changedSince(phr.pulledUntil, deps.pullOverlapMs);
  let cursor = phr.pulledUntil;
  let deferred = false;
  for await (const page of deps.remote.search('QuestionnaireResponse', params, signal)) {
    const responses = page as QuestionnaireResponse[];
    const mappings = await mappingsOfRemote(
      deps.store,
      responses.flatMap((r) => (isFhirId(r.id) ? [r.id] : [])),
    );
    for (const r of responses) {
      result.fetched++;
      if (!isFhirId(r.id)) {
        // Not even recordable as skipped (its reason is kept by remote id): counted and logged by type.
        deps.log.warn(
          { type: 'QuestionnaireResponse' },
          'sync: Kanta PHR answered a response without a FHIR id; skipped',
        );
        result.skipped++;
        continue;
      }
      const withId = r as QuestionnaireResponse & { id: string };
      if (await pullOne(deps, opts, withId, local, mappings.get(r.id), result)) deferred = true;
      cursor = laterCursor(cursor, r);
    }
  }
  if (cursor && cursor !== phr.pulledUntil && !deferred) await recordPulledUntil(deps, phr.localId, cursor);
}

export async function kantaPullOnce(
  deps: KantaDeps,
  opts: KantaOptions,
  signal?: AbortSignal,
): Promise<PullResult> {
  const result = emptyPullResult();
  for (const phr of await knownPhrPatients(deps)) {
    const local = await readHere<Patient & { id: string }>(deps.store, 'Patient', phr.localId);
    if (!local) {
      // One client gone here does not stop the others' pulls.
      const reason = 'its Patient was deleted here';
      result.skippedClients.push({ patient: phr.localId, reason });
      deps.log.info({ patient: `Patient/${phr.localId}`, reason }, 'sync: pull skipped a client');
      continue;
    }
    result.patients++;
    await pullPatient(deps, opts, phr, local, result, signal);
  }
  await setState(deps.store, 'last_pull_success', new Date().toISOString());
  // Status shows whom the last pull could not follow, as for a FHIR store.
  await setState(deps.store, 'last_pull_skipped', JSON.stringify(result.skippedClients));
  return result;
}
