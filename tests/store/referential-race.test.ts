// Referential integrity under concurrency: a delete that refuses while the resource is referenced
// (`delete(…, { unreferenced: true })`) racing a write that adds a reference to it (`targets`). Either
// the delete sees the reference (409) or the write sees the deletion (422 store-ref-1): never both
// succeed, leaving a dangling reference. On PostgreSQL each interleaving is forced (one transaction
// held open while the other runs); on PGlite (one connection) the calls race in one process.
import type { Observation, Patient, Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { FhirError } from '../../src/shared/outcome.ts';
import type { Store } from '../../src/store/index.ts';
import { bothStores } from '../helpers/both-stores.ts';
import { gate, stillPending } from '../helpers/locks.ts';

const stores = bothStores('tyokyky_store_refrace');

/** What a call came to: 'ok', or the status and first diagnostics of its FhirError. */
const outcomeOf = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'ok',
    (err: unknown) => {
      if (!(err instanceof FhirError)) throw err;
      return `${err.status} ${err.outcome.issue?.[0]?.diagnostics ?? ''}`;
    },
  );

const patient = (store: Store) =>
  store
    .create<Patient>({ resourceType: 'Patient', name: [{ family: 'Race' }] })
    .then((w) => w.resource.id as string);

const referrer = (patientId: string): Observation => ({
  resourceType: 'Observation',
  status: 'final',
  code: { text: 'race' },
  subject: { reference: `Patient/${patientId}` },
});

const targets = (patientId: string) => [{ ref: `Patient/${patientId}`, path: 'Observation.subject' }];

/** Deleted while a current resource still refers to it: the dangling reference the rule forbids. */
async function dangling(store: Store, patientId: string): Promise<string[]> {
  const gone = await store.read('Patient', patientId).then(
    () => false,
    (err: unknown) => err instanceof FhirError && err.status === 410,
  );
  return gone ? store.referrers('Patient', patientId) : [];
}

describe('a delete racing a write that adds a reference, on PostgreSQL', () => {
  it('a create or update waits for a delete holding the row, then is refused (422 store-ref-1)', async () => {
    const store = stores.postgres;
    const p = await patient(store);
    const { resource: existing } = await store.create<Observation>({ ...referrer(p), subject: undefined });
    const held = gate();
    let deleted = () => {};
    const reached = new Promise<void>((resolve) => {
      deleted = resolve;
    });
    const del = store.transaction(async (tx) => {
      await tx.delete('Patient', p, { unreferenced: true });
      deleted();
      await held.wait;
    });
    await reached;
    const create = outcomeOf(store.create(referrer(p), { targets: targets(p) }));
    const update = outcomeOf(
      store.update({ ...existing, ...referrer(p) }, { ifMatch: '1', targets: targets(p) }),
    );
    try {
      expect(await stillPending(create)).toBe(true);
    } finally {
      held.open();
      await del;
    }
    const refused = `422 store-ref-1: Patient/${p} does not exist here; a reference must name a stored resource`;
    expect(await create).toBe(refused);
    expect(await update).toBe(refused);
    expect(await dangling(store, p)).toEqual([]);
  });

  it('a delete waits for a write that checked its reference (create, or a transaction checking at its end), then is refused (409)', async () => {
    const store = stores.postgres;
    for (const how of ['create with targets', 'transaction checking at its end'] as const) {
      const p = await patient(store);
      const held = gate();
      let checked = () => {};
      const reached = new Promise<void>((resolve) => {
        checked = resolve;
      });
      let obsId = '';
      const write = store.transaction(async (tx) => {
        if (how === 'create with targets') {
          obsId = (await tx.create(referrer(p), { targets: targets(p) })).resource.id as string;
        } else {
          obsId = (await tx.create(referrer(p))).resource.id as string;
          expect(await tx.absent([`Patient/${p}`])).toEqual([]);
        }
        checked();
        await held.wait;
      });
      await reached;
      const del = outcomeOf(store.delete('Patient', p, { unreferenced: true }));
      try {
        expect(await stillPending(del), how).toBe(true);
      } finally {
        held.open();
        await write;
      }
      expect(await del, how).toBe(
        `409 Patient/${p} is still referenced by Observation/${obsId}; delete or update those first`,
      );
      expect(await dangling(store, p), how).toEqual([]);
    }
  });

  it('an update of the referenced resource does not wait for a write that references it', async () => {
    const store = stores.postgres;
    const p = await patient(store);
    const held = gate();
    let checked = () => {};
    const reached = new Promise<void>((resolve) => {
      checked = resolve;
    });
    const write = store.transaction(async (tx) => {
      await tx.create(referrer(p), { targets: targets(p) });
      checked();
      await held.wait;
    });
    await reached;
    const current = await store.read<Patient>('Patient', p);
    const update = store.update({ ...current, name: [{ family: 'Renamed' }] }, { ifMatch: '1' });
    try {
      expect(await stillPending(update)).toBe(false);
    } finally {
      held.open();
      await write;
    }
  });
});

