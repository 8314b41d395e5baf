// The audit log and a client's disclosure log read back in the order the batches were written, past
// the batch ids whose text sorts otherwise (9 before 10) and across the pages both read the log in.
import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchAudit } from '../../src/server/security/audit.ts';
import { disclosureLog } from '../../src/server/security/disclosures.ts';
import { type Store, insertAudit, migrateAuditLog, openStore } from '../../src/store/index.ts';

/** More batches than one page of either reader (100 for the search, 200 for the disclosure log). */
const BATCHES = 230;

let store: Store;

beforeAll(async () => {
  store = await openStore({ dataDir: 'memory://' });
  await migrateAuditLog(store);
  // One party read per batch, oldest first: batch n read Observation/o<n>.
  for (let n = 1; n <= BATCHES; n++) {
    await insertAudit(store, [
      {
        client: 'kela-app',
        party: 'kela',
        interaction: 'read',
        action: 'R',
        outcome: '0',
        entities: [`Observation/o${n}`],
        patients: ['Patient/suvi'],
      },
    ]);
  }
});

afterAll(async () => {
  await store?.close();
});

const newestFirst = (count: number) => Array.from({ length: count }, (_, i) => `Observation/o${BATCHES - i}`);

const observationOf = (e: AuditEvent | undefined) =>
  e?.entity?.find((x) => x.what?.reference?.startsWith('Observation/'))?.what?.reference;

describe('reading the audit log back', () => {
  it('AuditEvent search answers the newest first, across its pages', async () => {
    for (const count of [3, 150]) {
      const bundle = (await searchAudit(store, 'http://x/fhir', {
        _count: String(count),
      })) as Bundle<AuditEvent>;
      expect(bundle.entry?.map((e) => observationOf(e.resource))).toEqual(newestFirst(count));
    }
  });

  it('AuditEvent search pages on by its next link to the oldest event, each once; a bad cursor is a 400', async () => {
    const read: (string | undefined)[] = [];
    let query: Record<string, string> = { patient: 'Patient/suvi', _count: '40' };
    for (let pages = 0; pages < 10; pages++) {
      const bundle = (await searchAudit(store, 'http://x/fhir', query)) as Bundle<AuditEvent>;
      read.push(...(bundle.entry ?? []).map((e) => observationOf(e.resource)));
      const self = bundle.link?.find((l) => l.relation === 'self')?.url;
      expect(self).toMatch(/^http:\/\/x\/fhir\/AuditEvent\?patient=Patient%2Fsuvi&_count=40/);
      const next = bundle.link?.find((l) => l.relation === 'next')?.url;
      if (!next) break;
      query = Object.fromEntries(new URL(next).searchParams);
      expect(query).toMatchObject({ patient: 'Patient/suvi', _count: '40' });
    }
    expect(read).toEqual(newestFirst(BATCHES));
    // _count as every search takes it: a whole number (the last one given), else a 400 naming it; 0
    // counts nothing.
    for (const _count of ['abc', '1e2', '-1', ['5', 'x']]) {
      const refused = searchAudit(store, 'http://x/fhir', { _count });
      await expect(refused).rejects.toMatchObject({ status: 400 });
      await expect(refused).rejects.toThrow(/_count/);
    }
    const none = (await searchAudit(store, 'http://x/fhir', { _count: '0' })) as Bundle<AuditEvent>;
    expect(none.entry).toBeUndefined();
    expect(none.link?.map((l) => l.relation)).toEqual(['self']);
    for (const cursor of ['x', '1-', '12-3-4']) {
      const refused = searchAudit(store, 'http://x/fhir', { _cursor: cursor });
      await expect(refused).rejects.toMatchObject({ status: 400 });
      await expect(refused).rejects.toThrow(/_cursor/);
    }
  });

  it("a client's disclosure log lists every disclosure, the newest first", async () => {
    const log = await disclosureLog(store, { patient: 'Patient/suvi', consents: new Set() });
    expect(log.map((d) => d.resources[0])).toEqual(newestFirst(BATCHES));
  });
});
