/** The Kanta PHR adapter's own tables. */
export const KANTA_MIGRATIONS: string[] = [
  // Local client ↔ pseudonymous PHR Patient: the pseudonym (urn:uuid) is random, chosen before the
  // first send and kept, so a retry after a lost reply finds the Patient it already created.
  `CREATE TABLE IF NOT EXISTS sync_kanta_patient (
    local_id text PRIMARY KEY,
    pseudonym text NOT NULL UNIQUE,
    remote_id text,
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  // Our resources as Kanta PHR holds them.
  `CREATE TABLE IF NOT EXISTS sync_kanta_resource (
    resource_type text NOT NULL,
    local_id text NOT NULL,
    remote_id text NOT NULL,
    remote_version text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (resource_type, local_id)
  )`,
  // Remote resources seen but not imported into the professional view, and why.
  `CREATE TABLE IF NOT EXISTS sync_kanta_skipped (
    resource_type text NOT NULL,
    remote_id text NOT NULL,
    local_patient text NOT NULL,
    reason text NOT NULL,
    seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (resource_type, remote_id)
  )`,
];

export const KANTA_MIGRATIONS_2: string[] = [
  // A pulled response is found by its Kanta PHR id (is it one we hold, at which version).
  'CREATE INDEX IF NOT EXISTS sync_kanta_resource_remote ON sync_kanta_resource (resource_type, remote_id)',
  // The local version the Kanta PHR copy holds: an older queued write is not sent over it.
  'ALTER TABLE sync_kanta_resource ADD COLUMN IF NOT EXISTS local_version text',
  // Per client: the newest Kanta PHR lastUpdated a finished pull has stored (the next pull goes on from it).
  'ALTER TABLE sync_kanta_patient ADD COLUMN IF NOT EXISTS pulled_until text',
];

export const KANTA_MIGRATIONS_3: string[] = [
  // The business identifier of each response we create on Kanta PHR, written before it is sent: a pull
  // that meets the response before its answer is mapped knows it is ours (and whether it is deleted here).
  `CREATE TABLE IF NOT EXISTS sync_kanta_sent (
    identifier text PRIMARY KEY,
    local_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
];

/** The adapter's migrations in the order they apply, each under the name the store records it by. */
export const KANTA_SCHEMA: ReadonlyArray<readonly [name: string, statements: string[]]> = [
  ['sync-kanta', KANTA_MIGRATIONS],
  ['sync-kanta-2', KANTA_MIGRATIONS_2],
  ['sync-kanta-3', KANTA_MIGRATIONS_3],
];
