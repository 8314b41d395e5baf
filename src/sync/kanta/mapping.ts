// Which Kanta PHR response is which local one, and at which Kanta PHR version we last wrote or read
// it (sync_kanta_resource): an update goes as a versioned PUT, and a pull passes over what it holds.
import type { Resource } from '@medplum/fhirtypes';
import { isFhirId } from '../../shared/references.ts';
import type { KantaDeps } from './types.ts';

type Db = Pick<KantaDeps['store'], 'query'>;

export interface KantaMapping {
  localId: string;
  remoteId: string;
  /** The Kanta PHR version last written or read (absent: an answer that named none). */
  remoteVersion?: string;
  /**
   * The local version that Kanta PHR version holds, or the newer one the pull wrote over it (the
   * restriction label: recordPulledLabel); absent: not known.
   */
  localVersion?: string;
}

const TYPE = 'QuestionnaireResponse';

type Row = {
  local_id: string;
  remote_id: string;
  remote_version: string | null;
  local_version: string | null;
};
const fromRow = (r: Row): KantaMapping => ({
  localId: r.local_id,
  remoteId: r.remote_id,
  ...(r.remote_version ? { remoteVersion: r.remote_version } : {}),
  ...(r.local_version ? { localVersion: r.local_version } : {}),
});

/** The mappings of these responses, keyed by the side named: local ids, or Kanta PHR ids. */
async function mappingsBy(
  db: Db,
  side: 'local_id' | 'remote_id',
  ids: string[],
): Promise<Map<string, KantaMapping>> {
  if (!ids.length) return new Map();
  const rows = await db.query<Row>(
    `SELECT local_id, remote_id, remote_version, local_version FROM sync_kanta_resource
      WHERE resource_type = $1 AND ${side} = ANY($2::text[])`,
    [TYPE, ids],
  );
  return new Map(rows.map((r) => [r[side], fromRow(r)]));
}

/** The mappings of these local responses, by local id. */
export const mappingsOfLocal = (db: Db, localIds: string[]) => mappingsBy(db, 'local_id', localIds);

/** The mappings of these Kanta PHR responses, by remote id. */
export const mappingsOfRemote = (db: Db, remoteIds: string[]) => mappingsBy(db, 'remote_id', remoteIds);

/**
 * Records where local responses live on Kanta PHR now, and which local version that copy holds
 * (absent when not known). Only a FHIR id maps a response, and only a FHIR id its version: what the
 * remote answered is read as data.
 */
export async function recordMappings(
  db: Db,
  list: { localId: string; remote: Pick<Resource, 'id' | 'meta'>; localVersion?: string }[],
): Promise<void> {
  const mapped = list.filter((m) => isFhirId(m.remote.id));
  if (!mapped.length) return;
  await db.query(
    `INSERT INTO sync_kanta_resource (resource_type, local_id, remote_id, remote_version, local_version)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])
     ON CONFLICT (resource_type, local_id) DO UPDATE SET remote_id = EXCLUDED.remote_id,
       remote_version = EXCLUDED.remote_version, local_version = EXCLUDED.local_version, updated_at = now()`,
    [
      TYPE,
      mapped.map((m) => m.localId),
      mapped.map((m) => m.remote.id as string),
      mapped.map((m) => (isFhirId(m.remote.meta?.versionId) ? m.remote.meta?.versionId : null)),
      mapped.map((m) => m.localVersion ?? null),
    ],
  );
}

/**
 * Records `localVersion`, the version the pull wrote labelling a response the citizen restricted, as
 * the one the mapping's local side holds (so `sync backfill` sees it as the sync's own write); the
 * Kanta PHR version it names stays the one last written or read.
 */
export async function recordPulledLabel(db: Db, localId: string, localVersion: string): Promise<void> {
  await db.query(
    `UPDATE sync_kanta_resource SET local_version = $3, updated_at = now()
      WHERE resource_type = $1 AND local_id = $2`,
    [TYPE, localId, localVersion],
  );
}

/** A response's business identifier as `system|value` (how sync_kanta_sent keys it). */
export const identifierKey = (r: { identifier?: { system?: string; value?: string } }): string | undefined =>
  r.identifier?.value ? `${r.identifier.system ?? ''}|${r.identifier.value}` : undefined;

/** Before creates are sent: which local response each business identifier is. */
export async function recordOwnCreates(db: Db, created: { localId: string; key: string }[]): Promise<void> {
  if (!created.length) return;
  await db.query(
    `INSERT INTO sync_kanta_sent (identifier, local_id)
     SELECT * FROM unnest($1::text[], $2::text[])
     ON CONFLICT (identifier) DO UPDATE SET local_id = EXCLUDED.local_id`,
    [created.map((c) => c.key), created.map((c) => c.localId)],
  );
}

/** The local response we created on Kanta PHR under this business identifier, if we did. */
export async function ownCreate(db: Db, key: string): Promise<string | undefined> {
  const [row] = await db.query<{ local_id: string }>(
    'SELECT local_id FROM sync_kanta_sent WHERE identifier = $1',
    [key],
  );
  return row?.local_id;
}
