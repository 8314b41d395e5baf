import type { Resource } from '@medplum/fhirtypes';
import { FhirError } from '../../shared/outcome.ts';
import type { CreateOptions, WriteResult } from '../../store/index.ts';
import { type AuditRecord, insertAudit } from './audit.ts';
import type { Principal } from './context.ts';
import { type Guard, txGuard } from './guard-context.ts';
import { createdOrMatch, writeRecord } from './guard-writes.ts';
import type { SecurityStore } from './schema.ts';
import { afterTwoTurns } from './turns.ts';

interface Pending {
  resource: Resource;
  opts: CreateOptions | undefined;
  p: Principal;
  resolve: (r: WriteResult) => void;
  reject: (err: unknown) => void;
}

const settle = (item: Pending, r: WriteResult | Error) =>
  r instanceof Error ? item.reject(r) : item.resolve(r);

/**
 * A conditional create's match, as its caller may see it (its audit row added to `records`), or the
 * refusal of this create alone when the caller may not see it.
 */
async function matched(
  tx: Guard['base'],
  p: Principal,
  written: WriteResult,
  records: AuditRecord[],
): Promise<WriteResult | FhirError> {
  try {
    const { result, audit } = await createdOrMatch(txGuard(p, tx), written);
    records.push(audit);
    return result;
  } catch (err) {
    if (err instanceof FhirError) return err;
    throw err;
  }
}

/**
 * Creates arriving within two event-loop turns (`afterTwoTurns`) written in one transaction together
 * with their audit rows (the store's own group commit only applies to writes without hooks or
 * surrounding transaction).
 */
export class CreateBatcher {
  private pending: Pending[] = [];
  private inFlight = 0;
  private readonly drainNow = () => this.drain();

  constructor(
    private readonly store: SecurityStore,
    private readonly maxBatch: number,
    private readonly maxInFlight: number,
  ) {}

  submit<T extends Resource>(
    resource: T,
    opts: CreateOptions | undefined,
    p: Principal,
  ): Promise<WriteResult<T>> {
    // createMany hands back the resource it was given, with its id and meta filled in.
    return new Promise<WriteResult>((resolve, reject) => {
      this.pending.push({ resource, opts, p, resolve, reject });
      if (this.pending.length === 1) afterTwoTurns(this.drainNow);
    }) as Promise<WriteResult<T>>;
  }

  private drain(): void {
    while (this.pending.length && this.inFlight < this.maxInFlight) {
      const batch = this.pending.splice(0, this.maxBatch);
      this.inFlight++;
      void this.write(batch).finally(() => {
        this.inFlight--;
        if (this.pending.length) this.drain();
      });
    }
  }

  private async write(batch: Pending[]): Promise<void> {
    try {
      const results = await this.store.transaction(async (tx) => {
        const out = await tx.createMany(
          batch.map(({ resource, opts }) => ({ resource, ...(opts ? { opts } : {}) })),
        );
        const records: AuditRecord[] = [];
        const shown: Array<WriteResult | FhirError> = [];
        for (const [i, r] of out.entries()) {
          const p = (batch[i] as Pending).p;
          if (r instanceof FhirError) shown.push(r);
          else if (r.created) {
            records.push(writeRecord(p, 'create', 'C', r.resource));
            shown.push(r);
          } else shown.push(await matched(tx, p, r, records));
        }
        await insertAudit(tx, records);
        return shown;
      });
      results.forEach((r, i) => settle(batch[i] as Pending, r));
    } catch (err) {
      if (batch.length === 1) return (batch[0] as Pending).reject(err);
      // One create the database refuses must not fail the others: retry each on its own.
      for (const item of batch) await this.write([item]);
    }
  }
}
