// A versioned update Kanta PHR refused with 412: the response there is not at the version we last
// wrote or read. Re-read it: our own content (an earlier answer lost on the way back) is success;
// a version the citizen restricted is never overwritten; any other is the citizen's edit, settled by
// the family's conflict policy (self-assessments: remote-wins, the citizen's version is kept here).
import type { Patient, QuestionnaireResponse, Resource } from '@medplum/fhirtypes';
import { outcome } from '../../shared/outcome.ts';
import {
  type CitizenVersion,
  readCitizenVersion,
  recordRestrictedCopy,
  storeCitizenVersion,
} from './citizen-version.ts';
import { hiddenReason } from './convert.ts';
import { type KantaMapping, recordMappings } from './mapping.ts';
import {
  type OutboxRow,
  type PushRoundResult,
  auditTransfers,
  conflictPolicyOf,
  contentKey,
  exportOf,
  isGoneRemotely,
  readHere,
  recordConflict,
  remoteChanged,
  settle,
  supersedeQueued,
} from './ports.ts';
import type { KantaDeps, KantaOptions, KantaRound } from './types.ts';

const TYPE = 'QuestionnaireResponse';

/** A versioned update that met another version on Kanta PHR. */
export interface KantaConflict {
  row: OutboxRow;
  /** What we sent (Kanta's shape, with the remote id). */
  sent: QuestionnaireResponse & { id: string };
  mapping: KantaMapping;
  /** The Consents that permitted the disclosure (for its audit row). */
  consents: string[];
}

type Tx = Parameters<Parameters<KantaDeps['store']['transaction']>[0]>[0];

/** Settles the row done with its mapping (and, when something went, the disclosure's audit row). */
function delivered(deps: KantaRound, c: KantaConflict, remote: Resource, reason?: string) {
  return deps.store.transaction(async (tx) => {
    const localVersion = c.row.version_id ?? undefined;
    await recordMappings(tx, [{ localId: c.row.resource_id, remote, localVersion }]);
    const settled = await settle(tx, deps.claim, [c.row.id], 'done', reason ? { reason } : {});
    if (settled.length) await auditTransfers(tx, deps, 'export', [exportOf(c.row, { consents: c.consents })]);
  });
}

function note(deps: KantaDeps, c: KantaConflict, policy: string, resolution: string, found?: string) {
  deps.log.warn(
    {
      outbox: c.row.id,
      remote: `${TYPE}/${c.mapping.remoteId}`,
      expected: c.mapping.remoteVersion,
      found,
      policy,
    },
    "sync: conflict with the citizen's version on Kanta PHR",
  );
  return recordConflict(deps.store, {
    outboxId: c.row.id,
    type: TYPE,
    localId: c.row.resource_id,
    policy,
    resolution,
    detail: { remoteId: c.mapping.remoteId, expectedVersion: c.mapping.remoteVersion, remoteVersion: found },
  });
}

/** The citizen's version as it reads here, or undefined when it cannot be read as a self-assessment. */
function readable(
  current: QuestionnaireResponse,
  patient: Patient & { id: string },
  opts: KantaOptions,
): CitizenVersion | undefined {
  try {
    return readCitizenVersion(current, patient, opts);
  } catch {
    return undefined;
  }
}

const UNREADABLE = 'changed, and its version cannot be read as a self-assessment; local version kept';

/**
 * Why an update of a response the citizen deleted on Kanta PHR is not sent: their delete stands (as a
 * local delete stays local), and nothing brings the response back there.
 */
export const DELETED_THERE =
  'not sent: the response is no longer on Kanta PHR (the citizen deleted it there; deletes stay where they are made)';

/** The response as Kanta PHR holds it now, or undefined when it is gone (deleted there). */
async function currentThere(
  deps: KantaDeps,
  remoteId: string,
  signal?: AbortSignal,
): Promise<QuestionnaireResponse | undefined> {
  try {
    return await deps.remote.read<QuestionnaireResponse>(TYPE, remoteId, signal);
  } catch (err) {
    if (isGoneRemotely(err)) return undefined;
    throw err;
  }
}

