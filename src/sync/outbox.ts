import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import { patientReferenceOf } from './config.ts';
import type { SyncStoreTx, WriteChange } from './store-port.ts';

export type OutboxState = 'pending' | 'inflight' | 'done' | 'dead' | 'blocked' | 'parked';

export type OutboxRow = {
  id: string;
  resource_type: string;
  resource_id: string;
  version_id: string | null;
  action: WriteChange['action'];
  patient_id: string | null;
  payload: Resource;
  state: OutboxState;
  attempts: number;
  reason: string | null;
  outcome: OperationOutcome | null;
  created_at: string;
  updated_at: string;
};

type Q = Pick<SyncStoreTx, 'query'>;

/** Session flag set by pull's transactions so their writes are not echoed back to the remote. */
export const ORIGIN_SETTING = 'tyokyky.sync_origin';

/**
 * Records local writes in the outbox, in the caller's (the writes') transaction, in one statement.
 * Writes made by pull carry the origin flag and are skipped inside the same statement.
 */
export async function enqueueMany(tx: Q, changes: WriteChange[]): Promise<void> {
  if (!changes.length) return;
  await tx.query(
    `INSERT INTO sync_outbox (resource_type, resource_id, version_id, action, patient_id, payload)
     SELECT t, i, v, a, p, j::jsonb FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
       WITH ORDINALITY AS u(t, i, v, a, p, j, n)
     WHERE coalesce(current_setting('${ORIGIN_SETTING}', true), '') <> 'pull'
     ORDER BY n`,
    [
      changes.map((c) => c.resource.resourceType),
      changes.map((c) => c.resource.id),
      changes.map((c) => c.resource.meta?.versionId ?? null),
      changes.map((c) => c.action),
      changes.map((c) => patientReferenceOf(c.resource)?.slice('Patient/'.length) ?? null),
      changes.map((c) => JSON.stringify(c.resource)),
    ],
  );
}

/** Consents among the written resources re-check their clients' blocked rows (local or pulled). */
export async function unblockConsentPatients(tx: Q, resources: Resource[]): Promise<void> {
  const patients = new Set<string>();
  for (const r of resources) {
    const ref = r.resourceType === 'Consent' ? patientReferenceOf(r) : undefined;
    if (ref) patients.add(ref.slice('Patient/'.length));
  }
  for (const patient of patients) await unblockPatient(tx, patient);
}

/** Blocked rows of a client go back to the queue (their consent changed); they are re-checked. */
export async function unblockPatient(tx: Q, patientId: string): Promise<void> {
  await tx.query(
    `UPDATE sync_outbox SET state = 'pending', available_at = now(), updated_at = now()
     WHERE state = 'blocked' AND patient_id = $1`,
    [patientId],
  );
}

/** Rows whose lease ran out (their worker died) become claimable again. */
export async function reclaimExpired(db: Q): Promise<number> {
  const rows = await db.query(
    `UPDATE sync_outbox SET state = 'pending', claimed_by = NULL, lease_until = NULL, updated_at = now()
     WHERE state = 'inflight' AND lease_until < now() RETURNING id`,
  );
  return rows.length;
}

/**
 * Claim up to `limit` ready rows for `worker`. SKIP LOCKED keeps concurrent workers off each
 * other's rows; a row waits while an earlier row of the same resource is pending or in flight,
 * which keeps per-resource order.
 */
export async function claim(db: Q, worker: string, limit: number, leaseMs: number): Promise<OutboxRow[]> {
  // First among the oldest few ready rows only: with a large backlog, checking every pending row
  // for an earlier one of the same resource made each claim cost O(backlog), and the planner does
  // not know to stop early after a burst of writes has left its statistics stale.
  const rows = await claimFrom(db, worker, limit, leaseMs, limit * CLAIM_WINDOW);
  if (rows.length === limit) return rows;
  // A short claim: the backlog is small, or the window was held up by rows waiting for earlier
  // versions of their resource; look at everything that is ready.
  return [...rows, ...(await claimFrom(db, worker, limit - rows.length, leaseMs))];
}

/** How many ready rows per wanted row a claim looks at first. */
const CLAIM_WINDOW = 4;

