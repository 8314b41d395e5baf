/**
 * The sync stage's own tables (schema.ts): every statement on sync_outbox, sync_idmap, sync_sent,
 * sync_cursor, sync_followed, sync_conflict, sync_unlinked, sync_pull_refused, sync_delete_left and sync_state lives here, so a change to a table is a
 * change to this file.
 */
import { createHash } from 'node:crypto';
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import { parseAsWritten } from '../shared/json-text.ts';
import { patientReferenceOf } from '../shared/references.ts';
import { type ResourceChange, type StoreTx, versionContentSql } from '../store/index.ts';
import type { SyncStore } from './context.ts';
import type { OutboxState } from './outbox-states.ts';

/** The part of the store's contract (src/store/index.ts) that sync's own tables need. */
export type Db = Pick<StoreTx, 'query'>;

export { OUTBOX_STATES, type OutboxState } from './outbox-states.ts';

export type OutboxRow = {
  id: string;
  resource_type: string;
  resource_id: string;
  version_id: string | null;
  action: ResourceChange['action'];
  patient_id: string | null;
  /**
   * The queued version's content (a delete's stub). Typed as always there: it is missing only if the
   * store no longer holds that version, which both pushes turn into a dead letter (`vanishedVersion`).
   */
  payload: Resource;
  state: OutboxState;
  attempts: number;
  reason: string | null;
  outcome: OperationOutcome | null;
  /** The version an operator chose to keep when the row was parked (`sync resolve`). */
  resolve_with: ResolveChoice | null;
};

/**
 * Why a row has nothing to send: its version is no longer in the store (a claim reads the content
 * from the store's history). Undefined when it can be sent. Names type, local id and version only.
 */
export function vanishedVersion(row: OutboxRow): string | undefined {
  if (row.action === 'delete' || row.payload) return undefined;
  return `sync-push-3: version ${row.version_id} of ${row.resource_type}/${row.resource_id} is no longer in the local store`;
}

/**
 * Whether a row would put older content over newer: a write of a version older than the local
 * version already on the remote (`sentLocalVersion`), e.g. one queued twice, or one stuck here while
 * the remote's version came down over it.
 */
export function isOlderThanSent(
  row: Pick<OutboxRow, 'action' | 'version_id'>,
  sentLocalVersion: string | null | undefined,
): boolean {
  return (
    row.action !== 'delete' &&
    !!sentLocalVersion &&
    !!row.version_id &&
    Number(row.version_id) < Number(sentLocalVersion)
  );
}

/** Why a row `isOlderThanSent` is settled without being sent. */
export const SUPERSEDED_BY_SENT = 'superseded: a newer local version is already on the remote';

export type IdMapping = {
  resource_type: string;
  local_id: string;
  remote_id: string;
  local_version: string | null;
  remote_version: string | null;
};

/**
 * States in which a row still means "this local change has not reached the remote" and its push will
 * resolve any remote change (a 412 meets the family's policy).
 */
export const QUEUED_STATES: OutboxState[] = ['pending', 'inflight', 'held', 'parked'];
/** States of a local change that waits for a consent or a person (blocked by consent, dead-lettered). */
export const STUCK_STATES: OutboxState[] = ['blocked', 'dead'];

/**
 * The outbox columns an OutboxRow carries, of table alias `t`. A row of a stored version keeps no copy
 * of it (`payload` is null): its payload is that version's content in the store's history table
 * (`versionContentSql`), which never changes — so a local write costs no second
 * copy of the resource, neither serialised in the hook nor parsed and stored again by the database.
 */
function rowColumns(t = 'sync_outbox'): string {
  return `${outboxColumns(t)},
    coalesce(${t}.payload::text, ${versionContentSql(`${t}.resource_type`, `${t}.resource_id`, `${t}.version_id::int`)}) AS payload`;
}

/** An outbox row's columns but its content (and the row's times, which only a listing shows). */
function outboxColumns(t = 'sync_outbox'): string {
  return `${t}.id::text AS id, ${t}.resource_type, ${t}.resource_id, ${t}.version_id, ${t}.action, ${t}.patient_id,
    ${t}.state, ${t}.attempts, ${t}.reason, ${t}.outcome, ${t}.resolve_with`;
}

/**
 * An outbox row as a listing shows it: without its content (client data), with when it was queued and
 * last changed (ISO instants in UTC).
 */
export type ListedRow = Omit<OutboxRow, 'payload'> & { created_at: string; updated_at: string };

/**
 * A timestamptz column as an ISO instant in UTC. Not `::text`: that follows the database session's
 * time zone and PostgreSQL's own format (`2026-12-06 13:33:50.524+02`).
 */
const instantOf = (value: Date | string): string => new Date(value).toISOString();

// ---------------------------------------------------------------------------------------------
// Which transactions are pull's: their writes are the remote's, not local changes to push back.

const pulledTransactions = new WeakSet<object>();

/** Marks a store transaction as applying pulled resources; the outbox hook leaves its writes out. */
export function markPulledWrites(tx: object): void {
  pulledTransactions.add(tx);
}

/** Whether the writes of this transaction came from the remote (pull). */
export function isPulledWrite(tx: object): boolean {
  return pulledTransactions.has(tx);
}

// ---------------------------------------------------------------------------------------------
// Outbox

/**
 * The outbox columns of `changes`: arrays for one `unnest`, and the payloads as one JSON array (a
 * text[] parameter would escape every quote in them) — null for a stored version, whose content the
 * store's history holds (see rowColumns); only delete stubs travel.
 */
function outboxParams(changes: ResourceChange[]): unknown[] {
  const copied = (c: ResourceChange) => c.action === 'delete' || !c.resource.meta?.versionId;
  return [
    changes.map((c) => c.resource.resourceType),
    changes.map((c) => c.resource.id ?? null),
    changes.map((c) => c.resource.meta?.versionId ?? null),
    changes.map((c) => c.action),
    changes.map((c) => patientReferenceOf(c.resource)?.slice('Patient/'.length) ?? null),
    JSON.stringify(changes.map((c) => (copied(c) ? c.resource : null))),
  ];
}

const OUTBOX_UNNEST = `unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
       WITH ORDINALITY AS u(t, i, v, a, p, n)
       JOIN jsonb_array_elements($6::jsonb) WITH ORDINALITY AS c(j, n) USING (n)`;

/**
 * Records local writes in the outbox, in the writes' own transaction, in one statement; returns the
 * rows' ids. A delete's stub names no client: its row takes the client of the resource's last row, so
 * that it goes in the rounds of that client's rows (a claim takes a client whole, after the rounds
 * it has in flight) — after the writes queued before it that still refer to the deleted resource.
 */
export async function enqueueMany(tx: Db, changes: ResourceChange[]): Promise<string[]> {
  if (!changes.length) return [];
  const rows = await tx.query<{ id: string }>(
    `INSERT INTO sync_outbox (resource_type, resource_id, version_id, action, patient_id, payload)
     SELECT t, i, v, a,
            coalesce(p, CASE WHEN a = 'delete' THEN (
              SELECT o.patient_id FROM sync_outbox o
               WHERE o.resource_type = t AND o.resource_id = i AND o.patient_id IS NOT NULL
               ORDER BY o.id DESC LIMIT 1) END),
            nullif(j, 'null'::jsonb) FROM ${OUTBOX_UNNEST}
     ORDER BY n
     RETURNING id::text AS id`,
    outboxParams(changes),
  );
  return rows.map((r) => r.id);
}

/** A stored version number of text column `col` (the store's versions are integers; other text is none). */
const versionNumber = (col: string) => `CASE WHEN ${col} ~ '^[0-9]{1,18}$' THEN ${col}::bigint END`;

/**
 * The tables that record a version of a local resource as the sync's, each as `[table, id column,
 * version column]`: queued (sync_outbox), on the remote or written by the pull (sync_idmap), and with
 * the Kanta PHR adapter held by Kanta PHR or written by its pull (the adapter's sync_kanta_resource,
 * there once the adapter has migrated the store).
 */