/** Why a row that met the citizen's version was settled without being sent. */
function keptBecause(restricted: unknown, patient: unknown, version: unknown): string {
  if (restricted)
    return 'conflict: the citizen restricted the response on Kanta PHR; the local version was not sent';
  if (!patient)
    return "conflict: the citizen's version on Kanta PHR kept there; the client's Patient was deleted here";
  if (version) return "conflict: the citizen's version on Kanta PHR kept (remote-wins)";
  return "conflict: the citizen's version on Kanta PHR kept there (an operator chose remote); not readable as a self-assessment, so the local copy is unchanged";
}

/** Parks the row for a person (`sync resolve`), naming the versions, or why the citizen's cannot be kept. */
async function park(deps: KantaRound, c: KantaConflict, found: string | undefined, unreadable?: string) {
  await note(deps, c, 'park', unreadable ? 'parked: remote version not readable here' : 'parked', found);
  const why = unreadable ?? `is at version ${found}, we expected ${c.mapping.remoteVersion}`;
  await settle(deps.store, deps.claim, [c.row.id], 'parked', {
    reason: `conflict: Kanta PHR ${TYPE}/${c.mapping.remoteId} ${why}; parked for manual resolution`,
    outcome: outcome([remoteChanged(TYPE)]),
  });
}

export async function settleKantaConflict(
  deps: KantaRound,
  opts: KantaOptions,
  c: KantaConflict,
  result: PushRoundResult,
  signal?: AbortSignal,
): Promise<void> {
  const current = await currentThere(deps, c.mapping.remoteId, signal);
  if (!current) {
    await settle(deps.store, deps.claim, [c.row.id], 'done', { reason: DELETED_THERE });
    result.done++;
    return;
  }
  const found = current.meta?.versionId;
  if (contentKey(current) === contentKey(c.sent)) {
    await delivered(deps, c, current);
    result.done++;
    return;
  }
  const restricted = hiddenReason(current);
  const patient = await readHere<Patient & { id: string }>(deps.store, 'Patient', c.row.patient_id ?? '');
  const version = restricted || !patient ? undefined : readable(current, patient, opts);
  const unreadable = restricted || !patient || version ? undefined : UNREADABLE;
  // The citizen's restriction, or a client deleted here, leaves nothing to choose: the version there
  // stays. One not readable here is parked for a person, unless one chose already.
  const policy =
    restricted || !patient
      ? 'remote-wins'
      : unreadable && !c.row.resolve_with
        ? 'park'
        : conflictPolicyOf(c.row, deps.families);
  const chosen = c.row.resolve_with ? ` (an operator chose ${c.row.resolve_with})` : '';
  if (policy === 'park') {
    await park(deps, c, found, unreadable);
    result.parked++;
    return;
  }
  if (policy === 'local-wins') {
    // Over the version just read; if it moves again, the row is retried in a later round.
    const written = await deps.remote.update(c.sent, found, signal);
    await note(deps, c, policy, `local written${chosen}`, found);
    await delivered(
      deps,
      c,
      { id: written.id, meta: { versionId: written.versionId } } as Resource,
      "conflict: local version written over the citizen's (local-wins)",
    );
    result.done++;
    return;
  }
  await note(
    deps,
    c,
    policy,
    restricted ? 'remote kept (restricted by the citizen)' : `remote kept${chosen}`,
    found,
  );
  const keep = async (tx: Tx) => {
    await supersedeQueued(tx, TYPE, c.row.resource_id, c.row.id);
    await settle(tx, deps.claim, [c.row.id], 'done', {
      reason: keptBecause(restricted, patient, version),
    });
    // A copy the pull labelled restricted while this change waited is the sync's own version now.
    if (restricted) await recordRestrictedCopy(tx, c.row.resource_id);
  };
  if (!version) {
    await deps.store.transaction(keep);
  } else {
    await storeCitizenVersion(deps, version, c.mapping, {
      overrideQueued: true,
      within: keep,
    });
  }
  result.done++;
}
