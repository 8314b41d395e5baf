import type { Patient, QuestionnaireResponse, Resource } from '@medplum/fhirtypes';
import { RESTRICTED_LABEL, isRestricted, isRestrictedLabel } from '../../mapping/index.ts';
// A Kanta PHR version of a self-assessment response, stored here: a new response is created, a held
// one takes the citizen's answers. Used by the pull, and by the push when the citizen's version wins
// a conflict.
import { identifierCriteria } from '../../store/index.ts';
import { fromKantaResponse } from './convert.ts';
import { type KantaMapping, identifierKey, ownCreate, recordMappings, recordPulledLabel } from './mapping.ts';
import { isOfPatient } from './ownership.ts';
import {
  auditTransfers,
  contentKey,
  markPulledWrites,
  pullLeavesLocal,
  readHere,
  undeliveredChanges,
} from './ports.ts';
import { KANTA, type KantaDeps, type KantaOptions } from './types.ts';

const TYPE = 'QuestionnaireResponse';

/** The base a local copy's subject is read under: none (a local client is `Patient/<local id>`; isOfPatient). */
const HERE = undefined;

/** What the citizen answers in a response: all a Kanta PHR version changes of the local copy. */
const answersOf = (r: QuestionnaireResponse) =>
  contentKey({ resourceType: TYPE, status: r.status, authored: r.authored, item: r.item } as Resource);

/** A Kanta PHR version and what it reads as here: our self-assessment of the local client. */
export interface CitizenVersion {
  remote: QuestionnaireResponse;
  ours: QuestionnaireResponse;
  patientId: string;
}

/**
 * Reads a Kanta PHR version as our self-assessment of `patient` (through the SDK, fromKantaResponse);
 * throws when it cannot be read as one.
 */
export function readCitizenVersion(
  remote: QuestionnaireResponse,
  patient: Patient & { id: string },
  opts: KantaOptions,
): CitizenVersion {
  return { remote, ours: fromKantaResponse(remote, patient, opts), patientId: patient.id };
}

export type StoredVersion =
  /** A response new here, created. */
  | 'created'
  /** The local copy took the citizen's answers. */
  | 'updated'
  /** The local copy holds these answers already, unrestricted (or was deleted here: deletes stay local). */
  | 'unchanged'
  /** A local change of the response is still to go: its push meets the citizen's version. */
  | 'deferred'
  /**
   * The response held here under this business identifier (or mapping) is another client's: nothing
   * written, nothing mapped.
   */
  | 'foreign';

type Tx = Parameters<Parameters<KantaDeps['store']['transaction']>[0]>[0];

/** The local copy a mapping names, or undefined when it was deleted here. */
const heldCopy = (tx: Tx, localId: string) => readHere<QuestionnaireResponse>(tx, TYPE, localId);

/**
 * Stores `remote` (a Kanta PHR version) for the local client, in one transaction with its mapping
 * and its import audit row; the outbox does not send these writes back. A held response keeps
 * everything of its own but the answers (status, authored, items) with the narrative and language
 * that go with them, and loses the restriction label (the label mirrors Kanta PHR's, and this version
 * carries none). Unless `overrideQueued`, a held response with local changes the pull leaves alone
 * (`pullLeavesLocal`) stays as it is (`deferred`): a queued change's push meets the citizen's version
 * as a conflict. `within` runs in the same transaction (a push settles its row there).
 */
export function storeCitizenVersion(
  deps: KantaDeps,
  version: CitizenVersion,
  mapping: KantaMapping | undefined,
  how: { overrideQueued?: boolean; within?: (tx: Tx) => Promise<void> } = {},
): Promise<StoredVersion> {
  const { remote, ours, patientId } = version;
  return deps.store.transaction(async (tx) => {
    markPulledWrites(tx);
    const stored = await store(tx, deps, ours, remote, patientId, mapping, how.overrideQueued ?? false);
    await how.within?.(tx);
    return stored;
  });
}

