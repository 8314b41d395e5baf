// Everything the Kanta PHR adapter uses from the rest of the sync stage, in one place: the outbox
// (claim / settle), the round and pull result shapes, the transient-error test and how a pull's
// writes are kept out of the outbox. When the sync stage moves these, only this file follows.
/** markPulledWrites(tx): the outbox hook does not send that transaction's writes back. */
export {
  type OutboxRow,
  claim,
  markPulledWrites,
  setState,
  settle,
  settleBlocked,
  vanishedVersion,
} from '../repository.ts';
/** reclaimAbandoned: rows of dead workers (at once on this host, else after their lease) claimable again. */
export { reclaimAbandoned } from '../workers.ts';
export { type PullResult, emptyPullResult } from '../pull.ts';
export type { PushRoundResult } from '../push/state.ts';
export { entryStatus, refFromAnswer, type RemoteClient } from '../remote-client.ts';
export { isTransient } from '../resilience.ts';
export type { DisclosureRule } from '../consent-gate.ts';
export type { SyncStore } from '../context.ts';
/**
 * auditTransfers: the audit rows of what went to Kanta PHR (exports, refused ones too) and came from
 * it (imports); exportOf: an outbox row as an export.
 */
export { auditTransfers, exportOf } from '../audit.ts';
export { issueSummary } from '../resilience.ts';
