import type { SyncStore } from './ports.ts';
import { NOT_APPLICABLE } from './types.ts';

export interface KantaStatus {
  /** Clients with a pseudonymous PHR Patient on Kanta PHR. */
  phrPatients: number;
  /** Local writes this remote does not take, by resource type: not failures. */
  notApplicable: Record<string, number>;
  /** Remote resources seen but not imported, with the reason. */
  notImported: { resourceType: string; remoteId: string; reason: string }[];
}

export async function kantaStatus(store: SyncStore): Promise<KantaStatus> {
  const [{ n }] = await store.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM sync_kanta_patient WHERE remote_id IS NOT NULL',
  );
  const na = await store.query<{ resource_type: string; n: number }>(
    `SELECT resource_type, count(*)::int AS n FROM sync_outbox WHERE state = 'done' AND reason LIKE $1
      GROUP BY resource_type ORDER BY resource_type`,
    [`${NOT_APPLICABLE}%`],
  );
  const skipped = await store.query<{ resource_type: string; remote_id: string; reason: string }>(
    'SELECT resource_type, remote_id, reason FROM sync_kanta_skipped ORDER BY seen_at, remote_id',
  );
  return {
    phrPatients: n,
    notApplicable: Object.fromEntries(na.map((r) => [r.resource_type, r.n])),
    notImported: skipped.map((s) => ({
      resourceType: s.resource_type,
      remoteId: s.remote_id,
      reason: s.reason,
    })),
  };
}
