/**
 * One round of a push worker: claim a batch, let consent through what it permits (per client), order
 * the rest by dependencies, then deliver wave by wave; every claimed row ends settled or released.
 */
import { randomUUID } from 'node:crypto';
import { issue, outcome } from '../../shared/outcome.ts';
import { type SyncContext, businessIdentifier, timeSpent } from '../context.ts';
import { collectReferences } from '../references.ts';
import {
  type IdMapping,
  type OutboxRow,
  claim,
  mappingsForLocal,
  release,
  renewLease,
} from '../repository.ts';
import { reclaimAbandoned } from '../workers.ts';
import { gateByConsent } from './consent.ts';
import { deliverTransaction, deliverWave } from './delivery.ts';
import { WAIT_FOR_DEPENDENCY_MS, orderByDependencies } from './dependencies.ts';
import { dead } from './outcomes.ts';
import { CircuitOpen, type PushRoundResult, type Round, emptyPushResult } from './state.ts';
import { type LogicalTargets, type RemoteWrite, asCreate, remoteWrite } from './writes.ts';

export async function pushRound(ctx: SyncContext, signal?: AbortSignal): Promise<PushRoundResult> {
  const result = emptyPushResult();
  await timeSpent(ctx, 'database', () => reclaimAbandoned(ctx.store));
  const rows = await timeSpent(ctx, 'database', () =>
    claim(ctx.store, ctx.workerId, ctx.batchSize, ctx.leaseMs),
  );
  result.claimed = rows.length;
  if (!rows.length) return result;
  const round: Round = { ctx, result, signal };
  try {
    await run(round, rows);
  } catch (err) {
    // Whatever was not settled goes back to the queue; the lease guard keeps settled rows as they are.
    const delay = err instanceof CircuitOpen ? (ctx.remote.config.breaker?.halfOpenAfterMs ?? 5_000) : 1_000;
    await timeSpent(ctx, 'database', () =>
      release(
        ctx.store,
        ctx.workerId,
        rows.map((r) => r.id),
        delay,
        (err as Error).message,
      ),
    );
    if (!(err instanceof CircuitOpen)) throw err;
  }
  return result;
}

async function run(round: Round, rows: OutboxRow[]): Promise<void> {
  const { ctx } = round;
  const permitted = await gateByConsent(round, rows);
  const identified = await requireIdentifiers(round, permitted);
  const { waves, logical } = await orderByDependencies(round, identified);
  for (const wave of waves) {
    const ids = wave.map((r) => r.id);
    await timeSpent(ctx, 'database', () => renewLease(ctx.store, ctx.workerId, ids, ctx.leaseMs));
    // Later waves reference what earlier ones created: read the mappings again.
    const keys = wave.flatMap((r) => [`${r.resource_type}/${r.resource_id}`, ...refsOf(r)]);
    const mappings = await timeSpent(ctx, 'database', () => mappingsForLocal(ctx.store, keys));
    const writes: RemoteWrite[] = [];
    const notYet: OutboxRow[] = [];
    const untranslated = new Set<string>();
    for (const row of wave) {
      const w = remoteWrite(row, mappings, ctx.pushTypes, logical);
      if ('untranslated' in w) {
        // A dependency of an earlier wave did not make it: never send a local id; wait for it.
        notYet.push(row);
        for (const r of w.untranslated) untranslated.add(r);
      } else writes.push(w);
    }
    if (notYet.length) {
      round.result.waiting += notYet.length;
      const reason = `waiting for ${[...untranslated].slice(0, 3).join(', ')} to reach the remote`;
      await timeSpent(ctx, 'database', () =>
        release(
          ctx.store,
          ctx.workerId,
          notYet.map((r) => r.id),
          WAIT_FOR_DEPENDENCY_MS,
          reason,
        ),
      );
    }
    const recreate = (w: RemoteWrite) => {
      const again = asCreate(w, ctx.pushTypes, logical, mappings);
      return 'untranslated' in again ? undefined : again;
    };
    await deliverWave(round, writes, recreate);
  }
}

function refsOf(row: OutboxRow): string[] {
  return row.action === 'delete' ? [] : [...collectReferences(row.payload)];
}

/** Kanta-style stores take only conditional creates keyed by business identifier. */
async function requireIdentifiers(round: Round, rows: OutboxRow[]): Promise<OutboxRow[]> {
  const passing: OutboxRow[] = [];
  for (const row of rows) {
    if (row.action === 'delete' || businessIdentifier(row.payload)) {
      passing.push(row);
      continue;
    }
    await dead(
      round,
      row,
      outcome([
        issue(
          'error',
          'required',
          `sync-id-1: ${row.resource_type} has no business identifier; Kanta-style stores take only conditional creates keyed by identifier`,
          `${row.resource_type}.identifier`,
        ),
      ]),
    );
  }
  return passing;
}