function versionRecords(kanta: boolean): [string, string, string][] {
  return [
    ['sync_outbox', 'resource_id', 'version_id'],
    ['sync_idmap', 'local_id', 'local_version'],
    ...(kanta ? [['sync_kanta_resource', 'local_id', 'local_version'] as [string, string, string]] : []),
  ];
}

/**
 * Backfill: queues those of `resources` (current versions) whose version the sync has not seen, in
 * one statement; returns how many. A resource the sync has never seen (no outbox row, no mapping)
 * goes as a create; one whose current version is newer than every version the sync queued, sent or
 * pulled (written by a process without the outbox hook) as an update. A version already queued is
 * never queued again. Serialised across processes by an advisory lock, so two services attaching at
 * once queue each version once.
 */
export async function enqueueUnsynced(
  db: Pick<SyncStore, 'transaction'>,
  resources: Resource[],
): Promise<number> {
  if (!resources.length) return 0;
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('tyokyky_sync_backfill'))`);
    const [{ kanta }] = await tx.query<{ kanta: boolean }>(
      `SELECT to_regclass('sync_kanta_resource') IS NOT NULL AS kanta`,
    );
    const records = versionRecords(kanta);
    const recorded = (table: string, id: string) =>
      `SELECT 1 FROM ${table} r WHERE r.resource_type = t AND r.${id} = i`;
    const rows = await tx.query(
      `INSERT INTO sync_outbox (resource_type, resource_id, version_id, action, patient_id, payload)
       SELECT t, i, v,
              CASE WHEN ${records.map(([table, id]) => `EXISTS (${recorded(table, id)})`).join(' OR ')}
                   THEN 'update' ELSE a END,
              p, nullif(j, 'null'::jsonb)
         FROM ${OUTBOX_UNNEST}
        WHERE ${records
          .map(
            ([table, id, version]) =>
              `NOT EXISTS (${recorded(table, id)} AND ${versionNumber(`r.${version}`)} >= ${versionNumber('v')})`,
          )
          .join(' AND ')}
       ORDER BY n
       RETURNING id`,
      outboxParams(resources.map((resource) => ({ action: 'create' as const, resource }))),
    );
    return rows.length;
  });
}

/**
 * Consents among the written resources re-check their clients' blocked rows (local or pulled).
 * `queuedHere`: rows this transaction has just queued, left alone (no claim sees them before it commits).
 */
export async function unblockConsentPatients(
  tx: Db,
  resources: Resource[],
  queuedHere: string[] = [],
): Promise<void> {
  const patients = new Set<string>();
  for (const r of resources) {
    const ref = r.resourceType === 'Consent' ? patientReferenceOf(r) : undefined;
    if (ref) patients.add(ref.slice('Patient/'.length));
  }
  if (!patients.size) return;
  // Blocked and held rows of those clients go back to the queue: their consent changed, re-check them.
  // Rows in flight are marked instead: their round may have read the consents before this one. Pending
  // rows are touched too, only to lock them: one that a claim is taking right now (not yet committed)
  // is then re-read as in flight once that claim commits, and marked, instead of passed over.
  await tx.query(
    `UPDATE sync_outbox
        SET state = CASE WHEN state IN ('blocked', 'held') THEN 'pending' ELSE state END,
            available_at = CASE WHEN state IN ('blocked', 'held') THEN now() ELSE available_at END,
            consent_changed = (state = 'inflight'), updated_at = now()
      WHERE state IN ('blocked', 'held', 'inflight', 'pending') AND patient_id = ANY($1::text[])
        AND NOT (id = ANY($2::bigint[]))`,
    [[...patients], queuedHere],
  );
}

/** Rows whose lease ran out (their worker died) become claimable again. */
export async function reclaimExpired(db: Db): Promise<number> {
  const rows = await db.query(
    `UPDATE sync_outbox SET state = 'pending', claimed_by = NULL, lease_until = NULL, updated_at = now()
     WHERE state = 'inflight' AND lease_until < now() RETURNING id`,
  );
  return rows.length;
}

/** The claim ids holding rows in flight now (see roundClaimId). */
export async function inflightWorkers(db: Db): Promise<string[]> {
  const rows = await db.query<{ claimed_by: string }>(
    `SELECT DISTINCT claimed_by FROM sync_outbox WHERE state = 'inflight' AND claimed_by IS NOT NULL`,
  );
  return rows.map((r) => r.claimed_by);
}

/** Rows in flight with these claim ids (of dead workers) become claimable again, their leases notwithstanding. */
export async function reclaimFrom(db: Db, workers: string[]): Promise<number> {
  if (!workers.length) return 0;
  const rows = await db.query(
    `UPDATE sync_outbox SET state = 'pending', claimed_by = NULL, lease_until = NULL, updated_at = now()
     WHERE state = 'inflight' AND claimed_by = ANY($1::text[]) RETURNING id`,
    [workers],
  );
  return rows.length;
}

// ---------------------------------------------------------------------------------------------
// Claims: `claimed_by` holds the claim id of the round that holds a row (its worker's id, `~`, the
// round's number), so a round can tell its own rows from a sibling round's of the same worker — a row
// whose lease ran out and that a sibling then claimed is the sibling's, not still ours. `settled_by`
// keeps the worker's id.

/** The claim id of a worker's round number `n`. */
export function roundClaimId(worker: string, n: number): string {
  return `${worker}~${n}`;
}

/** The worker of a claim id (a worker that claims under its bare id is its own claim id). */
export function workerOfClaim(claimId: string): string {
  const round = /~\d+$/.exec(claimId);
  return round ? claimId.slice(0, round.index) : claimId;
}

/**
 * How many ready rows past the last one taken a claim looks at for rows of the clients it took (a
 * client's rows are written together, so its cut-off rest follows closely).
 */
const CUT_WINDOW = 64;

/** How many ready rows per wanted row a claim looks at first. */
const CLAIM_WINDOW = 4;

/**
 * Claim up to `limit` ready rows (pending, or held whose re-check time came) for `claimId`. SKIP
 * LOCKED keeps concurrent workers off each other's rows; a row waits while an earlier row of the same
 * resource is still queued, which keeps per-resource order; and while rows of its client are in flight
 * in another round, so a client's rows (which depend on its Patient and on each other) are not split
 * between concurrent rounds, where the later part could only wait for the earlier. For the same
 * reason a claim takes clients whole: a client the limit would cut (one of its rows is among the next
 * CUT_WINDOW ready rows past the last one taken) is left for the next round, whole — unless it is all
 * the claim found (a client with more rows than `limit`). A client left so whose row there could not
 * go yet anyway (behind an earlier row of its resource) only waits a round: the next claim starts with it.
 * A delete waits, besides, while an earlier row of its client is pending or in flight: a write queued
 * before it may still refer to the deleted resource (or be the one that stops referring to it), and
 * the remote must not meet a reference to a resource it has deleted, nor refuse the delete (409) for
 * a reference about to go. Rows held back, blocked or dead do not keep it waiting.
 */
export async function claim(db: Db, claimId: string, limit: number, leaseMs: number): Promise<OutboxRow[]> {
  // The oldest few ready rows first: with a large backlog, checking every ready row for an earlier one
  // of the same resource would make each claim cost O(backlog). Only a claim that found little there
  // (most of the window in flight or waiting) looks at every ready row.
  const rows = await claimFrom(db, claimId, limit, leaseMs, limit * CLAIM_WINDOW);
  if (rows.length * 2 >= limit) return inQueueOrder(rows);
  return inQueueOrder([...rows, ...(await claimFrom(db, claimId, limit - rows.length, leaseMs))]);
}

/**
 * Outbox rows as read (`rowColumns`): the payload comes as text and is parsed here, so that its
 * numbers are sent as they were written (`1.50`).
 */
async function outboxRows(db: Db, sql: string, params: unknown[]): Promise<OutboxRow[]> {
  const rows = await db.query<Omit<OutboxRow, 'payload'> & { payload: string | null }>(sql, params);
  return rows.map((r) => ({
    ...r,
    payload: (r.payload === null ? null : parseAsWritten(r.payload)) as Resource,
  }));
}

/** Rows by id (bigint as text: the shorter is smaller): UPDATE … RETURNING gives them in plan order. */
function inQueueOrder(rows: OutboxRow[]): OutboxRow[] {
  return rows.sort((a, b) => a.id.length - b.id.length || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Whether outbox row `r` may be claimed now, by itself (its client's rounds and its resource's order). */
const CLAIMABLE = (r: string) => `${r}.state IN ('pending', 'held') AND ${r}.available_at <= now()
           AND NOT EXISTS (
             SELECT 1 FROM sync_outbox p
              WHERE p.resource_type = ${r}.resource_type AND p.resource_id = ${r}.resource_id
                AND p.id < ${r}.id AND p.state IN ('pending', 'inflight', 'held'))
           AND (${r}.patient_id IS NULL OR NOT EXISTS (
             SELECT 1 FROM sync_outbox f WHERE f.patient_id = ${r}.patient_id AND f.state = 'inflight'))
           AND (${r}.action <> 'delete' OR ${r}.patient_id IS NULL OR NOT EXISTS (
             SELECT 1 FROM sync_outbox e WHERE e.patient_id = ${r}.patient_id AND e.id < ${r}.id
                AND e.state IN ('pending', 'inflight')))`;

function claimFrom(db: Db, claimId: string, limit: number, leaseMs: number, window?: number) {
  const candidates = window
    ? `c.id IN (SELECT w.id FROM sync_outbox w WHERE w.state IN ('pending', 'held') AND w.available_at <= now()
                 ORDER BY w.id LIMIT ${Math.trunc(window)})`
    : 'true';
  return outboxRows(
    db,
    `WITH picked AS (
       SELECT c.id, c.patient_id FROM sync_outbox c
        WHERE ${candidates} AND ${CLAIMABLE('c')}
        ORDER BY c.id
        LIMIT $3
        FOR UPDATE SKIP LOCKED),
     cut AS (
       SELECT DISTINCT n.patient_id FROM (
         SELECT r.patient_id FROM sync_outbox r
          WHERE r.state IN ('pending', 'held') AND r.available_at <= now() AND r.id > (SELECT max(id) FROM picked)
          ORDER BY r.id
          LIMIT ${CUT_WINDOW}) n
        WHERE n.patient_id IN (SELECT patient_id FROM picked)),
     whole AS (
       SELECT id FROM picked WHERE patient_id IS NULL OR patient_id NOT IN (SELECT patient_id FROM cut)),
     taken AS (
       SELECT id FROM whole
       UNION ALL SELECT id FROM picked WHERE NOT EXISTS (SELECT 1 FROM whole))
     UPDATE sync_outbox o
        SET state = 'inflight', claimed_by = $1, lease_until = now() + ($2::int * interval '1 millisecond'),
            attempts = o.attempts + 1, consent_changed = false, updated_at = now()
      WHERE o.id IN (SELECT id FROM taken)
      RETURNING ${rowColumns('o')}`,
    [claimId, leaseMs, limit],
  );
}

/**
 * Finish claimed rows; the `claimed_by` guard ignores rows whose lease this claim lost. Returns the
 * ids this claim settled.
 */
export async function settle(
  db: Db,
  claimId: string,
  ids: string[],
  state: Exclude<OutboxState, 'inflight'>,
  opts: { reason?: string; outcome?: OperationOutcome; delayMs?: number } = {},
): Promise<string[]> {
  if (!ids.length) return [];
  const settled = await db.query<{ id: string }>(
    `UPDATE sync_outbox
        SET state = $3, reason = $4, outcome = $5::jsonb, claimed_by = NULL, lease_until = NULL, settled_by = $7,
            available_at = now() + ($6::int * interval '1 millisecond'), updated_at = now()
      WHERE id = ANY($2::bigint[]) AND claimed_by = $1 AND state = 'inflight'
      RETURNING id::text AS id`,
    [
      claimId,
      ids,
      state,
      opts.reason ?? null,
      opts.outcome ? JSON.stringify(opts.outcome) : null,
      opts.delayMs ?? 0,
      workerOfClaim(claimId),
    ],
  );
  return settled.map((r) => r.id);
}

/**
 * Rows a round found not permitted by consent: `blocked` with the reason — unless a Consent of their
 * client was written while they were in flight (unblockConsentPatients marked them), then the round's
 * verdict is stale and they go back to the queue. Without this, a Consent committed between a round's
 * consent read and this settle would find nothing blocked to release, and the client would stay blocked.
 * Returns the ids this claim settled as blocked (not those sent back to the queue): the refused
 * disclosures.
 */
export async function settleBlocked(
  db: Db,
  claimId: string,
  ids: string[],
  reason: string,
): Promise<string[]> {
  if (!ids.length) return [];
  const settled = await db.query<{ id: string; state: string }>(
    `UPDATE sync_outbox
        SET state = CASE WHEN consent_changed THEN 'pending' ELSE 'blocked' END,
            reason = CASE WHEN consent_changed THEN NULL ELSE $3 END, outcome = NULL, consent_changed = false,
            claimed_by = NULL, lease_until = NULL, settled_by = $4, available_at = now(), updated_at = now()
      WHERE id = ANY($2::bigint[]) AND claimed_by = $1 AND state = 'inflight'
      RETURNING id::text AS id, state`,
    [claimId, ids, reason, workerOfClaim(claimId)],
  );
  return settled.filter((r) => r.state === 'blocked').map((r) => r.id);
}

/** A delivered row: where it lives on the remote now (no remote id: nothing to map), and why, if not plain done. */
export interface DeliveredRow {
  outboxId: string;
  type: string;
  localId: string;
  localVersion: string | null;
  remoteId: string | null;
  remoteVersion: string | null;
  patientId: string | null;
  reason: string | null;
}

/** Why a change is not sent once its resource's delete has reached the remote. */
export const DELETE_WENT = 'not sent: the delete that followed it has gone to the remote';

/**
 * Everything a delivery changes in the sync tables, in one statement: the rows `done` (guarded by the
 * claim like `settle`) and, for the rows the claim still held, the id map (last row of a resource
 * wins), the parked rows of a resource whose delete went settled unsent (a delete is the last word:
 * nothing is left to resolve) and older sent contents of the mapped resources forgotten — a round
 * that lost its rows leaves those to the round that holds them now; the clients followed, and the
 * time of the last success.
 */
export async function settleDelivered(db: Db, claimId: string, delivered: DeliveredRow[]): Promise<void> {
  if (!delivered.length) return;
  await db.query(
    `WITH d AS (
       SELECT * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
         AS d(outbox_id, t, i, local_version, remote_id, remote_version, patient, reason)),
     settled AS (
       UPDATE sync_outbox o
          SET state = 'done', reason = d.reason, outcome = NULL, claimed_by = NULL, lease_until = NULL,
              settled_by = $11, available_at = now(), updated_at = now()
         FROM d WHERE o.id = d.outbox_id AND o.claimed_by = $1 AND o.state = 'inflight'
       RETURNING o.id, o.action),
     ours AS (SELECT d.*, settled.action FROM d JOIN settled ON settled.id = d.outbox_id),
     moot AS (
       UPDATE sync_outbox p SET state = 'done', reason = $12, outcome = NULL, updated_at = now()
         FROM ours d
        WHERE d.action = 'delete' AND p.resource_type = d.t AND p.resource_id = d.i
          AND p.id < d.outbox_id AND p.state = 'parked'),
     mapped AS (
       INSERT INTO sync_idmap (${MAP_COLUMNS})
       SELECT DISTINCT ON (t, i) t, i, remote_id, local_version, remote_version FROM ours
        WHERE remote_id IS NOT NULL ORDER BY t, i, outbox_id DESC
       ON CONFLICT (resource_type, local_id) DO UPDATE
         SET remote_id = EXCLUDED.remote_id, local_version = EXCLUDED.local_version,
             remote_version = EXCLUDED.remote_version, updated_at = now()),
     forgotten AS (
       DELETE FROM sync_sent s USING ours d
        WHERE d.remote_id IS NOT NULL AND s.resource_type = d.t AND s.local_id = d.i AND s.outbox_id < d.outbox_id),
     followed AS (
       INSERT INTO sync_followed (patient_id)
       SELECT DISTINCT patient FROM d WHERE patient IS NOT NULL ON CONFLICT (patient_id) DO NOTHING)
     INSERT INTO sync_state (key, value) VALUES ('last_push_success', $10)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
    [
      claimId,
      delivered.map((d) => d.outboxId),
      delivered.map((d) => d.type),
      delivered.map((d) => d.localId),
      delivered.map((d) => d.localVersion),
      delivered.map((d) => d.remoteId),
      delivered.map((d) => d.remoteVersion),
      delivered.map((d) => d.patientId),
      delivered.map((d) => d.reason),
      new Date().toISOString(),
      workerOfClaim(claimId),
      DELETE_WENT,
    ],
  );
}

