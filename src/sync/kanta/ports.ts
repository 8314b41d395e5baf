// Everything the Kanta PHR adapter uses from the rest of the sync stage, in one place: the outbox
// (claim / settle), the round and pull result shapes, the transient-error test and how a pull's
// writes are kept out of the outbox. When the sync stage moves these, only this file follows.
/** markPulledWrites(tx): the outbox hook does not send that transaction's writes back. */
/** release: rows back to the queue unsent, the attempt not counted. */
export {
  CONSENT_CHANGED_IN_FLIGHT,
  type OutboxRow,
  SUPERSEDED_BY_SENT,
  claim,
  roundClaimId,
  isOlderThanSent,
  laterRowsOf,
  markPulledWrites,
  recordConflict,
  release,
  setState,
  settle,
  settleBlocked,
  supersedeQueued,
  undeliveredChanges,
  vanishedVersion,
} from '../repository.ts';
/** contentKey: a resource's content without id and server-owned meta (equal ⇔ same content); readHere: a local read, undefined when gone. */
export { contentKey, readHere } from '../context.ts';
/** pullLeavesLocal: whether a pull leaves a local resource with undelivered changes as it is. */
export { pullLeavesLocal } from '../remote-apply.ts';
/** conflictPolicyOf: how a row's conflict is settled (an operator's choice, else the family's policy); remoteChanged: a parked conflict's issue. */
export { conflictPolicyOf, remoteChanged } from '../push/delivery.ts';
/** reclaimAbandoned: rows of dead workers (at once on this host, else after their lease) claimable again. */
export { reclaimAbandoned } from '../workers.ts';
/** changedSince / laterCursor: a pull's window from its cursor, and the cursor moved on by a pulled resource. */
export { type PullResult, changedSince, emptyPullResult, laterCursor } from '../pull.ts';
export type { PushRoundResult } from '../push/state.ts';
/**
 * roundStop: the error that stops a whole round instead of settling a row (the remote's circuit open,
 * our credentials refused: CircuitOpen, CredentialsRefused); CredentialsRefused is thrown on with the
 * round's result, for the caller to keep as the status's last error.
 */
export { roundStop } from '../push/outcomes.ts';
export {
  CredentialsRefused,
  LeaseLost,
  type Round,
  accountedRows,
  stoppedRoundDelay,
} from '../push/state.ts';
/**
 * keepLease: renews a round's lease on the rows it still works on once a quarter of it has gone by;
 * LeaseLost when any of them is no longer the round's (its lease ran out; another round may hold it).
 */
export { keepLease } from '../push/lease.ts';
/**
 * consentReleased: the rows a Consent of their client marked while they were in flight, released so
 * (right before a send); consentGuard: the same asked before each attempt of a request (its
 * `beforeAttempt`), ConsentChangedInFlight naming the rows released when it stops one.
 */
export { consentGuard, consentReleased } from '../push/recheck.ts';
export { ConsentChangedInFlight } from '../push/state.ts';
export {
  type BeforeAttempt,
  entryAnswer,
  entryStatus,
  refFromAnswer,
  type RemoteClient,
} from '../remote-client.ts';
export { RemoteHttpError, isGoneRemotely, isTransient } from '../resilience.ts';
export type { DisclosureRule } from '../consent-gate.ts';
export type { FamilyRule } from '../config.ts';
export type { SyncContext, SyncStore } from '../context.ts';
/**
 * auditTransfers: the audit rows of what went to Kanta PHR (exports, refused ones too) and came from
 * it (imports); exportOf: an outbox row as an export.
 */
export { auditTransfers, exportOf } from '../audit.ts';
/**
 * sendAs: right before anything of a client leaves, the store's receiving party is recorded (by the
 * first) and must be the service's; OtherParty (sync-config-3) otherwise, nothing sent.
 */
export { OtherParty, sendAs } from '../party.ts';
export { issueSummary } from '../resilience.ts';