describe('a delete racing a write that adds a reference, on PGlite', () => {
  it('a create whose reference check ran before the delete does not insert after it', async () => {
    const store = stores.pglite;
    const p = await patient(store);
    // The create's check reaches PGlite's one connection first, the delete (a transaction) second.
    const create = outcomeOf(store.create(referrer(p), { targets: targets(p) }));
    await new Promise((resolve) => setImmediate(resolve));
    const del = outcomeOf(store.delete('Patient', p, { unreferenced: true }));
    const outcomes = `${await create} | ${await del}`;
    expect(await dangling(store, p), outcomes).toEqual([]);
  });
});

describe.each([
  ['PGlite', () => stores.pglite],
  ['PostgreSQL', () => stores.postgres],
])('a delete racing writes that add a reference, on %s', (_name, getStore) => {
  it('never leaves a dangling reference', async () => {
    const store = getStore();
    const rounds = 12;
    const seen: string[] = [];
    for (let round = 0; round < rounds; round++) {
      const p = await patient(store);
      const { resource: o } = await store.create<Observation>({ ...referrer(p), subject: undefined });
      const outcomes = await Promise.all([
        outcomeOf(store.delete('Patient', p, { unreferenced: true })),
        outcomeOf(store.update({ ...o, ...referrer(p) }, { ifMatch: '1', targets: targets(p) })),
        new Promise((r) => setTimeout(r, round % 3)).then(() =>
          outcomeOf(store.create(referrer(p) as Resource, { targets: targets(p) })),
        ),
      ]);
      seen.push(outcomes.map((s) => s.split(' ')[0]).join(' '));
      expect(await dangling(store, p), `round ${round}: ${outcomes.join(' | ')}`).toEqual([]);
    }
    // Either side may win a round; every outcome is one of the three the rule allows.
    for (const line of seen) expect(line).toMatch(/^(ok|409) (ok|422) (ok|422)$/);
  });
});

describe('delete(…, { unreferenced: true }) judges the version before the references', () => {
  it('a repeat of a delete is a no-op, a stale If-Match a 412, whatever refers to the resource', async () => {
    const p = await patient(stores.pglite);
    // A referrer left by a delete that did not check (the store's plain delete): the state a repeat meets.
    await stores.pglite.create(referrer(p) as Resource);
    const first = await stores.pglite.delete('Patient', p);
    const again = await stores.pglite.delete('Patient', p, { unreferenced: true, ifMatch: first.versionId });
    expect(again.deleted).toBe(false);

    const q = await patient(stores.pglite);
    await stores.pglite.create(referrer(q) as Resource);
    expect(await outcomeOf(stores.pglite.delete('Patient', q, { unreferenced: true, ifMatch: '7' }))).toMatch(
      /^412 /,
    );
    expect(await outcomeOf(stores.pglite.delete('Patient', q, { unreferenced: true, ifMatch: '1' }))).toMatch(
      /^409 /,
    );
  });
});
