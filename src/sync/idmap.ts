import type { SyncStoreTx } from './store-port.ts';

type Q = Pick<SyncStoreTx, 'query'>;

export type IdMapping = {
  resource_type: string;
  local_id: string;
  remote_id: string;
  local_version: string | null;
  remote_version: string | null;
};

const COLUMNS = 'resource_type, local_id, remote_id, local_version, remote_version';

/** Mappings for local references `Type/id`, keyed by that reference. */
export async function mappingsForLocal(db: Q, refs: Iterable<string>): Promise<Map<string, IdMapping>> {
  const keys = [...new Set(refs)];
  const out = new Map<string, IdMapping>();
  if (!keys.length) return out;
  const rows = await db.query<IdMapping>(
    `SELECT ${COLUMNS} FROM sync_idmap
      WHERE (resource_type, local_id) IN (SELECT t, i FROM unnest($1::text[], $2::text[]) AS k(t, i))`,
    splitRefs(keys),
  );
  for (const r of rows) out.set(`${r.resource_type}/${r.local_id}`, r);
  return out;
}

/** Mappings for remote references `Type/id`, keyed by that reference. */
export async function mappingsForRemote(db: Q, refs: Iterable<string>): Promise<Map<string, IdMapping>> {
  const keys = [...new Set(refs)];
  const out = new Map<string, IdMapping>();
  if (!keys.length) return out;
  const rows = await db.query<IdMapping>(
    `SELECT ${COLUMNS} FROM sync_idmap
      WHERE (resource_type, remote_id) IN (SELECT t, i FROM unnest($1::text[], $2::text[]) AS k(t, i))`,
    splitRefs(keys),
  );
  for (const r of rows) out.set(`${r.resource_type}/${r.remote_id}`, r);
  return out;
}

export async function upsertMapping(db: Q, m: IdMapping): Promise<void> {
  await db.query(
    `INSERT INTO sync_idmap (${COLUMNS}) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (resource_type, local_id) DO UPDATE
       SET remote_id = EXCLUDED.remote_id, local_version = EXCLUDED.local_version,
           remote_version = EXCLUDED.remote_version, updated_at = now()`,
    [m.resource_type, m.local_id, m.remote_id, m.local_version, m.remote_version],
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

/** Many mappings in one statement. */
export async function upsertMappings(db: Q, list: IdMapping[]): Promise<void> {
  if (!list.length) return;
  // Last one wins when a list maps the same local resource twice.
  const byKey = new Map(list.map((m) => [`${m.resource_type}/${m.local_id}`, m]));
  const rows = [...byKey.values()];
  await db.query(
    `INSERT INTO sync_idmap (${COLUMNS})
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