/**
 * Back to the queue without counting the attempt: `pending` (waiting for a dependency in flight or
 * an open circuit) or `held` (a dependency that will not arrive by itself), with the reason.
 */
export async function release(
  db: Db,
  claimId: string,
  ids: string[],
  delayMs: number,
  reason?: string,
  state: 'pending' | 'held' = 'pending',
): Promise<void> {
  if (!ids.length) return;
  await db.query(
    `UPDATE sync_outbox
        SET state = $5, attempts = greatest(attempts - 1, 0), reason = coalesce($4, reason), claimed_by = NULL,
            lease_until = NULL, available_at = now() + ($3::int * interval '1 millisecond'), updated_at = now()
      WHERE id = ANY($2::bigint[]) AND claimed_by = $1 AND state = 'inflight'`,
    [claimId, ids, delayMs, reason ?? null, state],
  );
}

/**
 * How long until the earliest pending row that was put back for a wait of at most `shortMs` is due (0:
 * due now); undefined when there is none. Such a wait is for something of the same run — a dependency
 * or a deletion in flight, a consent re-check — not a backoff after a failure or an open circuit, whose
 * rows wait longer. A row queued and not yet tried counts too (it has waited for nothing).
 */
export async function nextShortWait(db: Db, shortMs: number): Promise<number | undefined> {
  const [row] = await db.query<{ ms: number | null }>(
    `SELECT greatest(0, ceil(extract(epoch FROM min(available_at) - now()) * 1000))::int AS ms
       FROM sync_outbox
      WHERE state = 'pending' AND available_at - updated_at <= $1::int * interval '1 millisecond'`,
    [shortMs],
  );
  return row?.ms ?? undefined;
}