function claimFrom(
  db: Q,
  worker: string,
  limit: number,
  leaseMs: number,
  window?: number,
): Promise<OutboxRow[]> {
  const candidates = window
    ? `c.id IN (SELECT w.id FROM sync_outbox w WHERE w.state = 'pending' AND w.available_at <= now()
                 ORDER BY w.id LIMIT ${Math.trunc(window)})`
    : `c.state = 'pending' AND c.available_at <= now()`;
  return db.query<OutboxRow>(
    `UPDATE sync_outbox o
        SET state = 'inflight', claimed_by = $1, lease_until = now() + ($2::int * interval '1 millisecond'),
            attempts = o.attempts + 1, updated_at = now()
      WHERE o.id IN (
        SELECT c.id FROM sync_outbox c
         WHERE ${candidates} AND c.state = 'pending'
           AND NOT EXISTS (
             SELECT 1 FROM sync_outbox p
              WHERE p.resource_type = c.resource_type AND p.resource_id = c.resource_id
                AND p.id < c.id AND p.state IN ('pending', 'inflight'))
         ORDER BY c.id
         LIMIT $3
         FOR UPDATE SKIP LOCKED)
      RETURNING o.id::text AS id, o.resource_type, o.resource_id, o.version_id, o.action, o.patient_id,
                o.payload, o.state, o.attempts, o.reason, o.outcome, o.created_at::text, o.updated_at::text`,
    [worker, leaseMs, limit],
  );
}

/** Finish claimed rows; the `claimed_by` guard ignores rows whose lease this worker lost. */
export async function settle(
  db: Q,
  worker: string,
  ids: string[],
  state: Exclude<OutboxState, 'inflight'>,
  opts: { reason?: string; outcome?: OperationOutcome; delayMs?: number } = {},
): Promise<void> {
  if (!ids.length) return;
  await db.query(
    `UPDATE sync_outbox
        SET state = $3, reason = $4, outcome = $5::jsonb, claimed_by = NULL, lease_until = NULL, settled_by = $1,
            available_at = now() + ($6::int * interval '1 millisecond'), updated_at = now()
      WHERE id = ANY($2::bigint[]) AND claimed_by = $1 AND state = 'inflight'`,
    [
      worker,
      ids,
      state,
      opts.reason ?? null,
      opts.outcome ? JSON.stringify(opts.outcome) : null,
      opts.delayMs ?? 0,
    ],
  );
}

/** Back to pending without counting the attempt (e.g. waiting for a dependency or an open circuit). */
export async function release(
  db: Q,
  worker: string,
  ids: string[],
  delayMs: number,
  reason?: string,
): Promise<void> {
  if (!ids.length) return;
  await db.query(
    `UPDATE sync_outbox
        SET state = 'pending', attempts = greatest(attempts - 1, 0), reason = coalesce($4, reason), claimed_by = NULL,
            lease_until = NULL, available_at = now() + ($3::int * interval '1 millisecond'), updated_at = now()
      WHERE id = ANY($2::bigint[]) AND claimed_by = $1 AND state = 'inflight'`,
    [worker, ids, delayMs, reason ?? null],
  );
}

export async function listByState(db: Q, states: OutboxState[], limit = 100): Promise<OutboxRow[]> {
  return db.query<OutboxRow>(
    `SELECT id::text AS id, resource_type, resource_id, version_id, action, patient_id, payload, state, attempts,
            reason, outcome, created_at::text, updated_at::text
       FROM sync_outbox WHERE state = ANY($1::text[]) ORDER BY id LIMIT $2`,
    [states, limit],
  );
}

/** Operator retry: dead, parked (and blocked) rows back to the queue. */
export async function requeue(db: Q, id?: string): Promise<number> {
  const rows = id
    ? await db.query(
        `UPDATE sync_outbox SET state = 'pending', available_at = now(), attempts = 0, updated_at = now()
          WHERE id = $1::bigint AND state IN ('dead', 'parked', 'blocked') RETURNING id`,
        [id],
      )
    : await db.query(
        `UPDATE sync_outbox SET state = 'pending', available_at = now(), attempts = 0, updated_at = now()
          WHERE state IN ('dead', 'parked', 'blocked') RETURNING id`,
      );
  return rows.length;
}

/** Keep our claim on rows still being worked on (a long round must not lose them to another worker). */
export async function renewLease(db: Q, worker: string, ids: string[], leaseMs: number): Promise<void> {
  if (!ids.length) return;
  await db.query(
    `UPDATE sync_outbox SET lease_until = now() + ($3::int * interval '1 millisecond')
      WHERE id = ANY($2::bigint[]) AND claimed_by = $1 AND state = 'inflight'`,
    [worker, ids, leaseMs],
  );
}
