import type { SyncContext } from '../context.ts';

export interface PushRoundResult {
  claimed: number;
  done: number;
  dead: number;
  blocked: number;
  parked: number;
  retrying: number;
  /** Released to wait for a dependency in flight (or an open circuit). */
  waiting: number;
  /** Held back: a dependency blocked, dead, parked, held or never queued. */
  held: number;
}

/** A result with every count at zero, to add rounds up from. */
export function emptyPushResult(): PushRoundResult {
  return { claimed: 0, done: 0, dead: 0, blocked: 0, parked: 0, retrying: 0, waiting: 0, held: 0 };
}

/** Rows of a round already counted in one of its results. */
export function accountedRows(r: PushRoundResult): number {
  return r.done + r.dead + r.blocked + r.parked + r.retrying + r.waiting + r.held;
}

/** How long a stopped round's rows wait before a claim takes them again: until the breaker would try. */
export function stoppedRoundDelay(breaker: { halfOpenAfterMs?: number } | undefined): number {
  return breaker?.halfOpenAfterMs ?? 5_000;
}

/** What every step of one push round shares. */
export interface Round {
  ctx: SyncContext;
  result: PushRoundResult;
  signal?: AbortSignal;
  /** The round's own claim id (`claimed_by` of its rows; see repository.roundClaimId). */
  claim: string;
  /** When the round's rows were claimed or their lease last renewed (performance.now()). */
  leasedAt: number;
  /** Per outbox row id: local ids of the Consents that let it go (for the disclosure's audit row). */
  consents?: Map<string, string[]>;
  /** Local ids of the round's Patients under turvakielto now (writes.ts `labelledNow`). */
  labelled?: ReadonlySet<string>;
}

/** The remote refused to take more right now (open circuit): the round stops, rows go back. */
export class CircuitOpen extends Error {}

/**
 * The remote or its token endpoint refused our credentials (resilience.credentialsRefused): every
 * request would be refused alike, so the round stops and its rows go back unsent, none dead; the
 * caller keeps the message as the status's last error.
 */
export class CredentialsRefused extends Error {
  /** What the round had settled when it stopped. */
  result?: PushRoundResult;
}

/**
 * Some of the round's rows were no longer its own when it was about to send them (their lease ran out
 * while it waited; another round may hold them now): the round stops unsent, what it still holds goes back.
 */
export class LeaseLost extends Error {}

/**
 * A write stopped right before an attempt left: a Consent of its client changed since its round's gate
 * read them (push/recheck.ts). `released`: the rows that went back to the queue for it, unsent and
 * already counted; the request carried nothing.
 */
export class ConsentChangedInFlight extends Error {
  constructor(readonly released: readonly string[]) {
    super('consent changed while in flight; not sent');
    this.name = 'ConsentChangedInFlight';
  }
}