/** Why a row went back unsent right before it would have left (releaseConsentChanged). */
export const CONSENT_CHANGED_IN_FLIGHT = 'consent changed while in flight; re-checked';

/**
 * The rows of `ids` this claim holds that a Consent of their client marked while they were in flight
 * (unblockConsentPatients) go back to the queue at once, unsent and without counting the attempt: the
 * round's consent verdict is stale, and the next round's gate decides again. An UPDATE, not a read: a
 * Consent whose transaction has marked a row but not yet committed holds the row's lock, so this waits
 * for it and sees the mark. Returns the ids released.
 */
export async function releaseConsentChanged(db: Db, claimId: string, ids: string[]): Promise<string[]> {
  if (!ids.length) return [];
  const released = await db.query<{ id: string }>(
    `UPDATE sync_outbox
        SET state = 'pending', attempts = greatest(attempts - 1, 0), reason = $3, consent_changed = false,
            claimed_by = NULL, lease_until = NULL, available_at = now(), updated_at = now()
      WHERE id = ANY($2::bigint[]) AND claimed_by = $1 AND state = 'inflight' AND consent_changed
      RETURNING id::text AS id`,
    [claimId, ids, CONSENT_CHANGED_IN_FLIGHT],
  );
  return released.map((r) => r.id);
}

/**
 * Keep our claim on rows still being worked on (a long round must not lose them to another worker);
 * returns how many were still ours — fewer than `ids` means the lease of the others ran out and they
 * may be with another round now.
 */
export async function renewLease(db: Db, claimId: string, ids: string[], leaseMs: number): Promise<number> {
  if (!ids.length) return 0;
  const rows = await db.query(
    `UPDATE sync_outbox SET lease_until = now() + ($3::int * interval '1 millisecond')
      WHERE id = ANY($2::bigint[]) AND claimed_by = $1 AND state = 'inflight' RETURNING id`,
    [claimId, ids, leaseMs],
  );
  return rows.length;
}

/** The rows in `states`, oldest first. */
const inStatesSql = (columns: string) =>
  `SELECT ${columns} FROM sync_outbox WHERE state = ANY($1::text[]) ORDER BY sync_outbox.id LIMIT $2`;

export async function listByState(db: Db, states: OutboxState[], limit = 100): Promise<OutboxRow[]> {
  return outboxRows(db, inStatesSql(rowColumns()), [states, limit]);
}

/** The rows in `states`, oldest first, without their content (not read from the history either). */
export async function listedByState(db: Db, states: OutboxState[], limit = 100): Promise<ListedRow[]> {
  const sql = inStatesSql(`${outboxColumns()}, created_at, updated_at`);
  const rows = await db.query<
    Omit<ListedRow, 'created_at' | 'updated_at'> & { created_at: Date; updated_at: Date }
  >(sql, [states, limit]);
  return rows.map((r) => ({
    ...r,
    created_at: instantOf(r.created_at),
    updated_at: instantOf(r.updated_at),
  }));
}

/** The outbox states an operator lists (`sync dead-letters --state`, `GET /api/sync/rows?state=`). */
export const LISTED_STATES = ['dead', 'blocked', 'held', 'parked'] as const;
export type ListedState = (typeof LISTED_STATES)[number];

/** A listed state as the CLI and the API take it; an Error naming the value otherwise. */
export function checkListedState(value: string): ListedState {
  if (!(LISTED_STATES as readonly string[]).includes(value))
    throw new Error(`state must be dead, blocked, held or parked, got "${value}"`);
  return value as ListedState;
}

/** How many rows a listing shows at most, and when not told. */
export const LIST_LIMIT = 1000;
export const LIST_DEFAULT = 50;

/** A listing's row count as the CLI and the API take it (1 … LIST_LIMIT); an Error naming the value otherwise. */
export function checkListLimit(value: string): number {
  const n = /^\d{1,4}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 1 && n <= LIST_LIMIT))
    throw new Error(`limit must be a whole number from 1 to ${LIST_LIMIT}, got "${value}"`);
  return n;
}

/** An outbox row number as `sync retry` and `POST /api/sync/retry` take it; an Error naming the value otherwise. */
export function checkOutboxId(id: string): string {
  if (!/^\d+$/.test(id)) throw new Error(`outbox id must be a number, got "${id}"`);
  if (BigInt(id) < 1n || BigInt(id) > MAX_ROW_ID)
    throw new Error(`outbox id must be a number from 1 to ${MAX_ROW_ID}, got "${id}"`);
  return id;
}

/** The largest row number a bigint column holds. */
const MAX_ROW_ID = 9223372036854775807n;

/** Which version a parked row's conflict keeps when an operator resolves it. */
export type ResolveChoice = 'local' | 'remote';

/** A choice as `sync resolve --keep` and `POST /api/sync/resolve?keep=` take it; an Error naming the value otherwise. */
export function checkResolveChoice(value: string): ResolveChoice {
  if (value !== 'local' && value !== 'remote')
    throw new Error(`keep must be local or remote, got "${value}"`);
  return value;
}

/** Operator retry: dead, parked, blocked and held rows back to the queue. */
export async function requeue(db: Db, id?: string): Promise<number> {
  const rows = await db.query(
    `UPDATE sync_outbox SET state = 'pending', available_at = now(), attempts = 0, updated_at = now()
      WHERE state IN ('dead', 'parked', 'blocked', 'held') AND ($1::bigint IS NULL OR id = $1::bigint)
      RETURNING id`,
    [id ?? null],
  );
  return rows.length;
}

