/**
 * Our own earlier versions on the remote. A write that went in a transaction Bundle referring to
 * another entry by `urn:uuid` leaves no digest of ours (delivery.remember: the remote stores the
 * reference resolved to an id not known yet). When its answer was lost or unreadable and a newer local
 * version then meets that copy, the copy is recognised as ours by translating each version we sent
 * (its row left for the remote) with the mappings known now — not taken for a concurrent remote edit.
 */
import { contentKey, timeSpent } from '../context.ts';
import { collectReferences } from '../references.ts';
import { mappingsForLocal, sentRowsBefore } from '../repository.ts';
import { logicalTargets } from './dependencies.ts';
import type { Round } from './state.ts';
import { type RemoteWrite, remoteWrite, writeTarget } from './writes.ts';

/** Whether `found` (a remote copy's contentKey) is a version of `w`'s resource we sent before `w`. */
export async function isEarlierVersionOfOurs(round: Round, w: RemoteWrite, found: string): Promise<boolean> {
  const { ctx } = round;
  const rows = await timeSpent(ctx, 'database', () =>
    sentRowsBefore(ctx.store, w.row.resource_type, w.row.resource_id, w.row.id),
  );
  const sent = rows.filter((r) => r.payload);
  if (!sent.length) return false;
  const refs = [...new Set(sent.flatMap((r) => [...collectReferences(r.payload)]))];
  const typeOf = (ref: string) => ref.slice(0, ref.indexOf('/'));
  const synced = refs.filter((r) => ctx.pushTypes.has(typeOf(r)));
  const mappings = await timeSpent(ctx, 'database', () => mappingsForLocal(ctx.store, synced));
  const logical = await logicalTargets(
    round,
    refs.filter((r) => !ctx.pushTypes.has(typeOf(r))),
  );
  const target = writeTarget(ctx, round.labelled);
  return sent.some((row) => {
    const again = remoteWrite(row, mappings, target, logical);
    return !('untranslated' in again) && !!again.resource && contentKey(again.resource) === found;
  });
}
