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

/** What every step of one push round shares. */
export interface Round {
  ctx: SyncContext;
  result: PushRoundResult;
  signal?: AbortSignal;
  /** When the round's rows were claimed (performance.now()): their lease runs from then. */
  claimedAt: number;
  /** Per outbox row id: local ids of the Consents that let it go (for the disclosure's audit row). */
  consents?: Map<string, string[]>;
}

/** The remote refused to take more right now (open circuit): the round stops, rows go back. */
export class CircuitOpen extends Error {}