/**
 * Operator resolution of a parked row: the conflict is the resource's, so its newest parked row goes
 * back to the queue, its conflict to be settled by keeping `keep` (the local version written over the
 * remote one, or the remote one stored here); the resource's older parked rows, whose versions that
 * row's supersedes, are settled without being sent. A resource edited here again while parked has
 * one parked row per edit; resolving the older one alone would write an old local version over the
 * remote and leave the newer parked. Undefined when the row is not parked.
 */
export async function resolveParked(db: Db, id: string, keep: ResolveChoice): Promise<Resolved | undefined> {
  const [found] = await db.query<{ row: string | null; superseded: string[] }>(
    `WITH parked AS (
       SELECT o.id FROM sync_outbox o
         JOIN sync_outbox chosen ON chosen.resource_type = o.resource_type AND chosen.resource_id = o.resource_id
        WHERE chosen.id = $1::bigint AND chosen.state = 'parked' AND o.state = 'parked'
        FOR UPDATE OF o),
     newest AS (SELECT max(id) AS id FROM parked),
     superseded AS (
       UPDATE sync_outbox o
          SET state = 'done', reason = 'superseded: a later change of the resource (outbox ' || n.id || ') was resolved keeping ' || $2,
              outcome = NULL, updated_at = now()
         FROM newest n WHERE o.id IN (SELECT id FROM parked) AND o.id <> n.id
       RETURNING o.id),
     requeued AS (
       UPDATE sync_outbox o
          SET state = 'pending', available_at = now(), attempts = 0, resolve_with = $2, updated_at = now()
         FROM newest n WHERE o.id = n.id
        RETURNING o.id)
     SELECT (SELECT id::text FROM requeued) AS row,
            ARRAY(SELECT id::text FROM superseded ORDER BY superseded.id) AS superseded`,
    [id, keep],
  );
  return found?.row ? { row: found.row, superseded: found.superseded } : undefined;
}

/** What resolving a parked row did: the row queued with the choice, and the rows it settled unsent. */
export interface Resolved {
  /** The resource's newest parked row, queued to settle the conflict (the row named, or a later one). */
  row: string;
  /** The resource's older parked rows, settled without being sent. */
  superseded: string[];
}

/** The state of the newest outbox row of each `Type/id` (absent: never queued). */
export async function latestStates(db: Db, refs: string[]): Promise<Map<string, LatestState>> {
  const out = new Map<string, LatestState>();
  if (!refs.length) return out;
  const rows = await db.query<LatestState & { ref: string }>(
    `SELECT DISTINCT ON (resource_type, resource_id) resource_type || '/' || resource_id AS ref, state, reason, action
       FROM sync_outbox
      WHERE (resource_type, resource_id) IN (SELECT t, i FROM unnest($1::text[], $2::text[]) AS k(t, i))
      ORDER BY resource_type, resource_id, id DESC`,
    splitRefs(refs),
  );
  for (const { ref, ...latest } of rows) out.set(ref, latest);
  return out;
}

/**
 * The rows among `rows` (by id) that a later outbox row of their resource follows, in any state but
 * dead — whether a delete is among those later rows (`deleted`: queued to go, or settled already:
 * sent, or found nothing to delete on the remote), and whether such a delete has settled (`deleteDone`).
 */
export async function laterRowsOf(
  db: Db,
  rows: ReadonlyArray<Pick<OutboxRow, 'id' | 'resource_type' | 'resource_id'>>,
): Promise<Map<string, { deleted: boolean; deleteDone: boolean }>> {
  if (!rows.length) return new Map();
  const found = await db.query<{ id: string; deleted: boolean; deleteDone: boolean }>(
    `SELECT k.id::text AS id, bool_or(l.action = 'delete') AS deleted,
            bool_or(l.action = 'delete' AND l.state = 'done') AS "deleteDone"
       FROM unnest($1::bigint[], $2::text[], $3::text[]) AS k(id, t, i)
       JOIN sync_outbox l ON l.resource_type = k.t AND l.resource_id = k.i AND l.id > k.id AND l.state <> 'dead'
      GROUP BY k.id`,
    [rows.map((r) => r.id), rows.map((r) => r.resource_type), rows.map((r) => r.resource_id)],
  );
  return new Map(found.map((r) => [r.id, { deleted: r.deleted, deleteDone: r.deleteDone }]));
}

/** The last outbox row of a resource: its state, why, and what it does. */
export type LatestState = { state: OutboxState; reason: string | null; action: string };

/** Whether `latest` says the resource was deleted here with the delete going or gone (not dead). */
export const isDeletedHere = (latest: LatestState | undefined): boolean =>
  latest?.action === 'delete' && latest.state !== 'dead';

/** What of a local resource has not reached the remote (`undeliveredChanges`). */
export type Undelivered = {
  /** A change queued, in flight, held or parked: its push resolves any remote change. */
  queued: boolean;
  /** A change blocked by consent or dead-lettered: it waits for a consent or a person. */
  stuck: boolean;
  /** Among them a delete. */
  deletes: boolean;
};

/**
 * The rows of a local resource not delivered, with no later row of it delivered since (a whole newer
 * version went instead), in one query.
 */
export async function undeliveredChanges(db: Db, type: string, localId: string): Promise<Undelivered> {
  const [row] = await db.query<Undelivered>(
    `SELECT coalesce(bool_or(o.state = ANY($3::text[])), false) AS queued,
            coalesce(bool_or(o.state = ANY($4::text[])), false) AS stuck,
            coalesce(bool_or(o.action = 'delete'), false) AS deletes
       FROM sync_outbox o
      WHERE o.resource_type = $1 AND o.resource_id = $2 AND o.state = ANY($3::text[] || $4::text[])
        AND NOT EXISTS (SELECT 1 FROM sync_outbox d
                         WHERE d.resource_type = $1 AND d.resource_id = $2 AND d.state = 'done' AND d.id > o.id)`,
    [type, localId, QUEUED_STATES, STUCK_STATES],
  );
  return row ?? { queued: false, stuck: false, deletes: false };
}

/** Queued rows of one resource marked done because the remote version replaced them (remote-wins). */
export async function supersedeQueued(
  db: Db,
  type: string,
  localId: string,
  exceptId?: string,
): Promise<void> {
  await db.query(
    `UPDATE sync_outbox SET state = 'done', reason = 'superseded by the remote version (remote-wins)',
            claimed_by = NULL, updated_at = now()
      WHERE resource_type = $1 AND resource_id = $2 AND state IN ('pending', 'held', 'parked')
        AND ($3::bigint IS NULL OR id <> $3::bigint)`,
    [type, localId, exceptId ?? null],
  );
}

export async function outboxCounts(db: Db): Promise<{ state: OutboxState; n: number; retrying: number }[]> {
  return db.query(
    `SELECT state, count(*)::int AS n,
            count(*) FILTER (WHERE attempts > 0 AND reason IS NOT NULL)::int AS retrying
       FROM sync_outbox GROUP BY state`,
  );
}

/** Outbox rows in any of `states`. */
export async function countInStates(db: Db, states: OutboxState[]): Promise<number> {
  const [{ n }] = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM sync_outbox WHERE state = ANY($1::text[])',
    [states],
  );
  return n;
}

export function queueDepth(db: Db): Promise<number> {
  return countInStates(db, ['pending', 'inflight']);
}

// ---------------------------------------------------------------------------------------------
// Id map: local Type/id ⇄ remote Type/id, with the versions last seen on either side.

const MAP_COLUMNS = 'resource_type, local_id, remote_id, local_version, remote_version';

/** Mappings for local references `Type/id`, keyed by that reference. */
export function mappingsForLocal(db: Db, refs: Iterable<string>): Promise<Map<string, IdMapping>> {
  return mappingsBy(db, 'local_id', refs);
}

/** Mappings for remote references `Type/id`, keyed by that reference. */
export function mappingsForRemote(db: Db, refs: Iterable<string>): Promise<Map<string, IdMapping>> {
  return mappingsBy(db, 'remote_id', refs);
}

