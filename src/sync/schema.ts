/** Sync's own tables, created through store.migrate('sync', …). */
export const SYNC_MIGRATIONS: string[] = [
  `CREATE TABLE IF NOT EXISTS sync_outbox (
    id bigserial PRIMARY KEY,
    resource_type text NOT NULL,
    resource_id text NOT NULL,
    version_id text,
    action text NOT NULL,
    patient_id text,
    payload jsonb NOT NULL,
    state text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    available_at timestamptz NOT NULL DEFAULT now(),
    claimed_by text,
    lease_until timestamptz,
    reason text,
    outcome jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  'CREATE INDEX IF NOT EXISTS sync_outbox_ready ON sync_outbox (state, id)',
  'CREATE INDEX IF NOT EXISTS sync_outbox_resource ON sync_outbox (resource_type, resource_id, id)',
  `CREATE INDEX IF NOT EXISTS sync_outbox_patient ON sync_outbox (patient_id) WHERE state = 'blocked'`,
  `CREATE TABLE IF NOT EXISTS sync_idmap (
    resource_type text NOT NULL,
    local_id text NOT NULL,
    remote_id text NOT NULL,
    local_version text,
    remote_version text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (resource_type, local_id)
  )`,
  'CREATE UNIQUE INDEX IF NOT EXISTS sync_idmap_remote ON sync_idmap (resource_type, remote_id)',
  `CREATE TABLE IF NOT EXISTS sync_cursor (
    patient_id text NOT NULL,
    resource_type text NOT NULL,
    last_updated text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (patient_id, resource_type)
  )`,
  `CREATE TABLE IF NOT EXISTS sync_followed (
    patient_id text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE TABLE IF NOT EXISTS sync_conflict (
    id bigserial PRIMARY KEY,
    outbox_id bigint,
    resource_type text NOT NULL,
    resource_id text NOT NULL,
    policy text NOT NULL,
    resolution text NOT NULL,
    detail jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE TABLE IF NOT EXISTS sync_state (
    key text PRIMARY KEY,
    value text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
];

/** Later additions, each its own migration so existing databases get them too. */
export const SYNC_MIGRATIONS_2: string[] = [
  // Which worker settled a row (audit; shows several workers sharing the queue).
  'ALTER TABLE sync_outbox ADD COLUMN IF NOT EXISTS settled_by text',
];

export const SYNC_MIGRATIONS_3: string[] = [
  // Only the rows waiting to be claimed: a claim's scan stays proportional to the queue, not to every
  // row ever delivered (done rows and the dead index entries their updates leave behind).
  `CREATE INDEX IF NOT EXISTS sync_outbox_pending ON sync_outbox (id) WHERE state = 'pending'`,
];

export const SYNC_MIGRATIONS_4: string[] = [
  // Held rows (waiting for a dependency that will not arrive by itself) are claimable after their delay.
  `CREATE INDEX IF NOT EXISTS sync_outbox_ready_held ON sync_outbox (id) WHERE state IN ('pending', 'held')`,
  // The contents we wrote to the remote, per local resource: our own echo is recognised by its digest.
  `CREATE TABLE IF NOT EXISTS sync_sent (
    resource_type text NOT NULL,
    local_id text NOT NULL,
    digest text NOT NULL,
    outbox_id bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (resource_type, local_id, digest)
  )`,
];

export const SYNC_MIGRATIONS_5: string[] = [
  // A claim passes over the clients with rows in flight: which those are, without a scan.
  `CREATE INDEX IF NOT EXISTS sync_outbox_inflight_patient ON sync_outbox (patient_id) WHERE state = 'inflight'`,
  // A row changes state several times (claimed, settled) but its payload never: kept out of line, each
  // of those updates writes the row's few small columns instead of the whole resource again.
  'ALTER TABLE sync_outbox SET (toast_tuple_target = 128)',
];

export const SYNC_MIGRATIONS_6: string[] = [
  // A row of a stored version keeps no copy of the resource: its content is read from the store's
  // history when the row is claimed (repository.rowColumns); only delete stubs are kept here.
  'ALTER TABLE sync_outbox ALTER COLUMN payload DROP NOT NULL',
];

export const SYNC_MIGRATIONS_7: string[] = [
  // A Consent written while a row of its client is in flight marks the row: the round decided on the
  // consents it read before, so a "blocked" verdict of that round is not final (see settleBlocked).
  'ALTER TABLE sync_outbox ADD COLUMN IF NOT EXISTS consent_changed boolean NOT NULL DEFAULT false',
];

export const SYNC_MIGRATIONS_8: string[] = [
  // A Consent write re-checks its clients' unsettled rows (repository.unblockConsentPatients): found by
  // client, not by scanning every unsettled row of the queue (and the dead index entries they leave).
  `CREATE INDEX IF NOT EXISTS sync_outbox_unsettled_patient ON sync_outbox (patient_id)
     WHERE state IN ('blocked', 'held', 'inflight', 'pending')`,
  // Read by nothing any more: claims use sync_outbox_ready_held (pending or held) since sync-4, and
  // the blocked rows of a client are found through the index above. Every queued row paid an entry.
  'DROP INDEX IF EXISTS sync_outbox_pending',
  'DROP INDEX IF EXISTS sync_outbox_patient',
];

export const SYNC_MIGRATIONS_9: string[] = [
  // A delete's stub names no client; a delete row now takes the client of the resource's last row
  // when it is queued (repository.enqueueMany), so that it waits behind that client's earlier writes.
  // Delete rows queued before that, and still to go, get their client the same way here.
  `UPDATE sync_outbox d SET patient_id = (
     SELECT o.patient_id FROM sync_outbox o
      WHERE o.resource_type = d.resource_type AND o.resource_id = d.resource_id AND o.id < d.id
        AND o.patient_id IS NOT NULL
      ORDER BY o.id DESC LIMIT 1)
    WHERE d.action = 'delete' AND d.patient_id IS NULL AND d.state IN ('blocked', 'held', 'inflight', 'pending')`,
];

export const SYNC_MIGRATIONS_10: string[] = [
  // What an operator chose for a parked row (`sync resolve`): its next conflict is settled that way.
  'ALTER TABLE sync_outbox ADD COLUMN IF NOT EXISTS resolve_with text',
];

export const SYNC_MIGRATIONS_11: string[] = [
  // Remote resources the pull did not store (the cursor has moved past them), by the rule they fail:
  // listed in the status until a later version of one is taken in.
  `CREATE TABLE IF NOT EXISTS sync_pull_refused (
    resource_type text NOT NULL,
    remote_id text NOT NULL,
    remote_version text,
    reason text NOT NULL,
    seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (resource_type, remote_id)
  )`,
];

export const SYNC_MIGRATIONS_12: string[] = [
  // Pulled local copies that name a remote resource by the remote's absolute URL (not mapped when they
  // came down): rewritten to the local reference once the target is mapped (relink.ts).
  `CREATE TABLE IF NOT EXISTS sync_unlinked (
    resource_type text NOT NULL,
    local_id text NOT NULL,
    target_type text NOT NULL,
    target_remote_id text NOT NULL,
    PRIMARY KEY (resource_type, local_id, target_type, target_remote_id)
  )`,
  'CREATE INDEX IF NOT EXISTS sync_unlinked_target ON sync_unlinked (target_type, target_remote_id)',
];

export const SYNC_MIGRATIONS_13: string[] = [
  // When a relink pass last left a copy as it was (edited here, its push not gone): such rows wait
  // behind the ones never looked at, so a pass is never filled by the same stuck copies.
  'ALTER TABLE sync_unlinked ADD COLUMN IF NOT EXISTS checked_at timestamptz',
];

export const SYNC_MIGRATIONS_14: string[] = [
  // Remote deletes the pull could not apply because resources here still refer to the copy
  // (pull-deletes.ts): tried again by each later pull until the copy goes or the remote holds it again.
  `CREATE TABLE IF NOT EXISTS sync_delete_left (
    resource_type text NOT NULL,
    local_id text NOT NULL,
    remote_id text NOT NULL,
    reason text NOT NULL,
    seen_at timestamptz NOT NULL DEFAULT now(),
    checked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (resource_type, local_id)
  )`,
];

export const SYNC_MIGRATIONS_15: string[] = [
  // When a write of the row last left for the remote, set before it leaves: a write that got no
  // definite answer (lost, unreadable, late, its worker killed) may be on the remote though nothing
  // maps to it, and a delete of the resource then looks its copy up there (push/orphans.ts).
  'ALTER TABLE sync_outbox ADD COLUMN IF NOT EXISTS sent_at timestamptz',
];

/** The sync's migrations in the order they apply, each under the name the store records it by. */
export const SYNC_SCHEMA: ReadonlyArray<readonly [name: string, statements: string[]]> = [
  ['sync', SYNC_MIGRATIONS],
  ['sync-2', SYNC_MIGRATIONS_2],
  ['sync-3', SYNC_MIGRATIONS_3],
  ['sync-4', SYNC_MIGRATIONS_4],
  ['sync-5', SYNC_MIGRATIONS_5],
  ['sync-6', SYNC_MIGRATIONS_6],
  ['sync-7', SYNC_MIGRATIONS_7],
  ['sync-8', SYNC_MIGRATIONS_8],
  ['sync-9', SYNC_MIGRATIONS_9],
  ['sync-10', SYNC_MIGRATIONS_10],
  ['sync-11', SYNC_MIGRATIONS_11],
  ['sync-12', SYNC_MIGRATIONS_12],
  ['sync-13', SYNC_MIGRATIONS_13],
  ['sync-14', SYNC_MIGRATIONS_14],
  ['sync-15', SYNC_MIGRATIONS_15],
];
