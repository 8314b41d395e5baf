/**
 * Copies on the remote that nothing maps to: a write left without a definite answer (lost, unreadable,
 * its retries failed, its worker killed) may have been stored there, and when the resource is deleted
 * here before any answer came, the id map cannot name the copy to delete. Such a copy is looked up by
 * the resource's business identifier (with its client, as a Kanta-style store asks) and deleted, so a
 * client deleted here leaves nothing of theirs behind.
 */
import type { Resource } from '@medplum/fhirtypes';
import { isJsonObject } from '../../shared/json-object.ts';
import { isFhirId } from '../../shared/references.ts';
import { identifierCriteria } from '../../store/index.ts';
import { businessIdentifier, timeSpent } from '../context.ts';
import {
  type OutboxRow,
  lastQueuedContent,
  mappingsForLocal,
  mappingsForRemote,
  mayHaveReached,
} from '../repository.ts';
import { isGoneRemotely } from '../resilience.ts';
import type { Round } from './state.ts';

/** Why a delete of a copy nothing mapped to settles done: it was found by its identifier and deleted. */
export const ORPHAN_DELETED =
  'deleted on the remote: found by its business identifier (a write of it had no definite answer)';

/**
 * Deletes the remote copies of `row`'s resource that nothing here maps to, when a write of it queued
 * no later than `row` has left for the remote; returns how many it deleted (0: none there, or none sent).
 */
export async function deleteUnmappedCopies(round: Round, row: OutboxRow): Promise<number> {
  const { ctx } = round;
  const type = row.resource_type;
  const sent = await timeSpent(ctx, 'database', () =>
    mayHaveReached(ctx.store, type, row.resource_id, row.id),
  );
  if (!sent) return 0;
  const ids = await unmappedCopies(round, type, row.resource_id, row.patient_id);
  let deleted = 0;
  for (const id of ids) {
    try {
      await timeSpent(
        ctx,
        'network',
        () => ctx.remote.delete(type, id, round.signal),
        `push: delete ${type} found by identifier`,
      );
      deleted++;
    } catch (err) {
      if (!isGoneRemotely(err)) throw err;
    }
  }
  return deleted;
}

/**
 * The remote ids of the copies of a local resource found by its business identifier that no local
 * resource maps to (another one's copy is never touched). A resource other than a Patient is searched
 * with its client's Patient there, mapped or itself found by identifier; none there, none of its.
 */
async function unmappedCopies(
  round: Round,
  type: string,
  localId: string,
  patientId: string | null,
): Promise<string[]> {
  const ident = await identifierOf(round, type, localId);
  if (!ident) return [];
  const params = Object.fromEntries(new URLSearchParams(identifierCriteria(ident.system, ident.value)));
  if (type !== 'Patient') {
    const [patient] = patientId ? await remotePatients(round, patientId) : [];
    if (!patient) return [];
    params.patient = `Patient/${patient}`;
  }
  const { ctx } = round;
  const page = await timeSpent(
    ctx,
    'network',
    () => ctx.remote.searchPage(type, params, round.signal),
    `push: search ${type} by identifier`,
  );
  // Only a copy that carries the identifier: a remote that ignored the criterion answers with others.
  const ids = page.resources.flatMap((r) =>
    r.resourceType === type && isFhirId(r.id) && carries(r, ident) ? [r.id] : [],
  );
  const mapped = await timeSpent(ctx, 'database', () =>
    mappingsForRemote(
      ctx.store,
      ids.map((id) => `${type}/${id}`),
    ),
  );
  return ids.filter((id) => !mapped.has(`${type}/${id}`));
}

/** A client's Patient on the remote: the mapped copy, else those found by its business identifier. */
async function remotePatients(round: Round, patientId: string): Promise<string[]> {
  const { ctx } = round;
  const ref = `Patient/${patientId}`;
  const mapped = await timeSpent(ctx, 'database', () => mappingsForLocal(ctx.store, [ref]));
  const known = mapped.get(ref)?.remote_id;
  return known ? [known] : unmappedCopies(round, 'Patient', patientId, null);
}

/** A local resource's business identifier (of its last version queued), if it has one. */
async function identifierOf(round: Round, type: string, localId: string): Promise<Ident | undefined> {
  const { ctx } = round;
  const content = await timeSpent(ctx, 'database', () => lastQueuedContent(ctx.store, type, localId));
  return content && businessIdentifier(content);
}

type Ident = { system: string; value: string };

/** Whether a remote resource carries the identifier (in a list, or as the one some types hold). */
function carries(r: Resource, ident: Ident): boolean {
  const raw = (r as { identifier?: unknown }).identifier;
  const list = Array.isArray(raw) ? raw : [raw];
  return list.some((i) => isJsonObject(i) && i.system === ident.system && i.value === ident.value);
}
