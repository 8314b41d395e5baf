/** Settling delivered, failed and dead rows; transient failures back off across rounds. */
import type { OperationOutcome } from '@medplum/fhirtypes';
import { BrokenCircuitError } from 'cockatiel';
import { issue, outcome } from '../../shared/outcome.ts';
import { StoreDatabaseError } from '../../store/index.ts';
import { type Transfer, auditTransfers, exportOf } from '../audit.ts';
import { timeSpent } from '../context.ts';
import type { RemoteRef } from '../remote-client.ts';
import {
  type DeliveredRow,
  type OutboxRow,
  isDeletedHere,
  latestStates,
  mappingsForRemote,
  release,
  settle,
  settleDelivered,
} from '../repository.ts';
import { RemoteHttpError, credentialsRefused, isTransient, issueSummary } from '../resilience.ts';
import { CircuitOpen, CredentialsRefused, type Round } from './state.ts';

/** A row whose write reached the remote (or needed none), with where it lives there. */
export interface Delivered {
  row: OutboxRow;
  remote: RemoteRef;
  reason?: string;
  /** Nothing of ours went to the remote (a delete of what never reached it; the remote's version kept). */
  notSent?: boolean;
}

/**
 * Mappings, done rows, followed clients and the success time (one statement), and the disclosures'
 * audit rows, in one local transaction.
 */
export async function succeed(round: Round, delivered: Delivered[]): Promise<void> {
  if (!delivered.length) return;
  try {
    await settleAsDone(round, delivered);
  } catch (err) {
    // A remote id mapped twice (the id map's unique index): found only when it happens, so that the
    // usual settlement costs no extra query.
    if (!(err instanceof StoreDatabaseError && err.code === UNIQUE_VIOLATION)) throw err;
    await settleAsDone(round, await withoutClashes(round, delivered));
  }
}

const UNIQUE_VIOLATION = '23505';

async function settleAsDone(round: Round, delivered: Delivered[]): Promise<void> {
  if (!delivered.length) return;
  const { ctx } = round;
  const rows = delivered.map(
    (s): DeliveredRow => ({
      outboxId: s.row.id,
      type: s.row.resource_type,
      localId: s.row.resource_id,
      localVersion: s.row.version_id,
      // A delete leaves the mapping as it was; a write without a remote id has nothing to map.
      remoteId: s.row.action !== 'delete' && s.remote.id ? s.remote.id : null,
      remoteVersion: s.remote.versionId ?? null,
      patientId: s.row.patient_id,
      reason: s.reason ?? null,
    }),
  );
  const transfers = delivered
    .filter((s) => !s.notSent)
    .map((s) => exportOf(s.row, { consents: round.consents?.get(s.row.id) }));
  await timeSpent(ctx, 'database', () =>
    ctx.store.transaction(async (tx) => {
      await settleDelivered(tx, round.claim, rows);
      await auditTransfers(tx, ctx, 'export', transfers);
    }),
  );
  round.result.done += delivered.length;
  for (const s of delivered) ctx.metrics.pushed.inc({ type: s.row.resource_type, result: 'done' });
}

/**
 * `delivered` less the rows whose remote id another local resource already maps to (or an earlier row
 * of this batch took): the remote answered one resource of its own for two of ours. When the other was
 * deleted here (a record entered again under the same business identifier) with its delete going or
 * gone, the remote matched the old copy by that identifier: the row waits for the deletion to reach
 * the remote, then creates its own. Otherwise each such row is a dead letter saying so, and the first
 * mapping stays; the data did reach the remote, so what it holds of the row is unknown. Also asked
 * before a conditional create's match is written over (delivery.ts).
 */
export async function withoutClashes(round: Round, delivered: Delivered[]): Promise<Delivered[]> {
  const keyOf = (d: Delivered) =>
    d.row.action !== 'delete' && d.remote.id ? `${d.row.resource_type}/${d.remote.id}` : undefined;
  const keys = delivered.flatMap((d) => keyOf(d) ?? []);
  if (!keys.length) return delivered;
  const mapped = await timeSpent(round.ctx, 'database', () => mappingsForRemote(round.ctx.store, keys));
  const taken = new Map([...mapped].map(([key, m]) => [key, m.local_id]));
  const owners = [...new Set(mapped.values())].map((m) => `${m.resource_type}/${m.local_id}`);
  const latest = await timeSpent(round.ctx, 'database', () => latestStates(round.ctx.store, owners));
  const kept: Delivered[] = [];
  for (const d of delivered) {
    const key = keyOf(d);
    const owner = key ? taken.get(key) : undefined;
    if (key && owner === undefined) taken.set(key, d.row.resource_id);
    if (!key || owner === undefined || owner === d.row.resource_id) {
      kept.push(d);
      continue;
    }
    if (isDeletedHere(latest.get(`${d.row.resource_type}/${owner}`))) {
      await waitForDeletion(
        round,
        d.row,
        `waiting for the deletion of ${d.row.resource_type}/${owner} to reach the remote: the remote matched its copy by the business identifier they share`,
      );
      continue;
    }
    const reason = `sync-push-3: the remote answered with ${key}, which another local resource (${d.row.resource_type}/${owner}) already maps to`;
    await dead(
      round,
      d.row,
      reason,
      outcome([issue('error', 'conflict', reason, `${d.row.resource_type}.id`)]),
      {
        unknown: reason,
      },
    );
  }
  return kept;
}