/** What storing a citizen's version does in `tx` (see storeCitizenVersion). */
async function store(
  tx: Tx,
  deps: KantaDeps,
  ours: QuestionnaireResponse,
  remote: QuestionnaireResponse,
  patientId: string,
  mapping: KantaMapping | undefined,
  overrideQueued: boolean,
): Promise<StoredVersion> {
  const ident = ours.identifier;
  let held: QuestionnaireResponse | undefined;
  if (mapping) {
    held = await heldCopy(tx, mapping.localId);
    if (!held) return 'unchanged';
    if (!isOfPatient(held, patientId, HERE)) return 'foreign';
  } else {
    // Our own create, met before its answer was mapped: if it was deleted here meanwhile, it stays so.
    const own = await ownCreate(tx, identifierKey(ours) ?? '');
    if (own && !(await heldCopy(tx, own))) return 'unchanged';
    const written = await tx.create(ours, {
      ifNoneExist: identifierCriteria(ident?.system ?? KANTA.businessSystem, ident?.value ?? ''),
    });
    const localId = written.resource.id as string;
    // Found by business identifier alone: it may be another client's, whose answers are not these.
    if (!written.created && !isOfPatient(written.resource as QuestionnaireResponse, patientId, HERE))
      return 'foreign';
    if (written.created) {
      await recordMappings(tx, [{ localId, remote, localVersion: written.resource.meta?.versionId }]);
      await auditTransfers(tx, deps, 'import', [{ type: TYPE, localId, action: 'create', patientId }]);
      return 'created';
    }
    held = written.resource as QuestionnaireResponse;
  }
  const localId = held.id as string;
  if (answersOf(held) === answersOf(ours) && !isRestricted(held)) {
    await recordMappings(tx, [{ localId, remote, localVersion: held.meta?.versionId }]);
    return 'unchanged';
  }
  const undelivered = await undeliveredChanges(tx, TYPE, localId);
  if (!overrideQueued && pullLeavesLocal(undelivered, deps.families[TYPE]?.conflict)) return 'deferred';
  const { status, authored, item, text, language } = ours;
  // Readable and not restricted: a restriction the citizen lifted is lifted here too.
  const updated = await tx.update(
    withRestriction({ ...held, status, authored, item, text, language }, false),
    { ifMatch: held.meta?.versionId },
  );
  await recordMappings(tx, [{ localId, remote, localVersion: updated.resource.meta?.versionId }]);
  await auditTransfers(tx, deps, 'import', [{ type: TYPE, localId, action: 'update', patientId }]);
  return 'updated';
}

/** `r` labelled restricted by the citizen, or with that label taken away; its other labels stay. */
function withRestriction(r: QuestionnaireResponse, restricted: boolean): QuestionnaireResponse {
  const others = (r.meta?.security ?? []).filter((c) => !isRestrictedLabel(c));
  const security = restricted ? [...others, { ...RESTRICTED_LABEL }] : others;
  const { security: _old, ...meta } = r.meta ?? {};
  return { ...r, meta: security.length ? { ...meta, security } : meta };
}

/**
 * The citizen restricted a response held here (a later version on Kanta PHR carries `R`, or labels
 * that cannot be read): the local copy is labelled restricted too, in one transaction with its import
 * audit row, and keeps its answers — what the citizen restricted is not taken into the professional
 * view. The mapping keeps the Kanta PHR version last written or read, so a local edit meets the
 * restricted version as a conflict and never overwrites it; its local side takes the labelled version
 * (recordSettledLabel). A copy labelled already is recorded so too.
 */
export function markRestricted(
  deps: KantaDeps,
  mapping: KantaMapping,
  patientId: string,
): Promise<'updated' | 'unchanged'> {
  return deps.store.transaction(async (tx) => {
    markPulledWrites(tx);
    const held = await heldCopy(tx, mapping.localId);
    if (!held || !isOfPatient(held, patientId, HERE)) return 'unchanged';
    if (isRestricted(held)) {
      await recordSettledLabel(tx, held);
      return 'unchanged';
    }
    const labelled = await tx.update(withRestriction(held, true), { ifMatch: held.meta?.versionId });
    await recordSettledLabel(tx, labelled.resource as QuestionnaireResponse);
    await auditTransfers(tx, deps, 'import', [
      { type: TYPE, localId: mapping.localId, action: 'update', patientId },
    ]);
    return 'updated';
  });
}

/**
 * A local copy labelled restricted (`copy`, its current version), recorded as the version the sync
 * wrote (recordPulledLabel), which `sync backfill` then does not queue — only while no change of it
 * waits here: a change older than the label, queued or stuck, must still go and meet the restricted
 * version as a conflict, where a newer recorded version would settle it unsent as superseded
 * (`isOlderThanSent`). Such a conflict, settled, records the copy (recordRestrictedCopy).
 */
async function recordSettledLabel(tx: Tx, copy: QuestionnaireResponse): Promise<void> {
  const id = copy.id as string;
  const waiting = await undeliveredChanges(tx, TYPE, id);
  if (waiting.queued || waiting.stuck || waiting.deletes) return;
  await recordPulledLabel(tx, id, copy.meta?.versionId as string);
}

/**
 * After a change met the citizen's restricted version and was settled unsent (conflict.ts): a local
 * copy the pull labelled restricted meanwhile is recorded as the sync's version (recordSettledLabel).
 */
export async function recordRestrictedCopy(tx: Tx, localId: string): Promise<void> {
  const held = await heldCopy(tx, localId);
  if (held && isRestricted(held)) await recordSettledLabel(tx, held);
}
