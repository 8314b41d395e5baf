/**
 * The sync's entries in the audit log (src/store/audit-log.ts; the server renders them as BALP-shaped
 * AuditEvents): every push that reached the remote is an export — a disclosure of the client's data
 * to the remote's party, under the consents that permitted it — and every pull that wrote locally an
 * import. A disclosure refused is an export with outcome 4 and the reason: the client's consent
 * stopped it (nothing was sent), or the remote refused what it received (a dead letter). A write
 * given up without an answer is an export with outcome 8: the remote may hold it. Each is
 * written in the local transaction that records it (the push's settlement, the pull's write), so
 * there is no transfer without its audit row.
 */
import { type AuditRecord, insertAudit } from '../store/index.ts';
import type { SyncContext } from './context.ts';
import type { OutboxRow } from './repository.ts';

/** The client id the sync's audit rows carry (`agent` of the AuditEvent). */
export const SYNC_AUDIT_CLIENT = 'tyokyky-sync';

/** One resource that went to the remote or came from it. */
export interface Transfer {
  type: string;
  localId: string;
  action: 'create' | 'update' | 'delete';
  /** The client's local Patient id, when the resource names one. */
  patientId?: string | null;
  /** Local ids of the Consents that permitted the disclosure (exports). */
  consents?: string[];
  /** Why the disclosure was refused (outcome 4); never client data. */
  refused?: string;
  /** Why it is not known whether the disclosure happened (outcome 8: sent, no answer); never client data. */
  unknown?: string;
}

/**
 * The export an outbox row is (or would have been), with `extra`: the consents, or why it was
 * refused, or why its outcome is unknown.
 */
export function exportOf(
  row: Pick<OutboxRow, 'resource_type' | 'resource_id' | 'action' | 'patient_id'>,
  extra: Pick<Transfer, 'consents' | 'refused' | 'unknown'> = {},
): Transfer {
  return {
    type: row.resource_type,
    localId: row.resource_id,
    action: row.action,
    patientId: row.patient_id,
    ...extra,
  };
}

const ACTION = { create: 'C', update: 'U', delete: 'D' } as const;

/** Writes one audit record per transfer with `db` (the transaction of the write it records). */
export async function auditTransfers(
  db: { query(sql: string, params?: unknown[]): Promise<unknown> },
  ctx: Pick<SyncContext, 'party' | 'remote'>,
  direction: 'export' | 'import',
  transfers: Transfer[],
): Promise<void> {
  const records = transfers.map(
    (t): AuditRecord => ({
      client: SYNC_AUDIT_CLIENT,
      party: ctx.party,
      interaction: t.action,
      action: ACTION[t.action],
      outcome: t.refused ? '4' : t.unknown ? '8' : '0',
      ...(t.refused || t.unknown ? { detail: t.refused ?? t.unknown } : {}),
      entities: [`${t.type}/${t.localId}`],
      patients: t.patientId ? [`Patient/${t.patientId}`] : [],
      consents: [...new Set(t.consents ?? [])].map((id) => `Consent/${id}`),
      transfer: { direction, remote: ctx.remote.baseUrl },
    }),
  );
  await insertAudit(db, records);
}
