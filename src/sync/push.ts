import type { Bundle, Consent, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { BrokenCircuitError } from 'cockatiel';
import { issue, outcome } from '../shared/outcome.ts';
import { type SyncContext, businessIdentifier, contentKey, timed } from './context.ts';
import { type IdMapping, mappingsForLocal, upsertMappings } from './idmap.ts';
import { type OutboxRow, claim, reclaimExpired, release, renewLease, settle } from './outbox.ts';
import { applyRemote } from './pull.ts';
import { collectReferences, rewriteReferences } from './references.ts';
import { type RemoteRef, refFromAnswer, stripForRemote } from './remote-client.ts';
import { RemoteHttpError, isTransient } from './resilience.ts';

export interface PushRoundResult {
  claimed: number;
  done: number;
  dead: number;
  blocked: number;
  parked: number;
  retrying: number;
  waiting: number;
}

/** A result with every count at zero, to add rounds up from. */
export function emptyPushResult(): PushRoundResult {
  return { claimed: 0, done: 0, dead: 0, blocked: 0, parked: 0, retrying: 0, waiting: 0 };
}

/** One prepared remote write for an outbox row. */
interface Planned {
  row: OutboxRow;
  key: string;
  method: 'POST' | 'PUT' | 'DELETE';
  url: string;
  resource?: Resource;
  ifNoneExist?: string;
  ifMatch?: string;
  mapping?: IdMapping;
}

interface Settled {
  row: OutboxRow;
  remote: RemoteRef;
  reason?: string;
}

class CircuitOpen extends Error {}

/**
 * One round of the push worker: claim a batch, gate it (consent, Kanta rules), order it by
 * in-batch references, deliver (Bundle or one by one), settle every row.
 */
export async function pushRound(ctx: SyncContext, signal?: AbortSignal): Promise<PushRoundResult> {
  const result = emptyPushResult();
  const db = ctx.store;
  await timed(ctx, 'database', () => reclaimExpired(db));
  const rows = await timed(ctx, 'database', () => claim(db, ctx.workerId, ctx.batchSize, ctx.leaseMs));
  result.claimed = rows.length;
  if (!rows.length) return result;
  const round = new Round(ctx, result, signal);
  try {
    await round.run(rows);
  } catch (err) {
    // Whatever was not settled goes back to the queue; the lease guard keeps settled rows as they are.
    await timed(ctx, 'database', () =>
      release(
        db,
        ctx.workerId,
        rows.map((r) => r.id),
        err instanceof CircuitOpen ? breakerDelay(ctx) : 1_000,
        (err as Error).message,
      ),
    );
    if (!(err instanceof CircuitOpen)) throw err;
  }
  return result;
}

function breakerDelay(ctx: SyncContext): number {
  return ctx.remote.config.breaker?.halfOpenAfterMs ?? 5_000;
}

class Round {
  constructor(
    private readonly ctx: SyncContext,
    private readonly result: PushRoundResult,
    private readonly signal?: AbortSignal,
  ) {}

  async run(rows: OutboxRow[]): Promise<void> {
    const passing = await this.gate(rows);
    const keys = new Set<string>();
    for (const row of passing) keys.add(`${row.resource_type}/${row.resource_id}`);
    const refsByRow = new Map<string, string[]>();
    const wanted = new Set(keys);
    for (const row of passing) {
      const refs = [...collectReferences(row.payload)].filter(
        (r) =>
          this.ctx.pushTypes.has(r.slice(0, r.indexOf('/'))) &&
          r !== `${row.resource_type}/${row.resource_id}`,
      );
      refsByRow.set(row.id, refs);
      for (const r of refs) wanted.add(r);
    }
    const mappings = await timed(this.ctx, 'database', () => mappingsForLocal(this.ctx.store, wanted));
    const waitingFor = await this.pendingTargets([...wanted].filter((r) => !mappings.has(r) && !keys.has(r)));

    const waves: OutboxRow[][] = [];
    const level = new Map<string, number>();
    const rowByKey = new Map(passing.map((r) => [`${r.resource_type}/${r.resource_id}`, r]));
    const levelOf = (row: OutboxRow, seen: Set<string>): number => {
      const known = level.get(row.id);
      if (known !== undefined) return known;
      let l = 0;
      for (const ref of refsByRow.get(row.id) ?? []) {
        const dep = rowByKey.get(ref);
        if (dep && !mappings.has(ref) && !seen.has(ref))
          l = Math.max(l, levelOf(dep, new Set([...seen, ref])) + 1);
      }
      level.set(row.id, l);
      return l;
    };
    const waiting: OutboxRow[] = [];
    for (const row of passing) {
      if ((refsByRow.get(row.id) ?? []).some((r) => waitingFor.has(r))) {
        waiting.push(row);
        continue;
      }
      const l = levelOf(row, new Set([`${row.resource_type}/${row.resource_id}`]));
      if (!waves[l]) waves[l] = [];
      waves[l].push(row);
    }
    if (waiting.length) {
      this.result.waiting += waiting.length;
      await timed(this.ctx, 'database', () =>
        release(
          this.ctx.store,
          this.ctx.workerId,
          waiting.map((r) => r.id),
          250,
          'waiting for a referenced resource to reach the remote',
        ),
      );
    }
    for (const wave of waves) {
      if (!wave?.length) continue;
      await timed(this.ctx, 'database', () =>
        renewLease(
          this.ctx.store,
          this.ctx.workerId,
          wave.map((r) => r.id),
          this.ctx.leaseMs,
        ),
      );
      // Later waves reference resources created by earlier ones: refresh their mappings.
      const fresh = await timed(this.ctx, 'database', () => mappingsForLocal(this.ctx.store, wanted));
      await this.deliver(wave.map((row) => this.plan(row, fresh)));
    }
  }

  /** Consent and Kanta checks before anything leaves; failing rows are settled here. */
  private async gate(rows: OutboxRow[]): Promise<OutboxRow[]> {
    const passing: OutboxRow[] = [];
    const consentsByPatient = new Map<string, Consent[]>();
    const today = this.ctx.today();
    for (const row of rows) {
      if (row.action === 'delete') {
        passing.push(row);
        continue;
      }
      const family = this.ctx.families[row.resource_type];
      if (family?.dataClass) {
        const patient = row.patient_id;
        let decision: { permitted: boolean; reason: string };
        if (!patient) {
          decision = {
            permitted: false,
            reason: `${row.resource_type} names no client, so no consent can cover its disclosure`,
          };
        } else {
          let consents = consentsByPatient.get(patient);
          if (!consents) {
            consents = await timed(
              this.ctx,
              'consent',
              async () =>
                (await this.ctx.store.search('Consent', { patient: `Patient/${patient}` }))
                  .resources as Consent[],
            );
            consentsByPatient.set(patient, consents);
          }
          const d = this.ctx.disclosure(consents, this.ctx.party, family.dataClass, today);
          decision = {
            permitted: d.permitted,
            reason: `not disclosed: ${family.dataClass} to ${this.ctx.party} on ${today} — ${d.reason}`,
          };
        }
        if (!decision.permitted) {
          this.result.blocked++;
          this.ctx.metrics.pushed.inc({ type: row.resource_type, result: 'blocked' });
          this.ctx.log.info(
            { outbox: row.id, resource: `${row.resource_type}/${row.resource_id}`, reason: decision.reason },
            'sync: blocked by consent',
          );
          await timed(this.ctx, 'database', () =>
            settle(this.ctx.store, this.ctx.workerId, [row.id], 'blocked', { reason: decision.reason }),
          );
          continue;
        }
      }
      if (!businessIdentifier(row.payload)) {
        await this.dead(
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
        continue;
      }
      passing.push(row);
    }
    return passing;
  }

  /** Of the unmapped references, those still queued (pending or in flight) in the outbox. */
  private async pendingTargets(refs: string[]): Promise<Set<string>> {
    if (!refs.length) return new Set();
    const rows = await timed(this.ctx, 'database', () =>
      this.ctx.store.query<{ ref: string }>(
        `SELECT DISTINCT resource_type || '/' || resource_id AS ref FROM sync_outbox
          WHERE state IN ('pending', 'inflight')
            AND (resource_type, resource_id) IN (SELECT t, i FROM unnest($1::text[], $2::text[]) AS k(t, i))`,
        [refs.map((r) => r.slice(0, r.indexOf('/'))), refs.map((r) => r.slice(r.indexOf('/') + 1))],
      ),
    );
    return new Set(rows.map((r) => r.ref));
  }

  private plan(row: OutboxRow, mappings: Map<string, IdMapping>): Planned {
    const key = `${row.resource_type}/${row.resource_id}`;
    const mapping = mappings.get(key);
    if (row.action === 'delete') {
      return {
        row,
        key,
        method: 'DELETE',
        url: mapping ? `${row.resource_type}/${mapping.remote_id}` : '',
        mapping,
      };
    }
    const body = rewriteReferences(stripForRemote(row.payload), (ref) => {
      const m = mappings.get(ref);
      return m ? `${m.resource_type}/${m.remote_id}` : undefined;
    });
    if (mapping) {
      return {
        row,
        key,
        method: 'PUT',
        url: `${row.resource_type}/${mapping.remote_id}`,
        resource: { ...body, id: mapping.remote_id },
        ifMatch: mapping.remote_version ?? undefined,
        mapping,
      };
    }
    const ident = businessIdentifier(row.payload)!;
    const { id: _local, ...withoutId } = body;
    return {
      row,
      key,
      method: 'POST',
      url: row.resource_type,
      resource: withoutId as Resource,
      ifNoneExist: `identifier=${encodeURIComponent(ident.system)}|${encodeURIComponent(ident.value)}`,
    };
  }

  private async deliver(plans: Planned[]): Promise<void> {
    const mode = await timed(this.ctx, 'network', () => this.ctx.remote.bundleMode(this.signal));
    const bundled = plans.filter((p) => p.method !== 'DELETE');
    const singles = plans.filter((p) => p.method === 'DELETE');
    if (mode === 'none' || bundled.length < 2) singles.push(...bundled);
    else await this.deliverBundle(bundled, mode);
    const settled: Settled[] = [];
    await mapLimit(singles, 8, async (p) => {
      const s = await this.deliverOne(p);
      if (s) settled.push(s);
    });
    await this.succeed(settled);
  }

  private async deliverBundle(plans: Planned[], mode: 'transaction' | 'batch'): Promise<void> {
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: mode,
      entry: plans.map((p) => ({
        resource: p.resource,
        request: {
          method: p.method as 'POST' | 'PUT',
          url: p.url,
          ...(p.ifNoneExist ? { ifNoneExist: p.ifNoneExist } : {}),
          ...(p.ifMatch ? { ifMatch: `W/"${p.ifMatch}"` } : {}),
        },
      })),
    };
    let response: Bundle;
    try {
      response = await timed(this.ctx, 'network', () => this.ctx.remote.bundle(bundle, this.signal));
    } catch (err) {
      if (err instanceof BrokenCircuitError) throw new CircuitOpen('remote circuit open');
      if (!isTransient(err) && err instanceof RemoteHttpError) {
        // A rejected transaction names no single culprit: deliver one by one to isolate it.
        const settled: Settled[] = [];
        await mapLimit(plans, 8, async (p) => {
          const s = await this.deliverOne(p);
          if (s) settled.push(s);
        });
        await this.succeed(settled);
        return;
      }
      for (const p of plans) await this.failed(p, err);
      return;
    }
    const settled: Settled[] = [];
    const followUps: Planned[] = [];
    for (const [i, p] of plans.entries()) {
      const entry = response.entry?.[i];
      const status = Number.parseInt(entry?.response?.status ?? '0', 10);
      if (status === 201 || (status === 200 && p.method === 'PUT')) {
        try {
          settled.push({
            row: p.row,
            remote: refFromAnswer(
              {
                status,
                resource: entry?.resource,
                location: entry?.response?.location,
                etag: entry?.response?.etag,
              },
              p.row.resource_type,
              p.mapping?.remote_id,
            ),
          });
        } catch (err) {
          followUps.push(p);
          this.ctx.log.debug({ err }, 'sync: bundle entry without location, retrying singly');
        }
      } else if (status === 200 || status === 412) {
        // 200 on a conditional create: it already exists (compare content); 412: a conflict.
        followUps.push(p);
      } else {
        const oo = entry?.response?.outcome as OperationOutcome | undefined;
        await this.failed(p, new RemoteHttpError(status || 500, p.method, p.url, oo, undefined));
      }
    }
    await this.succeed(settled);
    const more: Settled[] = [];
    await mapLimit(followUps, 4, async (p) => {
      const s = await this.deliverOne(p);
      if (s) more.push(s);
    });
    await this.succeed(more);
  }

  /** One row by itself; returns the success to settle or undefined when already settled otherwise. */
  private async deliverOne(p: Planned): Promise<Settled | undefined> {
    const remote = this.ctx.remote;
    try {
      if (p.method === 'DELETE') {
        if (p.mapping)
          await timed(this.ctx, 'network', () =>
            remote.delete(p.row.resource_type, p.mapping!.remote_id, this.signal),
          );
        return {
          row: p.row,
          remote: { id: p.mapping?.remote_id ?? '' },
          reason: p.mapping ? undefined : 'never reached the remote',
        };
      }
      if (p.method === 'PUT') {
        try {
          const ref = await timed(this.ctx, 'network', () =>
            remote.update(p.resource as Resource & { id: string }, p.ifMatch, this.signal),
          );
          return { row: p.row, remote: ref };
        } catch (err) {
          if (err instanceof RemoteHttpError && err.status === 412) return await this.conflict(p);
          if (!(err instanceof RemoteHttpError && (err.status === 404 || err.status === 410))) throw err;
          // Gone remotely: create it again under its business identifier.
          return await this.deliverOne(this.plan(p.row, new Map()));
        }
      }
      const created = await timed(this.ctx, 'network', () =>
        remote.conditionalCreate(p.resource!, p.ifNoneExist!, this.signal),
      );
      if (created.created) return { row: p.row, remote: created };
      // Already there (our earlier attempt whose answer was lost, or another writer): make it ours.
      const existing = await timed(this.ctx, 'network', () =>
        remote.read(p.row.resource_type, created.id, this.signal),
      );
      if (contentKey(existing) === contentKey(p.resource!)) {
        return {
          row: p.row,
          remote: { id: created.id, versionId: existing.meta?.versionId ?? created.versionId },
        };
      }
      const asUpdate: Planned = {
        ...p,
        method: 'PUT',
        url: `${p.row.resource_type}/${created.id}`,
        resource: { ...p.resource!, id: created.id },
        ifMatch: existing.meta?.versionId ?? created.versionId,
        mapping: {
          resource_type: p.row.resource_type,
          local_id: p.row.resource_id,
          remote_id: created.id,
          local_version: null,
          remote_version: existing.meta?.versionId ?? null,
        },
      };
      return await this.deliverOne(asUpdate);
    } catch (err) {
      if (err instanceof BrokenCircuitError) throw new CircuitOpen('remote circuit open');
      await this.failed(p, err);
      return undefined;
    }
  }

  /** 412 on an update: our own earlier write, or a real conflict resolved by the family's policy. */
  private async conflict(p: Planned): Promise<Settled | undefined> {
    const type = p.row.resource_type;
    const remoteId = p.mapping!.remote_id;
    const current = await timed(this.ctx, 'network', () => this.ctx.remote.read(type, remoteId, this.signal));
    if (contentKey(current) === contentKey(p.resource!)) {
      return { row: p.row, remote: { id: remoteId, versionId: current.meta?.versionId } };
    }
    const policy = this.ctx.families[type]?.conflict ?? 'park';
    this.ctx.metrics.conflicts.inc({ type, policy });
    this.ctx.log.warn(
      {
        outbox: p.row.id,
        resource: p.key,
        remote: `${type}/${remoteId}`,
        expected: p.ifMatch,
        found: current.meta?.versionId,
        policy,
      },
      'sync: 412 conflict',
    );
    await timed(this.ctx, 'database', () =>
      this.ctx.store.query(
        `INSERT INTO sync_conflict (outbox_id, resource_type, resource_id, policy, resolution, detail)
         VALUES ($1::bigint, $2, $3, $4, $5, $6::jsonb)`,
        [
          p.row.id,
          type,
          p.row.resource_id,
          policy,
          policy === 'park' ? 'parked' : policy === 'remote-wins' ? 'remote kept' : 'local written',
          JSON.stringify({ remoteId, expectedVersion: p.ifMatch, remoteVersion: current.meta?.versionId }),
        ],
      ),
    );
    if (policy === 'remote-wins') {
      await applyRemote(this.ctx, current, { supersede: true });
      return {
        row: p.row,
        remote: { id: remoteId, versionId: current.meta?.versionId },
        reason: 'conflict: remote version kept (remote-wins)',
      };
    }
    if (policy === 'local-wins') {
      const ref = await timed(this.ctx, 'network', () =>
        this.ctx.remote.update(p.resource as Resource & { id: string }, current.meta?.versionId, this.signal),
      );
      return {
        row: p.row,
        remote: ref,
        reason: 'conflict: local version written over the remote one (local-wins)',
      };
    }
    this.result.parked++;
    this.ctx.metrics.pushed.inc({ type, result: 'parked' });
    await timed(this.ctx, 'database', () =>
      settle(this.ctx.store, this.ctx.workerId, [p.row.id], 'parked', {
        reason: `conflict: remote ${type}/${remoteId} is at version ${current.meta?.versionId}, we expected ${p.ifMatch}; parked for manual resolution`,
        outcome: outcome([
          issue(
            'error',
            'conflict',
            'sync-conflict-1: remote changed since the last sync',
            `${type}.meta.versionId`,
          ),
        ]),
      }),
    );
    return undefined;
  }

  private async succeed(settled: Settled[]): Promise<void> {
    if (!settled.length) return;
    const ctx = this.ctx;
    await timed(ctx, 'database', () =>
      ctx.store.transaction(async (tx) => {
        const live = settled.filter((s) => s.row.action !== 'delete' && s.remote.id);
        await upsertMappings(
          tx,
          live.map((s) => ({
            resource_type: s.row.resource_type,
            local_id: s.row.resource_id,
            remote_id: s.remote.id,
            local_version: s.row.version_id,
            remote_version: s.remote.versionId ?? null,
          })),
        );
        const plain = settled.filter((s) => !s.reason).map((s) => s.row.id);
        await settle(tx, ctx.workerId, plain, 'done');
        for (const s of settled.filter((x) => x.reason))
          await settle(tx, ctx.workerId, [s.row.id], 'done', { reason: s.reason });
        const patients = [...new Set(settled.map((s) => s.row.patient_id).filter((x): x is string => !!x))];
        if (patients.length) {
          await tx.query(
            'INSERT INTO sync_followed (patient_id) SELECT unnest($1::text[]) ON CONFLICT (patient_id) DO NOTHING',
            [patients],
          );
        }
        await tx.query(
          `INSERT INTO sync_state (key, value) VALUES ('last_push_success', $1)
           ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
          [new Date().toISOString()],
        );
      }),
    );
    this.result.done += settled.length;
    for (const s of settled) ctx.metrics.pushed.inc({ type: s.row.resource_type, result: 'done' });
  }

  private async failed(p: Planned, err: unknown): Promise<void> {
    const ctx = this.ctx;
    if (err instanceof RemoteHttpError && !isTransient(err) && err.status >= 400 && err.status < 500) {
      await this.dead(
        p.row,
        err.outcome ??
          outcome([issue('error', 'processing', `remote answered ${err.status}: ${err.message}`)]),
      );
      return;
    }
    if (!isTransient(err)) {
      await this.dead(
        p.row,
        outcome([issue('error', 'exception', `sync-push-1: ${(err as Error)?.message ?? String(err)}`)]),
      );
      return;
    }
    if (p.row.attempts >= ctx.maxAttempts) {
      await this.dead(
        p.row,
        outcome([
          issue(
            'error',
            'transient',
            `sync-push-2: gave up after ${p.row.attempts} attempts: ${(err as Error).message}`,
          ),
        ]),
      );
      return;
    }
    ctx.log.debug({ outbox: p.row.id, err: (err as Error)?.message }, 'sync: transient failure');
    // Transient and the client's retries are spent: back off across rounds (1 s, 2 s, … ≤ 5 min).
    const delay = Math.min(300_000, ctx.retryBaseMs * 2 ** Math.max(0, p.row.attempts - 1));
    this.result.retrying++;
    ctx.metrics.pushed.inc({ type: p.row.resource_type, result: 'retry' });
    await timed(ctx, 'database', () =>
      settle(ctx.store, ctx.workerId, [p.row.id], 'pending', {
        reason: (err as Error).message,
        delayMs: delay,
      }),
    );
  }

  private async dead(row: OutboxRow, oo: OperationOutcome): Promise<void> {
    this.result.dead++;
    this.ctx.metrics.pushed.inc({ type: row.resource_type, result: 'dead' });
    const reason = (oo.issue ?? []).map((i) => i.diagnostics ?? i.details?.text ?? i.code).join('; ');
    this.ctx.log.warn(
      { outbox: row.id, resource: `${row.resource_type}/${row.resource_id}`, reason },
      'sync: dead letter',
    );
    await timed(this.ctx, 'database', () =>
      settle(this.ctx.store, this.ctx.workerId, [row.id], 'dead', { reason, outcome: oo }),
    );
  }
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(lanes);
}
