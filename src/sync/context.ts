import type { Resource } from '@medplum/fhirtypes';
import type { Logger } from 'pino';
import { FhirError } from '../shared/outcome.ts';
import type { Store } from '../store/index.ts';
import type { FamilyRule } from './config.ts';
import type { DisclosureRule } from './consent-gate.ts';
import type { Doorbell } from './doorbell.ts';
import type { SyncMetrics } from './metrics.ts';
import type { PulledCheck } from './pull-check.ts';
import type { RemoteClient } from './remote-client.ts';
import type { Slots } from './slots.ts';

/** Accumulated wall time per kind of work, for the benchmark's breakdown. */
export interface Timings {
  /** Wall time waiting on the remote (the network and everything the remote did). */
  network: number;
  database: number;
  consent: number;
  /**
   * What the remote reported (Server-Timing) for validation and its database, summed over requests,
   * and the sum of those requests' own durations: with concurrent requests the sums exceed `network`
   * (a union), so a share of `network` is `network × remoteX / requests`.
   */
  remoteValidation: number;
  remoteDatabase: number;
  requests: number;
}

type Span = 'network' | 'database' | 'consent';

/** The part of the store's contract (src/store/index.ts) the sync stage uses. */
export type SyncStore = Pick<Store, 'query' | 'search' | 'read' | 'transaction' | 'migrate' | 'addHooks'>;

/** What the sync is waiting for right now (status shows it, so a long wait is never silent). */
export interface Wait {
  what: string;
  since: number;
}

export interface SyncContext {
  store: SyncStore;
  remote: RemoteClient;
  party: string;
  families: Record<string, FamilyRule>;
  pushTypes: Set<string>;
  pullTypes: string[];
  workerId: string;
  batchSize: number;
  leaseMs: number;
  maxAttempts: number;
  /** First delay between rounds for a row whose transient failure outlived the client's retries. */
  retryBaseMs: number;
  pullOverlapMs: number;
  pullPageSize: number;
  /** Upper bound of one pull. */
  pullTimeoutMs: number;
  /** Delay before a held row is checked again. */
  heldRecheckMs: number;
  disclosure: DisclosureRule;
  /** The refusal of a pulled resource (pull-check.ts), or undefined when it may be stored. */
  checkPulled: PulledCheck;
  today: () => string;
  log: Logger;
  metrics: SyncMetrics;
  timings: Timings;
  /** Waits in progress, by a private token. */
  waits: Map<symbol, Wait>;
  /** Push Bundles in flight at once (`pushConcurrency`); rounds do their local work outside them. */
  sending: Slots;
  /** Rung after a local commit queued rows: idle push loops wake instead of polling. */
  doorbell: Doorbell;
}

const spans = new WeakMap<Timings, Record<Span, { open: number; since: number }>>();

/**
 * Adds the wall time of `fn` to `ctx.timings[kind]`. Overlapping spans of one kind (concurrent
 * requests) count once: the union of the intervals, so shares of the total stay meaningful.
 */
export async function timeSpent<T>(
  ctx: SyncContext,
  kind: Span,
  fn: () => Promise<T>,
  what?: string,
): Promise<T> {
  const token = Symbol();
  if (what) ctx.waits.set(token, { what, since: Date.now() });
  let open = spans.get(ctx.timings);
  if (!open) {
    open = {
      network: { open: 0, since: 0 },
      database: { open: 0, since: 0 },
      consent: { open: 0, since: 0 },
    };
    spans.set(ctx.timings, open);
  }
  const span = open[kind];
  if (span.open++ === 0) span.since = performance.now();
  try {
    return await fn();
  } finally {
    if (what) ctx.waits.delete(token);
    if (--span.open === 0) ctx.timings[kind] += performance.now() - span.since;
  }
}

/** A resource held in the local store, or undefined when there is none (never stored, or deleted). */
export async function readHere<T extends Resource>(
  db: Pick<SyncStore, 'read'>,
  type: string,
  id: string,
): Promise<T | undefined> {
  try {
    return await db.read<T>(type, id);
  } catch (err) {
    if (err instanceof FhirError && (err.status === 404 || err.status === 410)) return undefined;
    throw err;
  }
}

type Ident = { system?: string; value?: string };

/** The business identifier Kanta keys conditional creates on (system urn:ietf:rfc:3986 preferred). */
export function businessIdentifier(r: Resource): { system: string; value: string } | undefined {
  // Most types carry a list; QuestionnaireResponse (and a few others) a single identifier.
  const raw = (r as { identifier?: Ident[] | Ident }).identifier;
  const ids = Array.isArray(raw) ? raw : raw ? [raw] : [];
  const pick =
    ids.find((i) => i.system === 'urn:ietf:rfc:3986' && i.value) ?? ids.find((i) => i.system && i.value);
  return pick?.system && pick.value ? { system: pick.system, value: pick.value } : undefined;
}

/** Resource content without id and server-owned meta, keys sorted: equal ⇔ same clinical content. */
export function contentKey(r: Resource): string {
  const {
    id: _id,
    meta,
    ...rest
  } = r as Resource & { meta?: { profile?: string[]; security?: unknown[]; tag?: unknown[] } };
  const keep = { ...rest, meta: { profile: meta?.profile, security: meta?.security, tag: meta?.tag } };
  return JSON.stringify(sortKeys(keep));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}
