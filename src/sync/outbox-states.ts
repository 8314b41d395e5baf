/**
 * The states an outbox row moves through: `pending` waits to be claimed; `inflight` is claimed by a
 * worker; `held` waits for a dependency that is blocked, dead, parked or never queued (re-checked
 * after a delay); `blocked` by consent; `parked` by a conflict; `dead` by a permanent failure; `done`
 * delivered (or superseded).
 */
export const OUTBOX_STATES = ['pending', 'inflight', 'held', 'done', 'dead', 'blocked', 'parked'] as const;
export type OutboxState = (typeof OUTBOX_STATES)[number];