/** How long a row waits before it is tried again after the deletion it waits for. */
const DELETION_WAIT_MS = 200;

/** Back to the queue for a short wait, `reason` saying which deletion it waits for. */
export async function waitForDeletion(round: Round, row: OutboxRow, reason: string): Promise<void> {
  const { ctx } = round;
  round.result.waiting++;
  // Released, not failed: the wait does not count as an attempt.
  await timeSpent(ctx, 'database', () => release(ctx.store, round.claim, [row.id], DELETION_WAIT_MS, reason));
}

/**
 * The error that stops the whole round instead of settling a row, or undefined: the remote's circuit
 * is open, or our credentials are refused — no row is to blame for either.
 */
export function roundStop(err: unknown): Error | undefined {
  // Already one (a nested write stopped): passed on as it is.
  if (err instanceof CircuitOpen || err instanceof CredentialsRefused) return err;
  if (err instanceof BrokenCircuitError) return new CircuitOpen('remote circuit open');
  const refusal = credentialsRefused(err);
  return refusal === undefined ? undefined : new CredentialsRefused(`${refusal}; rows wait, not sent`);
}

/**
 * A failed write: permanent (4xx, bug) → dead letter; transient → retried later, or dead when spent.
 * Throws the round's stop (roundStop) instead of settling the row.
 */
export async function failed(round: Round, row: OutboxRow, err: unknown): Promise<void> {
  const { ctx } = round;
  const stop = roundStop(err);
  if (stop) throw stop;
  if (err instanceof RemoteHttpError && !isTransient(err) && err.status >= 400 && err.status < 500) {
    const oo =
      err.outcome ?? outcome([issue('error', 'processing', `remote answered ${err.status}: ${err.message}`)]);
    // The remote received the write and refused it: the data reached the remote's party. Why, in the
    // row's reason and the audit: the status and the issues' codes, elements and rules, never the
    // remote's diagnostics (they may quote what we sent: a name, a HETU); the row's outcome keeps them.
    const refused = `remote refused (HTTP ${err.status}): ${issueSummary(oo)}`;
    await dead(round, row, refused, oo, { refused });
    return;
  }
  if (!isTransient(err)) {
    await deadFor(round, row, 'exception', `sync-push-1: ${(err as Error)?.message ?? String(err)}`);
    return;
  }
  if (row.attempts >= ctx.maxAttempts) {
    const reason = `sync-push-2: gave up after ${row.attempts} attempts: ${(err as Error).message}`;
    // An attempt may have reached the remote and lost only its answer: whether the data went is unknown.
    await dead(round, row, reason, outcome([issue('error', 'transient', reason)]), {
      unknown: `sync-push-2: given up after ${row.attempts} attempts without a definite answer; the remote may hold it`,
    });
    return;
  }
  ctx.log.debug({ outbox: row.id, err: (err as Error)?.message }, 'sync: transient failure');
  // The client's own retries are spent: back off across rounds (1 s, 2 s, … ≤ 5 min).
  const delay = Math.min(300_000, ctx.retryBaseMs * 2 ** Math.max(0, row.attempts - 1));
  round.result.retrying++;
  ctx.metrics.pushed.inc({ type: row.resource_type, result: 'retry' });
  await timeSpent(ctx, 'database', () =>
    settle(ctx.store, round.claim, [row.id], 'pending', { reason: (err as Error).message, delayMs: delay }),
  );
}

/** A dead letter for one error of ours (a `sync-*` rule), with its issue type and, where there is one, the element. */
export function deadFor(
  round: Round,
  row: OutboxRow,
  type: Parameters<typeof issue>[1],
  diagnostics: string,
  expression?: string,
): Promise<void> {
  return dead(round, row, diagnostics, outcome([issue('error', type, diagnostics, expression)]));
}

/**
 * A dead letter: `reason`, what an operator reads of it (the listing, the held rows that depend on
 * it), is ours — a rule of ours, or what may be shown of a remote's answer (issueSummary) — and `oo`
 * the whole answer, kept on the row. `audited`: when the data reached (or may have reached) the
 * remote's party, the refused or uncertain disclosure, audited with the settlement.
 */
export async function dead(
  round: Round,
  row: OutboxRow,
  reason: string,
  oo: OperationOutcome,
  audited?: Pick<Transfer, 'refused' | 'unknown'>,
): Promise<void> {
  const { ctx } = round;
  round.result.dead++;
  ctx.metrics.pushed.inc({ type: row.resource_type, result: 'dead' });
  // The log names only codes, elements and rules: a remote's diagnostics may quote the resource.
  ctx.log.warn(
    { outbox: row.id, resource: `${row.resource_type}/${row.resource_id}`, issues: issueSummary(oo) },
    'sync: dead letter',
  );
  await timeSpent(ctx, 'database', () =>
    ctx.store.transaction(async (tx) => {
      const settled = await settle(tx, round.claim, [row.id], 'dead', { reason, outcome: oo });
      if (settled.length && audited) await auditTransfers(tx, ctx, 'export', [exportOf(row, audited)]);
    }),
  );
}
