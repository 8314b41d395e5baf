/** The Kanta PHR adapter's own tables (store.migrate('sync-kanta', …)). */
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
