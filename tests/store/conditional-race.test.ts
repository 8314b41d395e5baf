// Conditional creates naming one business identifier with different criteria: each takes a lock per
// identifier it names (besides the one on its whole criteria), so the second waits for the first and
// finds what it made instead of making a second. Criteria are read as a search reads them (`\,` an
// escaped comma, `,` alternatives). PostgreSQL forces the order by holding a transaction open.
import { randomUUID } from 'node:crypto';
import type { Patient } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { type Store, identifierCriteria, tokenAlternatives } from '../../src/store/index.ts';
import { bothStores } from '../helpers/both-stores.ts';
import { stillPending } from '../helpers/locks.ts';

const stores = bothStores('tyokyky_store_condrace');

const SYSTEM = 'urn:race';

const patient = (value: string): Patient => ({
  resourceType: 'Patient',
  identifier: [{ system: SYSTEM, value }],
  name: [{ family: 'Race' }],
});

/** Runs `first` in a transaction held open while `second` is started; returns both results. */
async function heldWhile<A, B>(
  store: Store,
  first: (tx: Store | Parameters<Parameters<Store['transaction']>[0]>[0]) => Promise<A>,
  second: () => Promise<B>,
): Promise<{ a: A; b: B; waited: boolean }> {
  let release = () => {};
  const held = new Promise<void>((r) => {
    release = r;
  });
  let reached = () => {};
  const inside = new Promise<void>((r) => {
    reached = r;
  });
  const tx = store.transaction(async (t) => {
    const a = await first(t);
    reached();
    await held;
    return a;
  });
  await inside;
  const b = second();
  let waited = false;
  try {
    waited = await stillPending(b);
  } finally {
    release();
  }
  return { a: await tx, b: await b, waited };
}

describe('conditional creates of one identifier under different criteria, on PostgreSQL', () => {
  const criteria = [
    (value: string) => `identifier=${SYSTEM}|${value}&family=Race`,
    (value: string) => `identifier=urn:other|${randomUUID()},${SYSTEM}|${value}`,
    (value: string) => `Patient?identifier=${SYSTEM}|${value}&_lastUpdated=gt2000-01-01`,
  ];

  it('the second waits for the first and finds what it created', async () => {
    for (const make of criteria) {
      const value = randomUUID();
      const other = make(value);
      const { a, b, waited } = await heldWhile(
        stores.postgres,
        (tx) => tx.create(patient(value), { ifNoneExist: `identifier=${SYSTEM}|${value}` }),
        () => stores.postgres.create(patient(value), { ifNoneExist: other }),
      );
      expect(waited, other).toBe(true);
      expect(a.created).toBe(true);
      expect([b.created, b.resource.id], other).toEqual([false, a.resource.id]);
      const [found] = await stores.postgres.findByIdentifiers('Patient', [{ system: SYSTEM, value }]);
      expect(found?.map((r) => r.id)).toEqual([a.resource.id]);
    }
  });

  it('a lookup by identifier with its lock waits for a conditional create naming it among other criteria', async () => {
    const value = randomUUID();
    const { a, b, waited } = await heldWhile(
      stores.postgres,
      (tx) => tx.create(patient(value), { ifNoneExist: `identifier=${SYSTEM}|${value}&family=Race` }),
      () =>
        stores.postgres.transaction((tx) =>
          tx.findByIdentifiers('Patient', [{ system: SYSTEM, value }], { lock: true }),
        ),
    );
    expect(waited).toBe(true);
    expect(b[0]?.map((r) => r.id)).toEqual([a.resource.id]);
  });
});

describe.each([
  ['PGlite', () => stores.pglite],
  ['PostgreSQL', () => stores.postgres],
])('criteria read as a search reads them, on %s', (_name, getStore) => {
  it('in one createMany (creates batched together), different criteria on one identifier make one resource', async () => {
    const store = getStore();
    const value = randomUUID();
    const results = await store.transaction((tx) =>
      tx.createMany([
        { resource: patient(value), opts: { ifNoneExist: `identifier=${SYSTEM}|${value}` } },
        { resource: patient(value), opts: { ifNoneExist: `identifier=${SYSTEM}|${value}&family=Race` } },
        { resource: patient(value), opts: { ifNoneExist: `identifier=urn:x|y,${SYSTEM}|${value}` } },
        { resource: patient(value), opts: { ifNoneExist: `identifier=${SYSTEM}|${value}` } },
      ]),
    );
    const [first, ...rest] = results.map((r) =>
      r instanceof Error ? r.message : [r.created, r.resource.id],
    );
    expect(first).toEqual([true, expect.any(String)]);
    for (const r of rest) expect(r).toEqual([false, (first as [boolean, string])[1]]);
  });

  it('an escaped comma is part of the value: the second create finds the first', async () => {
    const store = getStore();
    const value = `${randomUUID()},2`;
    const ifNoneExist = `identifier=${SYSTEM}|${value.replace(',', '\\,')}`;
    const first = await store.create(patient(value), { ifNoneExist });
    const again = await store.create(patient(value), { ifNoneExist });
    expect(first.created).toBe(true);
    expect([again.created, again.resource.id]).toEqual([false, first.resource.id]);
  });
});

describe('identifierCriteria: the criteria of exactly one business identifier', () => {
  it('a value with a comma, a bar or a backslash is one identifier: a repeat matches it, another identifier sharing a part does not', async () => {
    const value = `A,B|C\\D-${randomUUID()}`;
    const criteria = identifierCriteria(SYSTEM, value);
    const first = await stores.pglite.create(patient(value), { ifNoneExist: criteria });
    // Another client whose identifier is one of the parts a bare comma would have made an alternative.
    await stores.pglite.create({
      ...patient('B'),
      identifier: [{ system: SYSTEM, value: `B|C\\D-${value.slice(8)}` }],
    });
    const again = await stores.pglite.create(patient(value), { ifNoneExist: criteria });
    expect([first.created, again.created]).toEqual([true, false]);
    expect(again.resource.id).toBe(first.resource.id);
    expect(tokenAlternatives('identifier', new URLSearchParams(criteria).get('identifier') ?? '')).toEqual([
      { system: SYSTEM, value },
    ]);
  });
});