async function mappingsBy(
  db: Db,
  column: 'local_id' | 'remote_id',
  refs: Iterable<string>,
): Promise<Map<string, IdMapping>> {
  const keys = [...new Set(refs)];
  const out = new Map<string, IdMapping>();
  if (!keys.length) return out;
  const rows = await db.query<IdMapping>(
    `SELECT ${MAP_COLUMNS} FROM sync_idmap
      WHERE (resource_type, ${column}) IN (SELECT t, i FROM unnest($1::text[], $2::text[]) AS k(t, i))`,
    splitRefs(keys),
  );
  for (const r of rows) out.set(`${r.resource_type}/${r[column]}`, r);
  return out;
}

/**
 * A local copy deleted because its remote resource was deleted (pull-deletes.ts): its mapping, the
 * contents we sent of it and its unlinked references go with it.
 */
export async function forgetDeletedCopy(db: Db, type: string, localId: string): Promise<void> {
  await db.query('DELETE FROM sync_idmap WHERE resource_type = $1 AND local_id = $2', [type, localId]);
  await forgetSent(db, type, localId);
  await forgetLinked(db, type, localId, true);
  await forgetDeleteLeft(db, type, localId);
}

/** A remote delete the pull left (pull-deletes.ts): the local copy, the remote id, and why. */
export type DeleteLeft = { type: string; localId: string; remoteId: string; reason: string };

/**
 * Lists remote deletes the pull left, or updates their reason and check time; returns the `Type/id`
 * of those not listed before (a pull counts a delete it leaves once, not at every later try).
 */
export async function recordDeletesLeft(db: Db, left: DeleteLeft[]): Promise<Set<string>> {
  if (!left.length) return new Set();
  const rows = await db.query<{ resource_type: string; local_id: string; listed: boolean }>(
    `INSERT INTO sync_delete_left (resource_type, local_id, remote_id, reason)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
     ON CONFLICT (resource_type, local_id) DO UPDATE
       SET remote_id = EXCLUDED.remote_id, reason = EXCLUDED.reason, checked_at = now()
     RETURNING resource_type, local_id, (xmax <> 0) AS listed`,
    [
      left.map((l) => l.type),
      left.map((l) => l.localId),
      left.map((l) => l.remoteId),
      left.map((l) => l.reason),
    ],
  );
  return new Set(rows.filter((r) => !r.listed).map((r) => `${r.resource_type}/${r.local_id}`));
}

/** The remote deletes left longest without a try, at most `limit`: what a pull tries again. */
export function deletesLeftToTry(db: Db, limit: number): Promise<DeleteLeft[]> {
  return db.query<DeleteLeft>(
    `SELECT resource_type AS "type", local_id AS "localId", remote_id AS "remoteId", reason
       FROM sync_delete_left ORDER BY checked_at, resource_type, local_id LIMIT $1`,
    [limit],
  );
}

/** Takes a local copy off the remote deletes left (it went, or the remote holds it again). */
export async function forgetDeleteLeft(db: Db, type: string, localId: string): Promise<void> {
  await db.query('DELETE FROM sync_delete_left WHERE resource_type = $1 AND local_id = $2', [type, localId]);
}

/** One remote delete left as the status lists it: the local copy (`Type/id`), why, since when. */
export type DeleteLeftListed = { resource: string; reason: string; since: string };

