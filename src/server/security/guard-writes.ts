// The guarded store's write members: each write and its audit row in one transaction (the caller's,
// when a transaction handler holds one).
import type { Resource } from '@medplum/fhirtypes';
import { FhirError } from '../../shared/outcome.ts';
import type { CreateOptions, DeleteResult, StoreTx, UpdateOptions, WriteResult } from '../../store/index.ts';
import type { StoreWrites } from '../ports.ts';
import { type AuditRecord, insertAudit } from './audit.ts';
import type { Principal } from './context.ts';
import { type Guard, patientOf, record } from './guard-context.ts';

/** The audit record of one written resource. */
export const writeRecord = (
  p: Principal,
  interaction: string,
  action: AuditRecord['action'],
  r: Resource,
): AuditRecord =>
  record(p, {
    interaction,
    action,
    outcome: '0',
    entities: [`${r.resourceType}/${r.id}`],
    patients: patientOf(r),
  });

export function create<T extends Resource>(
  g: Guard,
  resource: T,
  opts?: CreateOptions,
): Promise<WriteResult<T>> {
  return g.inTx(async (tx: StoreTx) => {
    const written = await tx.create(resource, opts);
    await insertAudit(tx, [writeRecord(g.p, 'create', 'C', written.resource)]);
    return written;
  });
}

export function createMany(
  g: Guard,
  items: Parameters<StoreWrites['createMany']>[0],
): ReturnType<StoreWrites['createMany']> {
  return g.inTx(async (tx) => {
    const results = await tx.createMany(items);
    const ok = results.filter((r): r is WriteResult => !(r instanceof FhirError));
    await insertAudit(
      tx,
      ok.map((r) => writeRecord(g.p, 'create', 'C', r.resource)),
    );
    return results;
  });
}

export function update<T extends Resource>(
  g: Guard,
  resource: T,
  opts?: UpdateOptions,
): Promise<WriteResult<T>> {
  return g.inTx(async (tx) => {
    const written = await tx.update(resource, opts);
    await insertAudit(tx, [writeRecord(g.p, 'update', 'U', written.resource)]);
    return written;
  });
}

export function remove(
  g: Guard,
  type: string,
  id: string,
  opts?: Parameters<StoreWrites['delete']>[2],
): Promise<DeleteResult> {
  return g.inTx(async (tx) => {
    const result = await tx.delete(type, id, opts);
    if (result.deleted) {
      await insertAudit(tx, [
        record(g.p, {
          interaction: 'delete',
          action: 'D',
          outcome: '0',
          entities: [`${type}/${id}`],
          patients: [],
        }),
      ]);
    }
    return result;
  });
}
