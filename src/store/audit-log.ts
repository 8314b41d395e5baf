/**
 * The audit log's records and their table: what one access or disclosure did, written by the facade
 * (every API access) and the sync (every push and pull), often inside the transaction of the write it
 * records. The server renders the records as BALP-shaped AuditEvents (src/server/security/audit.ts).
 */

type Db = { query(sql: string, params?: unknown[]): Promise<unknown> };

/** What an access did, as one row of the audit log (rendered as a BALP-shaped AuditEvent). */
export interface AuditRecord {
  client: string;
  party?: string;
  /** FHIR restful-interaction code (`read`, `search-type`, `create`, `transaction`, …) or `operation`. */
  interaction: string;
  /** C, R, U, D or E. */
  action: 'C' | 'R' | 'U' | 'D' | 'E';
  /** 0 success, 4 minor failure (refused, bad request), 8 serious failure. */
  outcome: '0' | '4' | '8';
  /** Why it was refused or failed; never client data. */
  detail?: string;
  /** `Type/id` of each resource touched (or the searched type alone). */
  entities: string[];
  /** `Patient/id` of each client whose data was touched. */
  patients: string[];
  /** `Consent/id` under which data went to a party. */
  consents?: string[];
  /** The search query as received (audit log only). */
  query?: string;
  requestId?: string;
  /**
   * A sync transfer: `export` sent the entities to the remote (a disclosure to `party`), `import` wrote
   * the remote's copies locally; `remote` is the remote's base URL.
   */
  transfer?: { direction: 'export' | 'import'; remote: string };
}

/** One audit record as stored in a batch's JSON array. */
export interface StoredAuditRecord {
  recorded: string;
  client: string;
  party: string | null;
  interaction: string;
  action: string;
  outcome: string;
  detail: string | null;
  entities: string[];
  patients: string[];
  consents: string[];
  query: string | null;
  request_id: string | null;
  transfer?: { direction: 'export' | 'import'; remote: string };
}

/**
 * The audit log's table, one row per write of audit records (a flush of reads, a write transaction, a
 * sync round), the records as a JSON array; the arrays name who and what for the index. One row per
 * batch instead of one per access keeps auditing every read cheap. Each migration under the name the
 * store records it by, in the order they apply.
 */
export const AUDIT_LOG_SCHEMA: ReadonlyArray<readonly [name: string, statements: string[]]> = [
  [
    'audit-log-1',
    [
      `CREATE TABLE IF NOT EXISTS security_audit (
         id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         recorded timestamptz NOT NULL DEFAULT now(),
         clients text[] NOT NULL,
         patients text[] NOT NULL,
         entity_types text[] NOT NULL,
         events text NOT NULL)`,
      'CREATE INDEX IF NOT EXISTS security_audit_recorded ON security_audit (recorded)',
      'CREATE INDEX IF NOT EXISTS security_audit_patients ON security_audit USING gin (patients)',
    ],
  ],
  [
    // A batch's times are its records' own (the facade's clock when they were written), not the
    // database's at the start of the transaction that wrote it, which may be earlier, or skewed:
    // `recorded` the latest of them, `earliest` the earliest, so a search by date narrows either way.
    'audit-log-2',
    [
      'ALTER TABLE security_audit ADD COLUMN IF NOT EXISTS earliest timestamptz',
      `UPDATE security_audit a SET recorded = t.latest, earliest = t.earliest
         FROM (SELECT b.id, max((e ->> 'recorded')::timestamptz) AS latest,
                      min((e ->> 'recorded')::timestamptz) AS earliest
                 FROM security_audit b, jsonb_array_elements(b.events::jsonb) AS e
                GROUP BY b.id) t
        WHERE a.id = t.id`,
      'UPDATE security_audit SET earliest = recorded WHERE earliest IS NULL',
      // A process of the earlier release still writing (a rolling upgrade) names no `earliest`.
      'ALTER TABLE security_audit ALTER COLUMN earliest SET DEFAULT now()',
      'ALTER TABLE security_audit ALTER COLUMN earliest SET NOT NULL',
      'CREATE INDEX IF NOT EXISTS security_audit_earliest ON security_audit (earliest)',
    ],
  ],
];

/** Brings the audit log's table to its current shape (the facade and the sync both call this). */
export async function migrateAuditLog(store: {
  migrate(name: string, statements: string[]): Promise<void>;
}): Promise<void> {
  for (const [name, statements] of AUDIT_LOG_SCHEMA) await store.migrate(name, statements);
}

function toStored(r: AuditRecord, recorded: string): StoredAuditRecord {
  return {
    recorded,
    client: r.client,
    party: r.party ?? null,
    interaction: r.interaction,
    action: r.action,
    outcome: r.outcome,
    detail: r.detail ?? null,
    entities: r.entities,
    patients: [...new Set(r.patients)],
    consents: r.consents ?? [],
    query: r.query ?? null,
    request_id: r.requestId ?? null,
    ...(r.transfer ? { transfer: r.transfer } : {}),
  };
}

/** The resource type of `Type/id` (or of a bare type). */
export const auditEntityType = (entity: string) => entity.split('/')[0] as string;

/** Writes audit records with `db` now (one row), e.g. inside the transaction of the write they record. */
export async function insertAudit(db: Db, records: AuditRecord[]): Promise<void> {
  if (!records.length) return;
  const recorded = new Date().toISOString();
  const stored = records.map((r) => toStored(r, recorded));
  const set = (f: (e: StoredAuditRecord) => string[]) => [...new Set(stored.flatMap(f))];
  await db.query(
    `INSERT INTO security_audit (recorded, earliest, clients, patients, entity_types, events)
     VALUES ($1, $1, $2, $3, $4, $5)`,
    [
      recorded,
      set((e) => [e.client]),
      set((e) => e.patients),
      set((e) => e.entities.map(auditEntityType)),
      JSON.stringify(stored),
    ],
  );
}
