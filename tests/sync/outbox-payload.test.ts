// The outbox keeps no second copy of a stored version: a row of a create or update carries no payload,
// and a claim reads that version's content from the store's history — the version the row was queued
// for, not a later one. A delete keeps its stub. Local store on PGlite; nothing is sent.
import type { Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import { claim } from '../../src/sync/repository.ts';
import { patient } from './helpers/fixtures.ts';
import { openOutboxOnlyStore } from './helpers/outbox-only.ts';

let store: Store;
beforeAll(async () => {
  store = await openOutboxOnlyStore();
});
afterAll(async () => {
  await store?.close();
});

describe('outbox payloads', () => {
  it('a claimed row carries the content of the version it was queued for, read from the history', async () => {
    const created = (await store.create(patient('010181-941F'))).resource as Patient;
    const updated = (
      await store.update({ ...created, birthDate: '1981-02-02' }, { ifMatch: created.meta!.versionId })
    ).resource as Patient;
    await store.delete('Patient', created.id!);
    const stored = await store.query<{ action: string; copy: boolean }>(
      'SELECT action, payload IS NOT NULL AS copy FROM sync_outbox WHERE resource_id = $1 ORDER BY id',
      [created.id],
    );
    expect(stored).toEqual([
      { action: 'create', copy: false },
      { action: 'update', copy: false },
      { action: 'delete', copy: true },
    ]);

    // One row of a resource at a time (per-resource order): settle each before claiming the next.
    const seen: Patient[] = [];
    for (let n = 1; n <= 3; n++) {
      const [row] = await claim(store, `test~${n}`, 10, 60_000);
      seen.push(row.payload as Patient);
      await store.query(`UPDATE sync_outbox SET state = 'done' WHERE id = $1`, [row.id]);
    }
    expect(seen[0]).toEqual(created);
    expect(seen[1]).toEqual(updated);
    expect(seen[1].birthDate).toBe('1981-02-02');
    expect(seen[0].birthDate).toBe('1981-01-01');
    expect(seen[2]).toMatchObject({ resourceType: 'Patient', id: created.id, meta: { versionId: '3' } });
  });
});