/** Remote deletes left as the status lists them: how many, and the newest `limit`. */
export async function deletesLeft(
  db: Db,
  limit = 20,
): Promise<{ total: number; newest: DeleteLeftListed[] }> {
  const [{ n }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM sync_delete_left');
  if (!n) return { total: 0, newest: [] };
  const rows = await db.query<{ resource: string; reason: string; since: Date }>(
    `SELECT resource_type || '/' || local_id AS resource, reason, seen_at AS since
       FROM sync_delete_left ORDER BY seen_at DESC, resource_type, local_id LIMIT $1`,
    [limit],
  );
  return { total: n, newest: rows.map((r) => ({ ...r, since: instantOf(r.since) })) };
}

/**
 * Of local references `Type/id`, those the remote deleted while the pull left their copy here
 * (`sync_delete_left`, for the remote id the id map still maps them to): gone on the remote, though
 * mapped. What refers to them cannot go there (push/dependencies.ts).
 */
export async function deletedOnRemote(db: Db, refs: Iterable<string>): Promise<Set<string>> {
  const keys = [...new Set(refs)];
  if (!keys.length) return new Set();
  const rows = await db.query<{ ref: string }>(
    `SELECT l.resource_type || '/' || l.local_id AS ref
       FROM sync_delete_left l
       JOIN sync_idmap m
         ON m.resource_type = l.resource_type AND m.local_id = l.local_id AND m.remote_id = l.remote_id
      WHERE (l.resource_type, l.local_id) IN (SELECT t, i FROM unnest($1::text[], $2::text[]) AS k(t, i))`,
    splitRefs(keys),
  );
  return new Set(rows.map((r) => r.ref));
}

/** Many mappings in one statement (the last one wins when a list maps one local resource twice). */
export async function upsertMappings(db: Db, list: IdMapping[]): Promise<void> {
  if (!list.length) return;
  const rows = [...new Map(list.map((m) => [`${m.resource_type}/${m.local_id}`, m])).values()];
  await db.query(
    `INSERT INTO sync_idmap (${MAP_COLUMNS})
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
     ON CONFLICT (resource_type, local_id) DO UPDATE
       SET remote_id = EXCLUDED.remote_id, local_version = EXCLUDED.local_version,
           remote_version = EXCLUDED.remote_version, updated_at = now()`,
    [
      rows.map((m) => m.resource_type),
      rows.map((m) => m.local_id),
      rows.map((m) => m.remote_id),
      rows.map((m) => m.local_version),
      rows.map((m) => m.remote_version),
    ],
  );
}

function splitRefs(refs: string[]): [string[], string[]] {
  const types: string[] = [];
  const ids: string[] = [];
  for (const ref of refs) {
    const slash = ref.indexOf('/');
    types.push(ref.slice(0, slash));
    ids.push(ref.slice(slash + 1));
  }
  return [types, ids];
}

// ---------------------------------------------------------------------------------------------
// What we sent: the content of every write we made, so our own echo is never taken for a remote change.

/** A digest of remote-shaped content (see context.contentKey). */
export function contentDigest(key: string): string {
  return createHash('sha256').update(key).digest('base64url');
}

/** Before a write leaves: remember the content we are about to put on the remote. */
export async function recordSent(
  db: Db,
  sent: { type: string; localId: string; digest: string; outboxId: string }[],
): Promise<void> {
  if (!sent.length) return;
  await db.query(
    `INSERT INTO sync_sent (resource_type, local_id, digest, outbox_id)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
     ON CONFLICT (resource_type, local_id, digest) DO UPDATE SET outbox_id = EXCLUDED.outbox_id, created_at = now()`,
    [
      sent.map((s) => s.type),
      sent.map((s) => s.localId),
      sent.map((s) => s.digest),
      sent.map((s) => s.outboxId),
    ],
  );
}

/** Before writes leave: their rows may reach the remote from now on (see schema sync-15). */
export async function markLeaving(db: Db, outboxIds: string[]): Promise<void> {
  if (!outboxIds.length) return;
  await db.query('UPDATE sync_outbox SET sent_at = now() WHERE id = ANY($1::bigint[])', [outboxIds]);
}

/**
 * Whether a write of the resource, queued no later than outbox row `upTo`, has left for the remote
 * (its copy may be there whether or not the id map knows it).
 */
export async function mayHaveReached(db: Db, type: string, localId: string, upTo: string): Promise<boolean> {
  const rows = await db.query(
    `SELECT 1 FROM sync_outbox WHERE resource_type = $1 AND resource_id = $2 AND id <= $3::bigint
        AND action <> 'delete' AND sent_at IS NOT NULL LIMIT 1`,
    [type, localId, upTo],
  );
  return rows.length > 0;
}

/** The rows of a resource's writes queued before outbox row `before` that left for the remote, newest first. */
export function sentRowsBefore(db: Db, type: string, localId: string, before: string): Promise<OutboxRow[]> {
  return outboxRows(
    db,
    `SELECT ${rowColumns()} FROM sync_outbox
      WHERE resource_type = $1 AND resource_id = $2 AND id < $3::bigint AND action <> 'delete'
        AND sent_at IS NOT NULL
      ORDER BY id DESC LIMIT 20`,
    [type, localId, before],
  );
}

/** The content of the newest version of a resource queued for the remote (a deleted one's last). */
export async function lastQueuedContent(
  db: Db,
  type: string,
  localId: string,
): Promise<Resource | undefined> {
  const [row] = await outboxRows(
    db,
    `SELECT ${rowColumns()} FROM sync_outbox
      WHERE resource_type = $1 AND resource_id = $2 AND action <> 'delete' ORDER BY id DESC LIMIT 1`,
    [type, localId],
  );
  return row?.payload ?? undefined;
}

/** Whether `digest` is content we wrote for this local resource (our own echo). */
export async function wasSentByUs(db: Db, type: string, localId: string, digest: string): Promise<boolean> {
  const rows = await db.query(
    'SELECT 1 FROM sync_sent WHERE resource_type = $1 AND local_id = $2 AND digest = $3',
    [type, localId, digest],
  );
  return rows.length > 0;
}

/**
 * A pulled version replaced the local copy: what we sent of it before is no longer on the remote, so
 * the same content coming back later is a remote edit, not our echo. A write still in flight keeps
 * its row (its answer may yet come back as the remote's current version).
 */
export async function forgetSent(db: Db, type: string, localId: string): Promise<void> {
  await db.query(
    `DELETE FROM sync_sent s
      WHERE s.resource_type = $1 AND s.local_id = $2
        AND NOT EXISTS (SELECT 1 FROM sync_outbox o WHERE o.id = s.outbox_id AND o.state = 'inflight')`,
    [type, localId],
  );
}

// ---------------------------------------------------------------------------------------------
// Unlinked references: pulled local copies naming remote resources by the remote's absolute URL.

/** A local copy and the remote `Type/id`s it names by absolute URL, not mapped when it was written. */
export interface Unlinked {
  type: string;
  localId: string;
  targets: string[];
}

/** The unlinked targets of each written local copy, in place of what was noted of it before. */
export async function noteUnlinked(db: Db, list: Unlinked[]): Promise<void> {
  if (!list.length) return;
  // Two statements: a row deleted and inserted again in one statement would be lost (the insert
  // sees the row the delete removes).
  await db.query(
    `DELETE FROM sync_unlinked u USING unnest($1::text[], $2::text[]) AS w(t, i)
      WHERE u.resource_type = w.t AND u.local_id = w.i`,
    [list.map((u) => u.type), list.map((u) => u.localId)],
  );
  const rows = list.flatMap((u) => u.targets.map((t) => [u.type, u.localId, ...splitRefs([t]).flat()]));
  if (!rows.length) return;
  await db.query(
    `INSERT INTO sync_unlinked (resource_type, local_id, target_type, target_remote_id)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) ON CONFLICT DO NOTHING`,
    [0, 1, 2, 3].map((k) => rows.map((r) => r[k])),
  );
}

/**
 * Local copies (at most `limit`) with an unlinked target the id map now holds: those never looked at
 * first, then those a pass left longest ago (`fresh`: only the never looked at).
 */
export function linkable(
  db: Db,
  limit: number,
  fresh = false,
): Promise<{ resource_type: string; local_id: string }[]> {
  return db.query(
    `SELECT u.resource_type, u.local_id FROM sync_unlinked u
       JOIN sync_idmap m ON m.resource_type = u.target_type AND m.remote_id = u.target_remote_id
      WHERE NOT $2 OR u.checked_at IS NULL
      GROUP BY u.resource_type, u.local_id
      ORDER BY min(u.checked_at) NULLS FIRST, u.resource_type, u.local_id LIMIT $1`,
    [limit, fresh],
  );
}

/** A local copy a pass left as it was: it waits behind the copies not looked at yet. */
export async function leftUnlinked(db: Db, type: string, localId: string): Promise<void> {
  await db.query('UPDATE sync_unlinked SET checked_at = now() WHERE resource_type = $1 AND local_id = $2', [
    type,
    localId,
  ]);
}

/** Forgets the unlinked targets of a local copy that the id map holds (`all`: every one of them). */
export async function forgetLinked(db: Db, type: string, localId: string, all = false): Promise<void> {
  await db.query(
    `DELETE FROM sync_unlinked u WHERE u.resource_type = $1 AND u.local_id = $2
        AND ($3 OR EXISTS (SELECT 1 FROM sync_idmap m
                            WHERE m.resource_type = u.target_type AND m.remote_id = u.target_remote_id))`,
    [type, localId, all],
  );
}

// ---------------------------------------------------------------------------------------------
// Pull cursors, followed clients, conflicts, service state

export async function readCursor(db: Db, patientId: string, type: string): Promise<string | undefined> {
  const rows = await db.query<{ last_updated: string }>(
    'SELECT last_updated FROM sync_cursor WHERE patient_id = $1 AND resource_type = $2',
    [patientId, type],
  );
  return rows[0]?.last_updated;
}

export async function writeCursor(
  db: Db,
  patientId: string,
  type: string,
  lastUpdated: string,
): Promise<void> {
  await db.query(
    `INSERT INTO sync_cursor (patient_id, resource_type, last_updated) VALUES ($1, $2, $3)
     ON CONFLICT (patient_id, resource_type) DO UPDATE SET last_updated = EXCLUDED.last_updated, updated_at = now()`,
    [patientId, type, lastUpdated],
  );
}

/** The `sync_state` key of where the next look for a type's remote deletes starts (pull-deletes.ts). */
const deletesSinceKey = (type: string) => `deletes_since:${type}`;

/** The newest remote stamp a look at `type`'s history showed (none before the first look). */
export async function readDeletesCursor(db: Db, type: string): Promise<string | undefined> {
  const rows = await db.query<{ value: string }>('SELECT value FROM sync_state WHERE key = $1', [
    deletesSinceKey(type),
  ]);
  return rows[0]?.value;
}

export async function writeDeletesCursor(db: Db, type: string, lastUpdated: string): Promise<void> {
  await db.query(
    `INSERT INTO sync_state (key, value) VALUES ($1, $2)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
    [deletesSinceKey(type), lastUpdated],
  );
}

/** Whether the id map holds any resource of `type`. */
export async function mapsAnyOf(db: Db, type: string): Promise<boolean> {
  const rows = await db.query('SELECT 1 FROM sync_idmap WHERE resource_type = $1 LIMIT 1', [type]);
  return rows.length > 0;
}

export async function follow(db: Db, patientIds: string[]): Promise<void> {
  if (!patientIds.length) return;
  await db.query(
    'INSERT INTO sync_followed (patient_id) SELECT unnest($1::text[]) ON CONFLICT (patient_id) DO NOTHING',
    [patientIds],
  );
}

/**
 * Every client the local store holds sync data for: followed explicitly, or with any outbox row
 * (whatever its state — a blocked client is still a client whose consents may arrive remotely).
 */
export async function clientsToFollow(db: Db): Promise<string[]> {
  const rows = await db.query<{ patient_id: string }>(
    `SELECT patient_id FROM sync_followed
     UNION SELECT DISTINCT patient_id FROM sync_outbox WHERE patient_id IS NOT NULL
     ORDER BY patient_id`,
  );
  return rows.map((r) => r.patient_id);
}

export async function followedCount(db: Db): Promise<number> {
  const [{ n }] = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT patient_id FROM sync_followed
       UNION SELECT DISTINCT patient_id FROM sync_outbox WHERE patient_id IS NOT NULL) f`,
  );
  return n;
}

export async function recordConflict(
  db: Db,
  c: { outboxId: string; type: string; localId: string; policy: string; resolution: string; detail: object },
): Promise<void> {
  await db.query(
    `INSERT INTO sync_conflict (outbox_id, resource_type, resource_id, policy, resolution, detail)
     VALUES ($1::bigint, $2, $3, $4, $5, $6::jsonb)`,
    [c.outboxId, c.type, c.localId, c.policy, c.resolution, JSON.stringify(c.detail)],
  );
}

/** One settled conflict with a remote edit, as `sync_conflict` records it (ids and versions, no content). */
export type ConflictRow = {
  id: string;
  outbox_id: string | null;
  resource_type: string;
  resource_id: string;
  policy: string;
  resolution: string;
  /** The remote id, the version expected and the version found. */
  detail: Record<string, unknown> | null;
  /** When it was recorded (ISO instant in UTC). */
  created_at: string;
};

/** The conflicts recorded, newest first. */
export async function listConflicts(db: Db, limit = LIST_DEFAULT): Promise<ConflictRow[]> {
  const rows = await db.query<Omit<ConflictRow, 'created_at'> & { created_at: Date }>(
    `SELECT id::text AS id, outbox_id::text AS outbox_id, resource_type, resource_id, policy, resolution,
            detail, created_at
       FROM sync_conflict ORDER BY sync_conflict.id DESC LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({ ...r, created_at: instantOf(r.created_at) }));
}

/** A remote resource the pull did not store, and why (a rule, never its content). */
export type RefusedPull = {
  resourceType: string;
  remoteId: string;
  remoteVersion: string | null;
  reason: string;
};

/** Records refused pulls, each once: a refusal met again updates its version, reason and time. */
export async function recordRefusedPulls(db: Db, refused: RefusedPull[]): Promise<void> {
  if (!refused.length) return;
  await db.query(
    `INSERT INTO sync_pull_refused (resource_type, remote_id, remote_version, reason)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
     ON CONFLICT (resource_type, remote_id) DO UPDATE
       SET remote_version = EXCLUDED.remote_version, reason = EXCLUDED.reason, seen_at = now()`,
    [
      refused.map((r) => r.resourceType),
      refused.map((r) => r.remoteId),
      refused.map((r) => r.remoteVersion),
      // The reason may quote what the remote sent, and PostgreSQL's text holds no U+0000.
      refused.map((r) => r.reason.replaceAll('\u0000', '\uFFFD')),
    ],
  );
}

/** Takes remote resources (`Type/id`) stored since off the refused list. */
export async function forgetRefusedPulls(db: Db, keys: string[]): Promise<void> {
  if (!keys.length) return;
  await db.query(
    `DELETE FROM sync_pull_refused
      WHERE (resource_type, remote_id) IN (SELECT t, i FROM unnest($1::text[], $2::text[]) AS k(t, i))`,
    splitRefs(keys),
  );
}

/** How many refused pulls are listed. */
export async function refusedPullCount(db: Db): Promise<number> {
  const [{ n }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM sync_pull_refused');
  return n;
}

/** Every refused pull listed, oldest first: what `pullRefusedAgain` reads again. */
export function refusedPullKeys(db: Db): Promise<Pick<RefusedPull, 'resourceType' | 'remoteId'>[]> {
  return db.query(
    `SELECT resource_type AS "resourceType", remote_id AS "remoteId" FROM sync_pull_refused
      ORDER BY seen_at, resource_type, remote_id`,
  );
}

/** One refused pull as the status lists it: with when it was last refused (ISO instant). */
export type RefusedPullListed = RefusedPull & { seenAt: string };

/** Refused pulls as the status lists them: how many, and the newest `limit`. */
export async function refusedPulls(
  db: Db,
  limit = 20,
): Promise<{ total: number; newest: RefusedPullListed[] }> {
  const n = await refusedPullCount(db);
  if (!n) return { total: 0, newest: [] };
  const rows = await db.query<RefusedPull & { seenAt: Date }>(
    `SELECT resource_type AS "resourceType", remote_id AS "remoteId", remote_version AS "remoteVersion",
            reason, seen_at AS "seenAt"
       FROM sync_pull_refused ORDER BY seen_at DESC, resource_type, remote_id LIMIT $1`,
    [limit],
  );
  return { total: n, newest: rows.map((r) => ({ ...r, seenAt: instantOf(r.seenAt) })) };
}

export async function conflictCount(db: Db): Promise<number> {
  const [{ n }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM sync_conflict');
  return n;
}

/** The two kinds of work whose successes and errors the status shows. */
export type WorkKind = 'push' | 'pull';

/** Where each kind keeps its last success (an ISO instant) and its last error (`<instant> <message>`). */
export const SUCCESS_KEY = { push: 'last_push_success', pull: 'last_pull_success' } as const;
export const ERROR_KEY = { push: 'last_push_error', pull: 'last_pull_error' } as const;

export type StateKey =
  | (typeof SUCCESS_KEY)[WorkKind]
  | (typeof ERROR_KEY)[WorkKind]
  | 'last_pull_skipped'
  | 'backfill'
  | 'remote'
  | 'party'
  | 'gated_party';

/**
 * Keeps `err` as the last error of a push round or a pull, stamped (its message: names and codes,
 * never what was sent). Status shows it until a later success of the same kind (status.ts).
 */
export async function keepLastError(db: Db, kind: WorkKind, err: unknown): Promise<void> {
  const message = `${new Date().toISOString()} ${(err as Error)?.message ?? String(err)}`;
  await setState(db, ERROR_KEY[kind], message).catch(() => {});
}

export async function setState(db: Db, key: StateKey, value: string): Promise<void> {
  await db.query(
    `INSERT INTO sync_state (key, value) VALUES ($1, $2)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
    [key, value],
  );
}

/** The value recorded under `key`, or undefined. */
export async function stateOf(db: Db, key: StateKey): Promise<string | undefined> {
  const [row] = await db.query<{ value: string }>('SELECT value FROM sync_state WHERE key = $1', [key]);
  return row?.value;
}

/**
 * What this store syncs with: `value` when nothing was recorded yet under `key` (it is recorded),
 * otherwise the value recorded first. The remote is recorded by the first push or pull, the party by
 * the first write that leaves for the remote (party.ts).
 */
export async function bindOnce(db: Db, key: 'remote' | 'party', value: string): Promise<string> {
  await db.query(`INSERT INTO sync_state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, [
    key,
    value,
  ]);
  const [row] = await db.query<{ value: string }>('SELECT value FROM sync_state WHERE key = $1', [key]);
  return row?.value ?? value;
}

/**
 * The party whose consents the consent gate judges by from now on (`sync_state` key `gated_party`;
 * before it was kept, the bound `party`): when it was another, the rows it held back — blocked by
 * consent, and held for a dependency (which may be one of them) — go back to the queue to be judged
 * again. Returns how many went back.
 */
export async function judgeFor(db: Db, party: string): Promise<number> {
  const rows = await db.query(
    `WITH before AS (
       SELECT coalesce((SELECT value FROM sync_state WHERE key = 'gated_party'),
                       (SELECT value FROM sync_state WHERE key = 'party')) AS party),
     judged AS (
       INSERT INTO sync_state (key, value) VALUES ('gated_party', $1)
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()
        WHERE sync_state.value <> EXCLUDED.value)
     UPDATE sync_outbox SET state = 'pending', available_at = now(), updated_at = now()
      WHERE state IN ('blocked', 'held') AND (SELECT party FROM before) <> $1
     RETURNING id`,
    [party],
  );
  return rows.length;
}

/** The `n` id map entries written last (to ask a remote whether it holds them). */
export function recentMappings(db: Db, n: number): Promise<IdMapping[]> {
  return db.query<IdMapping>(`SELECT ${MAP_COLUMNS} FROM sync_idmap ORDER BY updated_at DESC LIMIT $1`, [n]);
}

export async function readStates(db: Db): Promise<Map<string, string>> {
  const rows = await db.query<{ key: string; value: string }>('SELECT key, value FROM sync_state');
  return new Map(rows.map((r) => [r.key, r.value]));
}
