// The store test suite, run unchanged against every engine (pglite.test.ts, postgres.test.ts).
import { randomUUID } from 'node:crypto';
import type { CarePlan, Consent, Observation, Patient, Resource } from '@medplum/fhirtypes';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { FhirError } from '../../src/shared/outcome.ts';
import {
  type Store,
  StoreDatabaseError,
  chainedTypes,
  escapeValue,
  loadSavedSearch,
  saveSearch,
} from '../../src/store/index.ts';
import { SEARCH_INDEX_MARKER, reindexIfChanged } from '../../src/store/reindex.ts';
import { afterInstant } from '../helpers/clock.ts';
import { ID_SYSTEM, LOINC, expectFhirError, observation } from './helpers.ts';

/** A search with the one parameter `key` refused with 400, naming it. */
const refusedSearch = (store: Store, type: string, key: string, value: string, diagnostics: string) =>
  expectFhirError(store.search(type, { [key]: value }), 400, diagnostics, key);

const ids = (rs: Resource[]) => rs.map((r) => r.id).sort();

export function storeSuite(getStore: () => Store): void {
  describe('create / read', () => {
    it('assigns a UUID, version 1 and lastUpdated, and keeps the client meta', async () => {
      const store = getStore();
      const before = Date.now();
      const { resource, created } = await store.create(
        observation({ id: 'client-id', meta: { versionId: '99', profile: ['https://example.org/p'] } }),
      );
      expect(created).toBe(true);
      expect(resource.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(resource.meta?.versionId).toBe('1');
      expect(resource.meta?.profile).toEqual(['https://example.org/p']);
      expect(Date.parse(resource.meta?.lastUpdated as string)).toBeGreaterThanOrEqual(before);
      expect(await store.read('Observation', resource.id as string)).toEqual(resource);
    });

    it('keeps the JSON as written: resourceType, id and meta first, then the elements in the order sent, in reads, vreads, history and searches', async () => {
      const store = getStore();
      const sent = observation({ meta: { profile: ['https://example.org/p'] } });
      const order = Object.keys(sent).filter((k) => k !== 'resourceType' && k !== 'meta');
      const { resource } = await store.create(sent);
      const id = resource.id as string;
      const expected = ['resourceType', 'id', 'meta', ...order];
      expect(Object.keys(resource)).toEqual(expected);
      expect(Object.keys(resource.meta ?? {})).toEqual(['versionId', 'lastUpdated', 'profile']);
      const { json, lastUpdated } = await store.readJson('Observation', id);
      expect(json.startsWith(`{"resourceType":"Observation","id":"${id}","meta":{"versionId":"1",`)).toBe(
        true,
      );
      expect(lastUpdated).toBe(resource.meta?.lastUpdated);
      expect(Object.keys(await store.read('Observation', id))).toEqual(expected);
      const updated = await store.update({ ...resource, status: 'amended' } as Observation, {
        ifMatch: '1',
      });
      expect(Object.keys(updated.resource)).toEqual(expected);
      expect(Object.keys(await store.vread('Observation', id, 1))).toEqual(expected);
      const history = await store.history('Observation', id);
      expect(history.map((h) => Object.keys(h.resource ?? {}))).toEqual([expected, expected]);
      const found = await store.search('Observation', { _id: id });
      expect(found.resources.map((r) => Object.keys(r))).toEqual([expected]);
      // U+0000 in an update is refused the same way, and the stored version stays.
      await expectFhirError(
        store.update({ ...updated.resource, note: [{ text: 'nul \u0000' }] } as Observation, {
          ifMatch: '2',
        }),
        400,
        'A string in Observation contains the character U+0000, which the store cannot keep',
        'Observation',
      );
      expect((await store.read('Observation', id)).meta?.versionId).toBe('2');
      // The six characters \u0000 (not U+0000) are text like any other.
      const literal = await store.create(observation({ note: [{ text: 'C:\\u0000 \\\\u0000' }] }));
      expect((await store.read<Observation>('Observation', literal.resource.id as string)).note).toEqual([
        { text: 'C:\\u0000 \\\\u0000' },
      ]);
    });

    it('keeps a client id with keepId, and rejects a second create with it (409)', async () => {
      const store = getStore();
      const id = `keep-${randomUUID()}`;
      const { resource } = await store.create(observation({ id }), { keepId: true });
      expect(resource.id).toBe(id);
      await expectFhirError(
        store.create(observation({ id }), { keepId: true }),
        409,
        `Observation/${id} already exists`,
        'Observation.id',
      );
    });

    it('read of an unknown id is 404; a malformed id or type is 400 naming the element', async () => {
      const store = getStore();
      const id = randomUUID();
      await expectFhirError(store.read('Observation', id), 404, `Observation/${id} not found`);
      await expectFhirError(
        store.read('Observation', 'bad id!'),
        400,
        'Invalid id (1-64 of A-Z a-z 0-9 - .)',
        'Observation.id',
      );
      await expectFhirError(
        store.create({ resourceType: 'not a type' } as unknown as Resource),
        400,
        'Missing or invalid resourceType',
        'resourceType',
      );
    });
  });

  describe('batched writes and reads', () => {
    it('concurrent plain creates and reads each get their own result, errors included', async () => {
      const store = getStore();
      const kept = `batch-${randomUUID()}`;
      const made = await Promise.all(
        Array.from({ length: 30 }, (_, i) => store.create(observation({ valueInteger: i }))),
      );
      expect(new Set(made.map((m) => m.resource.id)).size).toBe(30);
      // One id taken twice and one value PostgreSQL cannot store (NUL) among good creates: only they fail.
      const mixed = await Promise.allSettled([
        store.create(observation({ id: kept }), { keepId: true }),
        store.create(observation({ id: kept }), { keepId: true }),
        store.create(observation({ note: [{ text: 'nul \u0000 here' }] })),
        store.create(observation({ valueInteger: 99 })),
      ]);
      // Concurrent creates with one id: exactly one wins (which one is up to the race), the other is 409.
      const [a, b, nul, good] = mixed;
      expect([a.status, b.status].sort()).toEqual(['fulfilled', 'rejected']);
      const loser = (a.status === 'rejected' ? a : b) as PromiseRejectedResult;
      expect(loser.reason).toBeInstanceOf(FhirError);
      expect((loser.reason as FhirError).status).toBe(409);
      expect(nul.status).toBe('rejected');
      const refused = (nul as PromiseRejectedResult).reason as FhirError;
      expect(refused.status).toBe(400);
      expect(refused.outcome.issue[0]).toMatchObject({
        code: 'invalid',
        diagnostics: 'A string in Observation contains the character U+0000, which the store cannot keep',
        expression: ['Observation'],
      });
      expect(good.status).toBe('fulfilled');
      const reads = await Promise.allSettled([
        ...made.map((m) => store.read('Observation', m.resource.id as string)),
        store.read('Observation', 'no-such-id'),
        store.read('Observation', 'bad id'),
      ]);
      made.forEach((m, i) =>
        expect((reads[i] as PromiseFulfilledResult<Resource>).value).toEqual(m.resource),
      );
      expect(((reads[30] as PromiseRejectedResult).reason as FhirError).status).toBe(404);
      expect(((reads[31] as PromiseRejectedResult).reason as FhirError).status).toBe(400);
      const json = await store.readJson('Observation', made[0].resource.id as string);
      expect(JSON.parse(json.json)).toEqual(made[0].resource);
      expect(json).toMatchObject({ versionId: '1', lastUpdated: made[0].resource.meta?.lastUpdated });
    });

    it('createMany: conditional and plain items in one call, same criteria twice → one resource', async () => {
      const store = getStore();
      const value = randomUUID();
      const criteria = `identifier=${ID_SYSTEM}|${value}`;
      const existingValue = randomUUID();
      const existing = await store.create(
        observation({ identifier: [{ system: ID_SYSTEM, value: existingValue }] }),
      );
      const results = await store.transaction((tx) =>
        tx.createMany([
          {
            resource: observation({ identifier: [{ system: ID_SYSTEM, value }] }),
            opts: { ifNoneExist: criteria },
          },
          { resource: observation(), opts: { ifNoneExist: `identifier=${ID_SYSTEM}|${existingValue}` } },
          {
            resource: observation({ identifier: [{ system: ID_SYSTEM, value }] }),
            opts: { ifNoneExist: criteria },
          },
          { resource: observation({ valueInteger: 3 }) },
          { resource: observation(), opts: { ifNoneExist: 'nonsense=1' } },
        ]),
      );
      const [made, found, again, plain, bad] = results;
      expect(made).toMatchObject({ created: true });
      expect(found).toMatchObject({ created: false, resource: { id: existing.resource.id } });
      expect(again).toMatchObject({
        created: false,
        resource: { id: (made as { resource: Resource }).resource.id },
      });
      expect(plain).toMatchObject({ created: true, resource: { valueInteger: 3 } });
      expect(bad).toBeInstanceOf(FhirError);
      expect((bad as FhirError).status).toBe(400);
      const matches = await store.search('Observation', { identifier: `${ID_SYSTEM}|${value}` });
      expect(matches.resources.length).toBe(1);
    });
    it('createMany with `resolved`: told what each conditional item resolved to before anything is written, inserts what it returns', async () => {
      const store = getStore();
      const existingValue = randomUUID();
      const existing = await store.create(
        observation({ identifier: [{ system: ID_SYSTEM, value: existingValue }] }),
      );
      const value = randomUUID();
      const kept = randomUUID();
      const items = [
        { resource: observation(), opts: { ifNoneExist: `identifier=${ID_SYSTEM}|${existingValue}` } },
        {
          resource: { ...observation({ identifier: [{ system: ID_SYSTEM, value }] }), id: kept },
          opts: { ifNoneExist: `identifier=${ID_SYSTEM}|${value}`, keepId: true },
        },
        { resource: observation(), opts: { ifNoneExist: `identifier=${ID_SYSTEM}|${value}` } },
        { resource: observation() },
        { resource: observation(), opts: { ifNoneExist: 'nonsense=1' } },
      ];
      let seen: ReadonlyMap<number, string> | undefined;
      const results = await store.transaction((tx) =>
        tx.createMany(items, {
          resolved(resolution) {
            seen = resolution;
            // Each new resource says what the first two items resolved to.
            return items.map((item) => ({
              ...item.resource,
              derivedFrom: [{ reference: resolution.get(0) }, { reference: resolution.get(1) }],
            }));
          },
        }),
      );
      expect([...(seen ?? [])]).toEqual([
        [0, `Observation/${existing.resource.id}`],
        [1, `Observation/${kept}`],
        [2, `Observation/${kept}`],
      ]);
      const [found, made, again, plain, bad] = results;
      expect(found).toMatchObject({ created: false, resource: { id: existing.resource.id } });
      expect((found as { resource: Observation }).resource.derivedFrom).toBeUndefined();
      expect(again).toMatchObject({ created: false, resource: { id: kept } });
      expect((bad as FhirError).status).toBe(400);
      const refs = [
        { reference: `Observation/${existing.resource.id}` },
        { reference: `Observation/${kept}` },
      ];
      for (const r of [made, plain]) {
        expect(r).toMatchObject({ created: true, resource: { derivedFrom: refs } });
        const id = (r as { resource: Observation }).resource.id as string;
        expect((await store.read<Observation>('Observation', id)).derivedFrom).toEqual(refs);
      }
    });
  });

  describe('absent (reference targets)', () => {
    it('names the refs without a current resource — never stored or deleted — alone, concurrently and in a transaction', async () => {
      const store = getStore();
      const kept = (await store.create(observation())).resource.id as string;
      const gone = (await store.create(observation())).resource.id as string;
      await store.delete('Observation', gone);
      const refs = [`Observation/${kept}`, `Observation/${gone}`, 'Observation/never', `Patient/${kept}`];
      expect(await store.absent(refs)).toEqual(refs.slice(1));
      expect(await store.absent([])).toEqual([]);
      // Concurrent calls share statements but each gets its own answer.
      const answers = await Promise.all(refs.map((r) => store.absent([r, r])));
      expect(answers).toEqual([[], [refs[1], refs[1]], [refs[2], refs[2]], [refs[3], refs[3]]]);
      // A transaction sees its own writes.
      await store.transaction(async (tx) => {
        const fresh = (await tx.create(observation())).resource.id as string;
        expect(await tx.absent([`Observation/${fresh}`, 'Observation/never'])).toEqual(['Observation/never']);
      });
    });
  });

  describe('targets (store-ref-1)', () => {
    it('a create or update whose targets name no current resource fails with 422 at their paths; the rest are written', async () => {
      const store = getStore();
      const kept = (await store.create(observation())).resource.id as string;
      const targets = (ref: string) => [{ ref, path: 'Observation.derivedFrom[0]' }];
      const [ok, bad] = await store.createMany([
        { resource: observation(), opts: { targets: targets(`Observation/${kept}`) } },
        { resource: observation(), opts: { targets: targets('Observation/never') } },
      ]);
      expect(ok).not.toBeInstanceOf(FhirError);
      expect(bad).toBeInstanceOf(FhirError);
      expect((bad as FhirError).status).toBe(422);
      expect((bad as FhirError).outcome.issue?.[0]).toMatchObject({
        diagnostics:
          'store-ref-1: Observation/never does not exist here; a reference must name a stored resource',
        expression: ['Observation.derivedFrom[0]'],
      });
      const current = await store.read<Observation>('Observation', kept);
      await expectFhirError(
        store.update(current, { ifMatch: '1', targets: targets('Observation/never') }),
        422,
        'store-ref-1: Observation/never does not exist here; a reference must name a stored resource',
        'Observation.derivedFrom[0]',
      );
      expect((await store.read('Observation', kept)).meta?.versionId).toBe('1');
    });
  });

  describe('update with If-Match', () => {
    it('an update that changes nothing writes no version, runs no hook, and still checks If-Match', async () => {
      const store = getStore();
      const { resource: v1 } = await store.create(
        observation({ meta: { profile: ['https://example.org/p'] } }),
      );
      const changes: string[] = [];
      const remove = store.addHooks({ afterWrite: async (_tx, c) => void changes.push(c.action) });
      try {
        // The same content, keys in another order, with a stale versionId in meta: nothing new.
        const { meta: _meta, ...rest } = v1;
        const reordered = Object.fromEntries(Object.entries(rest).reverse()) as unknown as Observation;
        const same = await store.update(
          { ...reordered, meta: { versionId: '7', profile: ['https://example.org/p'] } },
          { ifMatch: '1' },
        );
        expect(same).toEqual({ resource: v1, created: false });
        expect(await store.history('Observation', v1.id as string)).toHaveLength(1);
        await expectFhirError(
          store.update({ ...v1 }, { ifMatch: '2' }),
          412,
          `store-version-1: version conflict on Observation/${v1.id}: If-Match is 2 but the current version is 1`,
          'Observation.meta.versionId',
        );
        expect(changes).toEqual([]);
        // meta beyond versionId and lastUpdated is content: a new profile is a new version.
        const profiled = await store.update<Observation>(
          { ...v1, meta: { profile: ['https://example.org/q'] } },
          { ifMatch: '1' },
        );
        expect(profiled.resource.meta?.versionId).toBe('2');
        const valued = await store.update({ ...profiled.resource, status: 'amended' }, { ifMatch: '2' });
        expect(valued.resource.meta?.versionId).toBe('3');
        expect(changes).toEqual(['update', 'update']);
      } finally {
        remove();
      }
    });

    it('accepts W/"n" and n, rejects stale (412), missing (428) and malformed (400)', async () => {
      const store = getStore();
      const { resource } = await store.create(observation());
      const id = resource.id as string;
      const v2 = await store.update({ ...resource, status: 'amended' }, { ifMatch: 'W/"1"' });
      expect(v2.created).toBe(false);
      expect(v2.resource.meta?.versionId).toBe('2');
      expect(Date.parse(v2.resource.meta?.lastUpdated as string)).toBeGreaterThan(
        Date.parse(resource.meta?.lastUpdated as string),
      );
      const v3 = await store.update({ ...resource, status: 'corrected' }, { ifMatch: '2' });
      expect(v3.resource.meta?.versionId).toBe('3');
      await expectFhirError(
        store.update({ ...resource, status: 'final' }, { ifMatch: 'W/"2"' }),
        412,
        `store-version-1: version conflict on Observation/${id}: If-Match is 2 but the current version is 3`,
        'Observation.meta.versionId',
      );
      await expectFhirError(
        store.update({ ...resource, status: 'final' }),
        428,
        `If-Match is required to update Observation/${id}`,
        'Observation.meta.versionId',
      );
      await expectFhirError(
        store.update({ ...resource, status: 'final' }, { ifMatch: 'abc' }),
        400,
        'If-Match must be one entity tag naming a version, W/"<versionId>" (or "<versionId>")',
        'If-Match',
      );
      const unconditional = await store.update({ ...resource, status: 'final' }, { ifMatchOptional: true });
      expect(unconditional.resource.meta?.versionId).toBe('4');
      expect((await store.read<Observation>('Observation', id)).status).toBe('final');
    });

    it('PUT-create: update of an unknown id creates it with that id', async () => {
      const store = getStore();
      const id = randomUUID();
      const { resource, created } = await store.update(observation({ id }));
      expect(created).toBe(true);
      expect(resource.id).toBe(id);
      expect(resource.meta?.versionId).toBe('1');
      const other = randomUUID();
      await expectFhirError(
        store.update(observation({ id: other }), { ifMatch: '1' }),
        412,
        `store-version-1: Observation/${other} does not exist (If-Match 1)`,
        'Observation.meta.versionId',
      );
    });

    it('update without id is 400 naming Observation.id', async () => {
      await expectFhirError(
        getStore().update(observation(), { ifMatch: '1' }),
        400,
        'Observation.id is required for an update',
        'Observation.id',
      );
    });

    it('concurrent updates with the same If-Match: exactly one wins, the rest get 412', async () => {
      const store = getStore();
      const { resource } = await store.create(observation());
      const results = await Promise.allSettled(
        ['amended', 'corrected', 'cancelled', 'entered-in-error', 'preliminary'].map((status) =>
          store.update({ ...resource, status: status as Observation['status'] }, { ifMatch: 'W/"1"' }),
        ),
      );
      const ok = results.filter((r) => r.status === 'fulfilled');
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(ok).toHaveLength(1);
      expect(failed).toHaveLength(4);
      for (const f of failed) {
        expect(f.reason).toBeInstanceOf(FhirError);
        expect((f.reason as FhirError).status).toBe(412);
        expect((f.reason as FhirError).message).toBe(
          `store-version-1: version conflict on Observation/${resource.id}: If-Match is 1 but the current version is 2`,
        );
        expect((f.reason as FhirError).outcome.issue?.[0].expression).toEqual(['Observation.meta.versionId']);
      }
      const history = await store.history('Observation', resource.id as string);
      expect(history.map((h) => h.versionId)).toEqual(['2', '1']);
    });
  });

  describe('delete, vread and history', () => {
    it('keeps a tombstone: read → 410, history newest first, vread of old versions', async () => {
      const store = getStore();
      const { resource } = await store.create(observation());
      const id = resource.id as string;
      await store.update({ ...resource, status: 'amended' }, { ifMatch: '1' });
      await expectFhirError(
        store.delete('Observation', id, { ifMatch: '1' }),
        412,
        `store-version-1: version conflict on Observation/${id}: If-Match is 1 but the current version is 2`,
        'If-Match', // a delete carries no resource: the refusal names the precondition it was given
      );
      const del = await store.delete('Observation', id);
      expect(del).toMatchObject({ versionId: '3', deleted: true });
      await expectFhirError(store.read('Observation', id), 410, `Observation/${id} was deleted (version 3)`);
      const again = await store.delete('Observation', id);
      expect(again).toMatchObject({ versionId: '3', deleted: false });
      // The same versioned delete again (its answer lost): done, not 412.
      const retried = await store.delete('Observation', id, { ifMatch: '2' });
      expect(retried).toMatchObject({ versionId: '3', deleted: false });

      const history = await store.history('Observation', id);
      expect(history.map((h) => [h.versionId, h.action])).toEqual([
        ['3', 'delete'],
        ['2', 'update'],
        ['1', 'create'],
      ]);
      expect(history[0].resource).toBeUndefined();
      expect((history[1].resource as Observation).status).toBe('amended');
      expect((await store.vread<Observation>('Observation', id, '1')).status).toBe('final');
      await expectFhirError(
        store.vread('Observation', id, 3),
        410,
        `Observation/${id}/_history/3 is a deletion`,
      );
      await expectFhirError(store.vread('Observation', id, 9), 404, `Observation/${id}/_history/9 not found`);

      const found = await store.search('Observation', { _id: id });
      expect(found.resources).toEqual([]);
      // Updating a deleted resource brings it back as a new version, without If-Match.
      const revived = await store.update({ ...resource, status: 'final' });
      expect(revived.created).toBe(true);
      expect(revived.resource.meta?.versionId).toBe('4');
      expect((await store.search('Observation', { _id: id })).resources).toHaveLength(1);
    });

    it('delete and history of unknown ids are 404', async () => {
      const store = getStore();
      const id = randomUUID();
      await expectFhirError(store.delete('Observation', id), 404, `Observation/${id} not found`);
      await expectFhirError(store.history('Observation', id), 404, `Observation/${id} not found`);
    });

    it('type- and system-level history page by next cursors: a write between pages neither repeats nor skips an entry', async () => {
      const store = getStore();
      const type = 'EpisodeOfCare';
      const made: Array<{ id: string; at: string }> = [];
      const make = async () => {
        const { resource } = await store.create({ resourceType: type, status: 'active' } as Resource);
        made.push({ id: resource.id as string, at: resource.meta?.lastUpdated as string });
      };
      for (let i = 0; i < 4; i++) await make();
      for (const level of [type, undefined]) {
        // Newest first; versions of one instant by type, then id, descending.
        const newestFirst = made
          .slice()
          .sort((a, b) => (a.at === b.at ? (a.id < b.id ? 1 : -1) : a.at < b.at ? 1 : -1))
          .map((m) => m.id);
        const first = await store.historyPage(level, { count: 2, offset: 0 });
        expect(first.entries.map((e) => e.id)).toEqual(newestFirst.slice(0, 2));
        // The write between pages is the newest: later than every stamp before it, not tied with one.
        await afterInstant(
          made
            .map((m) => m.at)
            .sort()
            .at(-1) as string,
        );
        await make();
        const second = await store.historyPage(level, { count: 2, offset: 2, cursor: first.nextCursor });
        expect([level, second.entries.map((e) => e.id)]).toEqual([level, newestFirst.slice(2, 4)]);
        expect(second.total).toBe(first.total + 1);
        // The type's last page: nothing after it.
        if (level) expect(second.nextCursor).toBeUndefined();
      }
      await expectFhirError(
        store.historyPage(type, { count: 2, offset: 0, cursor: 'nope' }),
        400,
        `Invalid value for '_cursor': not a cursor issued by this server`,
        '_cursor',
      );
    });

    it('type- and system-level history read _since as an instant, a date as UTC midnight, whatever the database TimeZone', async () => {
      const store = getStore();
      const { resource } = await store.create({
        resourceType: 'EpisodeOfCare',
        status: 'finished',
      } as Resource);
      await expect(
        store.transaction(async (tx) => {
          // 01:30 on 5 March in Helsinki: a zone-less date read in the session's zone would take it in.
          await tx.query(`UPDATE resource_history SET last_updated = '1990-03-04T23:30:00Z' WHERE id = $1`, [
            resource.id,
          ]);
          await tx.query(`SET LOCAL TimeZone = 'Europe/Helsinki'`);
          const total = async (since: string) =>
            (await tx.historyPage('EpisodeOfCare', { since, count: 0, offset: 0 })).total;
          const after = await total('1990-03-04T23:30:00.001Z');
          expect([
            await total('1990-03-05'),
            await total('1990-03-04T23:30:00Z'),
            await total('1990-03-04'),
          ]).toEqual([after, after + 1, after + 1]);
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
    });
  });

  describe('conditional create (ifNoneExist)', () => {
    it('returns the existing resource on repeat', async () => {
      const store = getStore();
      const obs = observation();
      const criteria = `identifier=${ID_SYSTEM}|${obs.identifier?.[0].value}`;
      const first = await store.create(obs, { ifNoneExist: criteria });
      const second = await store.create(obs, { ifNoneExist: criteria });
      expect(first.created).toBe(true);
      expect(second.created).toBe(false);
      expect(second.resource).toEqual(first.resource);
    });

    it('is idempotent under concurrent requests (Promise.all) → one resource', async () => {
      const store = getStore();
      const obs = observation();
      const criteria = `identifier=${ID_SYSTEM}|${obs.identifier?.[0].value}`;
      const results = await Promise.all(
        Array.from({ length: 8 }, () => store.create(obs, { ifNoneExist: criteria })),
      );
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.resource.id)).size).toBe(1);
      const found = await store.search('Observation', {
        identifier: `${ID_SYSTEM}|${obs.identifier?.[0].value}`,
      });
      expect(found.resources).toHaveLength(1);
    });

    it('works on other token parameters and fails with 412 on several matches', async () => {
      const store = getStore();
      const code = `c-${randomUUID()}`;
      const obs = observation({ code: { coding: [{ system: 'urn:test', code }] } });
      const a = await store.create(obs, { ifNoneExist: `code=urn:test|${code}` });
      const b = await store.create(obs, { ifNoneExist: `Observation?code=urn:test|${code}` });
      expect(b.resource.id).toBe(a.resource.id);
      await store.create(obs);
      await expectFhirError(
        store.create(obs, { ifNoneExist: `code=urn:test|${code}` }),
        412,
        'store-cond-1: conditional create: more than one Observation matches the If-None-Exist criteria',
        'If-None-Exist',
      );
    });

    it('rejects empty or unknown criteria with 400', async () => {
      const store = getStore();
      await expectFhirError(
        store.create(observation(), { ifNoneExist: '' }),
        400,
        'If-None-Exist criteria are empty',
        'If-None-Exist',
      );
      // The criteria are the sender's text (an identifier may be a HETU): no message quotes them.
      await expectFhirError(
        store.create(observation(), { ifNoneExist: 'Patient?identifier=urn:oid:1.2.246.21|010181-900C' }),
        400,
        'If-None-Exist criteria are for another type than Observation',
        'If-None-Exist',
      );
      await expectFhirError(
        store.create(observation(), { ifNoneExist: '_010181-900C=x' }),
        400,
        'If-None-Exist criteria may not use that parameter',
        'If-None-Exist',
      );
      await expectFhirError(
        store.create(observation(), { ifNoneExist: 'foo=bar' }),
        400,
        `Unknown search parameter 'foo' for Observation`,
        'foo',
      );
    });
  });

  describe('search', () => {
    it('_sort by a date parameter: earliest or latest first, undated last, paged to the end by next cursors', async () => {
      const store = getStore();
      const subject = { reference: `Patient/${randomUUID()}` };
      const made: Array<[string | undefined, string]> = [];
      for (const when of [
        '2024-03-01',
        '2023-01-15',
        undefined,
        '2025-07-30T10:00:00Z',
        '2024-03-01T08:00:00Z',
      ]) {
        const r = await store.create(observation({ subject, effectiveDateTime: when }));
        made.push([when, r.resource.id as string]);
      }
      // A date is the range it covers: 2024-03-01 starts before 2024-03-01T08:00:00Z and ends after it.
      const byDate = (desc: boolean) =>
        (desc ? [3, 0, 4, 1, 2] : [1, 0, 4, 3, 2]).map((i) => (made[i] as [unknown, string])[1]);
      const walk = async (sort: string) => {
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.search('Observation', {
            subject: subject.reference,
            _sort: sort,
            _count: '2',
            ...(cursor ? { _cursor: cursor } : {}),
          });
          seen.push(...page.resources.map((r) => r.id as string));
          cursor = page.nextCursor;
        } while (cursor);
        return seen;
      };
      expect(await walk('date')).toEqual(byDate(false));
      expect(await walk('-date')).toEqual(byDate(true));
      const first = await store.search('Observation', {
        subject: subject.reference,
        _sort: '-date',
        _count: '2',
      });
      await expectFhirError(
        store.search('Observation', { subject: subject.reference, _cursor: first.nextCursor as string }),
        400,
        "Invalid value for '_cursor': it was issued for a different _sort",
        '_cursor',
      );
    });

    it("_sort=-date orders by each resource's latest value (a Period's end; an open end is the latest), _sort=date by its earliest", async () => {
      const store = getStore();
      const subject = { reference: `Patient/${randomUUID()}` };
      const make = async (o: Partial<Observation>) =>
        (await store.create(observation({ subject, effectiveDateTime: undefined, ...o }))).resource
          .id as string;
      const year = await make({ effectivePeriod: { start: '2024-01-01', end: '2024-12-31' } });
      const june = await make({ effectiveDateTime: '2024-06-01' });
      const ongoing = await make({ effectivePeriod: { start: '2023-01-01' } });
      const sorted = async (_sort: string) =>
        (await store.search('Observation', { subject: subject.reference, _sort })).resources.map((r) => r.id);
      expect(await sorted('-date')).toEqual([ongoing, year, june]);
      expect(await sorted('date')).toEqual([ongoing, year, june]);
      const march2025 = await make({ effectiveDateTime: '2025-03-01' });
      expect(await sorted('-date')).toEqual([ongoing, march2025, year, june]);
      expect(await sorted('date')).toEqual([ongoing, year, june, march2025]);
    });

    it('string parameters: starts-with, case and accents aside; :exact as written; :contains; names in chains', async () => {
      const store = getStore();
      const tag = randomUUID().slice(0, 8);
      const family = `Mäkinen${tag}`;
      const p = (
        await store.create({
          resourceType: 'Patient',
          name: [{ family, given: ['Aino', 'Liisa'], text: `Aino ${family}` }],
        } as Patient)
      ).resource.id as string;
      const other = (
        await store.create({
          resourceType: 'Patient',
          name: [{ family: `Makinen${tag}`, given: ['Eero'] }],
        } as Patient)
      ).resource.id as string;
      const found = async (params: Record<string, string>) =>
        ids((await store.search('Patient', params)).resources);
      expect(await found({ family: `maki`, _id: `${p},${other}` })).toEqual([p, other].sort());
      expect(await found({ family: `MÄKINEN${tag}` })).toEqual([p, other].sort());
      expect(await found({ 'family:exact': family })).toEqual([p]);
      expect(await found({ 'family:exact': family.toLowerCase() })).toEqual([]);
      expect(await found({ 'name:contains': `inen${tag}`, given: 'lii' })).toEqual([p]);
      expect(await found({ name: `aino m` })).toEqual([p]);
      expect(await found({ given: 'eero,liisa', family: `makinen${tag}` })).toEqual([p, other].sort());
      expect(await found({ given: '100%_' })).toEqual([]);
      await refusedSearch(
        store,
        'Patient',
        'family:text',
        'x',
        "Unsupported modifier ':text' on search parameter 'family'",
      );
      const obs = (await store.create(observation({ subject: { reference: `Patient/${p}` } }))).resource.id;
      expect(
        ids((await store.search('Observation', { 'subject:Patient.family': `mäkinen${tag}` })).resources),
      ).toEqual([obs]);
      // Chained to the target's own _id and _lastUpdated, as to any of its parameters.
      const chained = async (params: Record<string, string>) =>
        ids((await store.search('Observation', params)).resources);
      expect(await chained({ 'subject:Patient._id': `${other},${p}` })).toEqual([obs]);
      expect(await chained({ 'subject:Patient._id': other })).toEqual([]);
      expect(
        await chained({ 'subject:Patient._id': p, 'subject:Patient._lastUpdated': 'gt2000-01-01' }),
      ).toEqual([obs]);
      expect(
        await chained({ 'subject:Patient._id': p, 'subject:Patient._lastUpdated': 'lt2000-01-01' }),
      ).toEqual([]);
      const org = (
        await store.create({
          resourceType: 'Organization',
          name: `Sote ${tag}`,
          alias: [`Hyvinvointialue ${tag}`],
        } as Resource)
      ).resource.id;
      expect(ids((await store.search('Organization', { name: `hyvinvointialue ${tag}` })).resources)).toEqual(
        [org],
      );
    });

    it(':not on a token (resources without the value too) and :missing on every kind of parameter', async () => {
      const store = getStore();
      const subject = { reference: `Patient/${randomUUID()}` };
      const made = async (extra: Partial<Observation>) =>
        (await store.create(observation({ subject, effectiveDateTime: undefined, ...extra }))).resource
          .id as string;
      const final = await made({ status: 'final', effectiveDateTime: '2024-05-01' });
      const amended = await made({
        status: 'amended',
        category: [{ coding: [{ system: 'urn:c', code: 'x' }] }],
      });
      const cancelled = await made({ status: 'cancelled', category: [{ text: 'no coding' }] });
      const found = async (params: Record<string, string>) =>
        ids((await store.search('Observation', { subject: subject.reference, ...params })).resources);
      expect(await found({ 'status:not': 'final' })).toEqual([amended, cancelled].sort());
      expect(await found({ 'status:not': 'final,amended' })).toEqual([cancelled]);
      expect(await found({ 'category:not': 'urn:c|x' })).toEqual([final, cancelled].sort());
      expect(await found({ 'category:missing': 'false' })).toEqual([amended]);
      expect(await found({ 'category:missing': 'true' })).toEqual([final, cancelled].sort());
      expect(await found({ 'date:missing': 'false' })).toEqual([final]);
      expect(await found({ 'date:missing': 'true', 'status:not': 'cancelled' })).toEqual([amended]);
      expect(await found({ 'performer:missing': 'true' })).toEqual([final, amended, cancelled].sort());
      expect(await found({ 'subject:missing': 'true' })).toEqual([]);
      expect(
        ids(
          (await store.search('Observation', { 'subject:Patient.family:missing': 'true', _id: final }))
            .resources,
        ),
      ).toEqual([]);
      await refusedSearch(
        store,
        'Observation',
        'status:missing',
        'maybe',
        "Invalid value for 'status:missing': :missing takes true or false",
      );
      await refusedSearch(
        store,
        'Observation',
        'date:not',
        '2024',
        "Unsupported modifier ':not' on search parameter 'date'",
      );
    });

    it('_id takes :not and :missing, _lastUpdated :missing (false: every resource has them, true: none), chained too', async () => {
      const store = getStore();
      const pid = (await store.create({ resourceType: 'Patient' } as Patient)).resource.id as string;
      const subject = { reference: `Patient/${pid}` };
      const made: string[] = [];
      for (let i = 0; i < 3; i++)
        made.push((await store.create(observation({ subject }))).resource.id as string);
      const [a, b, c] = made as [string, string, string];
      const all = [...made].sort();
      const found = async (params: Record<string, string>) =>
        ids((await store.search('Observation', { subject: subject.reference, ...params })).resources);
      expect(await found({ '_id:not': a })).toEqual([b, c].sort());
      expect(await found({ '_id:not': `${a},${c}` })).toEqual([b]);
      expect(await found({ '_id:not': 'none-such' })).toEqual(all);
      expect(await found({ '_id:missing': 'false' })).toEqual(all);
      expect(await found({ '_id:missing': 'true' })).toEqual([]);
      expect(await found({ '_lastUpdated:missing': 'false' })).toEqual(all);
      expect(await found({ '_lastUpdated:missing': 'true' })).toEqual([]);
      expect(await found({ 'subject:Patient._id:not': pid })).toEqual([]);
      expect(await found({ 'subject:Patient._id:missing': 'false' })).toEqual(all);
      expect(await found({ 'subject:Patient._lastUpdated:missing': 'true' })).toEqual([]);
      for (const key of ['_id:missing', '_lastUpdated:missing'])
        await refusedSearch(
          store,
          'Observation',
          key,
          'maybe',
          `Invalid value for '${key}': :missing takes true or false`,
        );
      await refusedSearch(store, 'Observation', '_id:not', 'a,', "Invalid value for '_id:not': empty value");
    });

    it(':identifier on a reference parameter matches logical references (Reference.identifier), which no delete check counts', async () => {
      const store = getStore();
      const tag = randomUUID();
      const valvira = { system: 'urn:oid:1.2.246.537.26', value: `v-${tag}` };
      const subject = { reference: `Patient/${randomUUID()}` };
      const logical = (await store.create(observation({ subject, performer: [{ identifier: valvira }] })))
        .resource.id as string;
      const both = (
        await store.create(
          observation({
            subject,
            performer: [{ reference: `Practitioner/${tag}`, identifier: { ...valvira, value: `w-${tag}` } }],
          }),
        )
      ).resource.id as string;
      const found = async (params: Record<string, string>) =>
        ids((await store.search('Observation', { subject: subject.reference, ...params })).resources);
      expect(await found({ 'performer:identifier': `${valvira.system}|${valvira.value}` })).toEqual([
        logical,
      ]);
      expect(await found({ 'performer:identifier': `v-${tag},w-${tag}` })).toEqual([logical, both].sort());
      expect(await found({ 'performer:identifier': `${valvira.system}|` })).toEqual([logical, both].sort());
      expect(await found({ 'performer:identifier': `urn:other|v-${tag}` })).toEqual([]);
      // The literal reference is searched as before; the identifier is no reference to a stored resource.
      expect(await found({ performer: `Practitioner/${tag}` })).toEqual([both]);
      expect(await store.referrers('Practitioner', `v-${tag}`, ['Observation'])).toEqual([]);
    });

    it('_has: resources another type refers to, where that one matches (one level)', async () => {
      const store = getStore();
      const made = async (family: string) =>
        (await store.create({ resourceType: 'Patient', name: [{ family }] } as Patient)).resource
          .id as string;
      const tag = randomUUID();
      const [scored, other, deleted] = [await made(`A${tag}`), await made(`B${tag}`), await made(`C${tag}`)];
      const code = { coding: [{ system: LOINC, code: `x-${tag}` }] };
      await store.create(observation({ subject: { reference: `Patient/${scored}` }, code }));
      await store.create(observation({ subject: { reference: `Patient/${other}` } }));
      const gone = (await store.create(observation({ subject: { reference: `Patient/${deleted}` }, code })))
        .resource;
      await store.delete('Observation', gone.id as string);
      const found = async (params: Record<string, string>) =>
        ids(
          (await store.search('Patient', { _id: [scored, other, deleted].join(','), ...params })).resources,
        );
      expect(await found({ '_has:Observation:subject:code': `${LOINC}|x-${tag}` })).toEqual([scored]);
      expect(await found({ '_has:Observation:patient:code': `x-${tag}` })).toEqual([scored]);
      expect(await found({ '_has:Observation:subject:status': 'final' })).toEqual([scored, other].sort());
      expect(await found({ '_has:Observation:subject:code:not': `${LOINC}|x-${tag}` })).toEqual([other]);
      await refusedSearch(
        store,
        'Patient',
        '_has:Observation:based-on:code',
        'x',
        "Reverse chain '_has:Observation:based-on:code': write _has:Type:param:parameter, where param is an indexed reference parameter of Type that can point at Patient",
      );
      await refusedSearch(
        store,
        'Patient',
        '_has:Observation:subject:nothing',
        'x',
        "Reverse chain '_has:Observation:subject:nothing': 'nothing' is not an indexed parameter of Observation (one level of _has)",
      );
    });

    it('number parameters (value-integer): a value is as precise as written, comparisons are exact, rows follow writes', async () => {
      const store = getStore();
      const subject = { reference: `Patient/${randomUUID()}` };
      const score = async (valueInteger?: number) =>
        (
          await store.create(
            observation({ subject, ...(valueInteger === undefined ? {} : { valueInteger }) }),
          )
        ).resource.id as string;
      const [s0, s4, s7, s8, s10, none] = [
        await score(0),
        await score(4),
        await score(7),
        await score(8),
        await score(10),
        await score(),
      ];
      const found = async (value: string, key = 'value-integer') =>
        ids((await store.search('Observation', { subject: subject.reference, [key]: value })).resources);
      // `7` is [6.5, 7.5), `7.0` is [6.95, 7.05), `1e1` is [5, 15) (R4 search.html, number).
      expect(await found('7')).toEqual([s7]);
      expect(await found('eq7.0')).toEqual([s7]);
      expect(await found('6.6')).toEqual([]);
      expect(await found('1e1')).toEqual([s7, s8, s10].sort());
      expect(await found('ne7')).toEqual([s0, s4, s8, s10].sort());
      // The Work Ability Score's rule: 7 or lower calls for a closer look.
      expect(await found('le7')).toEqual([s0, s4, s7].sort());
      expect(await found('lt7')).toEqual([s0, s4].sort());
      expect(await found('ge7.5')).toEqual([s8, s10].sort());
      expect(await found('gt7')).toEqual([s8, s10].sort());
      expect(await found('sa8')).toEqual([s10]);
      expect(await found('eb4')).toEqual([s0]);
      expect(await found('ap10')).toEqual([s10]);
      expect(await found('ap0')).toEqual([s0]);
      expect(await found('-1,4,ge10')).toEqual([s4, s10].sort());
      expect(await found('true', 'value-integer:missing')).toEqual([none]);
      // Sorted by the value: smallest (or largest) first, resources without one last.
      const sorted = async (sort: string) =>
        (await store.search('Observation', { subject: subject.reference, _sort: sort })).resources.map(
          (r) => r.id,
        );
      expect(await sorted('value-integer')).toEqual([s0, s4, s7, s8, s10, none]);
      expect(await sorted('-value-integer')).toEqual([s10, s8, s7, s4, s0, none]);
      // Several keys: the next breaks the previous one's ties (R4 search.html, _sort).
      await afterInstant((await store.read('Observation', s7)).meta?.lastUpdated as string);
      const tied = await score(7);
      expect(await sorted('value-integer,-_lastUpdated')).toEqual([s0, s4, tied, s7, s8, s10, none]);
      expect(await sorted('value-integer,_lastUpdated')).toEqual([s0, s4, s7, tied, s8, s10, none]);
      expect(await found('7')).toEqual([s7, tied].sort());
      // Paged by the cursor each page hands out, to the end, in the same order.
      const paged: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.search('Observation', {
          subject: subject.reference,
          _sort: 'value-integer,-_lastUpdated',
          _count: '3',
          ...(cursor ? { _cursor: cursor } : {}),
        });
        paged.push(...page.resources.map((r) => r.id as string));
        cursor = page.nextCursor;
      } while (cursor);
      expect(paged).toEqual([s0, s4, tied, s7, s8, s10, none]);
      await store.delete('Observation', tied);
      // An update replaces the value's row; a deleted resource has none.
      const before = await store.read<Observation>('Observation', s8);
      await store.update({ ...before, valueInteger: 3 }, { ifMatch: '1' });
      await store.delete('Observation', s10);
      expect(await found('gt7')).toEqual([]);
      expect(await found('le3')).toEqual([s0, s8].sort());
      const rows = await store.query<{ value: string }>(
        `SELECT value::text AS value FROM search_number WHERE resource_type = 'Observation' AND id = ANY($1::text[]) ORDER BY value`,
        [[s8, s10]],
      );
      expect(rows.map((r) => r.value)).toEqual(['3']);
      for (const [value, diagnostics] of [
        ['7a', "Invalid value for 'value-integer': not a number"],
        ['07', "Invalid value for 'value-integer': not a number"],
        ['1e999', "Invalid value for 'value-integer': exponent out of range"],
        [
          'xx7',
          "Invalid value for 'value-integer': unknown prefix (allowed: eq, ne, gt, lt, ge, le, sa, eb, ap)",
        ],
      ])
        await refusedSearch(store, 'Observation', 'value-integer', value, diagnostics);
      await refusedSearch(
        store,
        'Observation',
        'value-integer:not',
        '7',
        "Unsupported modifier ':not' on search parameter 'value-integer'",
      );
    });

    it('indexes token texts of any length: exact matches stay exact, nothing fails on write', async () => {
      const store = getStore();
      // Random, so that no compression makes them fit a btree entry; two share their first 200 characters.
      const text = (n: number) => Array.from({ length: n }, () => randomUUID()).join('');
      const head = text(6);
      const [a, b] = [`${head}${text(250)}`, `${head}${text(250)}`];
      const system = `urn:x:${text(120)}`;
      const code = text(100);
      const created = await store.create(
        observation({
          identifier: [{ system, value: a }],
          code: { coding: [{ system: LOINC, code }] },
          subject: { reference: `Patient/${randomUUID()}`, display: text(10) },
          derivedFrom: [{ reference: `#${text(200)}` }],
        }),
      );
      const id = created.resource.id;
      expect(ids((await store.search('Observation', { identifier: `${system}|${a}` })).resources)).toEqual([
        id,
      ]);
      expect(ids((await store.search('Observation', { identifier: a })).resources)).toEqual([id]);
      expect((await store.search('Observation', { identifier: `${system}|${b}` })).resources).toEqual([]);
      expect(ids((await store.search('Observation', { code: `${LOINC}|${code}` })).resources)).toEqual([id]);
      const again = await store.create(observation({ identifier: [{ system, value: a }] }), {
        ifNoneExist: `identifier=${encodeURIComponent(system)}|${encodeURIComponent(a)}`,
      });
      expect([again.created, again.resource.id]).toEqual([false, id]);
      const other = await store.create(observation({ identifier: [{ system, value: b }] }), {
        ifNoneExist: `identifier=${encodeURIComponent(system)}|${encodeURIComponent(b)}`,
      });
      expect(other.created).toBe(true);
    });

    const patient = randomUUID();
    let o1: Observation;
    let o2: Observation;
    let o3: Observation;
    let createdAfter: string;

    it('indexes resources on write (setup for the cases below)', async () => {
      const store = getStore();
      createdAfter = new Date(Date.now() - 1).toISOString();
      o1 = (
        await store.create(
          observation({
            subject: { reference: `Patient/${patient}` },
            category: [
              {
                coding: [
                  { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'survey' },
                ],
              },
            ],
          }),
        )
      ).resource;
      o2 = (
        await store.create(
          observation({
            subject: { reference: `Patient/${patient}` },
            status: 'preliminary',
            code: { coding: [{ system: 'http://x', code: 'abc' }] },
            effectiveDateTime: undefined,
            effectivePeriod: { start: '2024-06-01', end: '2024-06-30' },
          }),
        )
      ).resource;
      o3 = (
        await store.create(
          observation({
            subject: { reference: `Patient/${patient}` },
            status: 'amended',
            effectiveDateTime: '2023-12',
          }),
        )
      ).resource;
      expect((await store.search('Observation', { patient })).resources).toHaveLength(3);
    });

    const cases: Array<[string, Record<string, string | string[]>, () => Observation[]]> = [
      ['patient=Patient/id', { patient: `Patient/${patient}` }, () => [o1, o2, o3]],
      ['subject=Patient/id', { subject: `Patient/${patient}` }, () => [o1, o2, o3]],
      ['subject=id', { subject: patient }, () => [o1, o2, o3]],
      ['subject:Patient=id', { 'subject:Patient': patient }, () => [o1, o2, o3]],
      ['patient=Group/id finds nothing', { patient: `Group/${patient}` }, () => []],
      ['code=system|code', { patient, code: `${LOINC}|89575-4` }, () => [o1, o3]],
      ['code=code', { patient, code: '89575-4' }, () => [o1, o3]],
      ['code=|code (no system)', { patient, code: '|89575-4' }, () => []],
      ['code=system|', { patient, code: 'http://x|' }, () => [o2]],
      ['status=a,b (OR)', { patient, status: 'final,preliminary' }, () => [o1, o2]],
      [
        'code=s1|a,s1|b,s2|c (OR, values grouped by system)',
        { patient, code: `${LOINC}|89575-4,${LOINC}|0000-0,http://x|abc` },
        () => [o1, o2, o3],
      ],
      [
        'code=s1|a,s1|b (one system, no match for b)',
        { patient, code: `${LOINC}|0000-0,${LOINC}|89575-4` },
        () => [o1, o3],
      ],
      ['code=a,b (OR, no systems)', { patient, code: '89575-4,abc' }, () => [o1, o2, o3]],
      ['code=system|,code (OR)', { patient, code: 'http://x|,89575-4' }, () => [o1, o2, o3]],
      [
        'patient=Patient/id,Patient/other (OR)',
        { patient: `Patient/nobody,Patient/${patient}` },
        () => [o1, o2, o3],
      ],
      ['category', { patient, category: 'survey' }, () => [o1]],
      ['date=2024-05 (partial)', { patient, date: '2024-05' }, () => [o1]],
      ['date=eq2024-06 (period inside)', { patient, date: 'eq2024-06' }, () => [o2]],
      ['date=ge2024-06-15', { patient, date: 'ge2024-06-15' }, () => [o2]],
      ['date=gt2024-05-03', { patient, date: 'gt2024-05-03' }, () => [o2]],
      ['date=lt2024', { patient, date: 'lt2024' }, () => [o3]],
      ['date=le2023-12-31', { patient, date: 'le2023-12-31' }, () => [o3]],
      ['date=sa2024-01-01', { patient, date: 'sa2024-01-01' }, () => [o1, o2]],
      ['date=ne2024-05', { patient, date: 'ne2024-05' }, () => [o2, o3]],
      ['date AND date', { patient, date: ['ge2024-01', 'lt2024-06'] }, () => [o1]],
      ['date with time zone', { patient, date: 'eq2024-05-03T12:00:00+02:00' }, () => [o1]],
    ];
    for (const [name, params, expected] of cases) {
      it(name, async () => {
        const found = await getStore().search('Observation', params);
        expect(ids(found.resources)).toEqual(ids(expected()));
      });
    }

    it('_id, identifier and _lastUpdated', async () => {
      const store = getStore();
      expect(ids((await store.search('Observation', { _id: `${o1.id},${o2.id}` })).resources)).toEqual(
        ids([o1, o2]),
      );
      const ident = o2.identifier?.[0];
      expect(
        ids(
          (await store.search('Observation', { identifier: `${ident?.system}|${ident?.value}` })).resources,
        ),
      ).toEqual(ids([o2]));
      expect(
        ids((await store.search('Observation', { patient, _lastUpdated: `gt${createdAfter}` })).resources),
      ).toEqual(ids([o1, o2, o3]));
      expect(
        (await store.search('Observation', { patient, _lastUpdated: `lt${createdAfter}` })).resources,
      ).toEqual([]);
      const exact = await store.search('Observation', {
        patient,
        _lastUpdated: o1.meta?.lastUpdated as string,
      });
      expect(exact.resources.map((r) => r.id)).toContain(o1.id);
      for (const r of exact.resources) expect(r.meta?.lastUpdated).toBe(o1.meta?.lastUpdated);
      const day = createdAfter.slice(0, 10);
      expect(
        (await store.search('Observation', { patient, _lastUpdated: `ge${day}` })).resources,
      ).toHaveLength(3);
      expect(
        (await store.search('Observation', { patient, _lastUpdated: `ap${day}` })).resources,
      ).toHaveLength(3);
      expect(
        (await store.search('Observation', { patient, _lastUpdated: 'ap2000-01-01' })).resources,
      ).toEqual([]);
    });

    it('an identifier holding the separators (| , $ \\) is found by its escaped form, and only by it', async () => {
      const store = getStore();
      const value = 'a|b,c$d\\';
      const { resource: held } = await store.create(
        observation({ identifier: [{ system: 'urn:x:esc', value }] }),
      );
      const found = await store.search('Observation', { identifier: `urn:x:esc|${escapeValue(value)}` });
      expect(ids(found.resources)).toEqual(ids([held]));
      expect(escapeValue(value)).toBe('a\\|b\\,c\\$d\\\\');
      const unescapedComma = await store.search('Observation', { identifier: 'urn:x:esc|a\\|b,c$d\\\\' });
      expect(unescapedComma.resources).toEqual([]);
    });

    it('_total=accurate, _count, nextCursor and _sort', async () => {
      const store = getStore();
      // The order is _lastUpdated, then id: two creates in one millisecond are ordered by their ids.
      const key = (r: Resource) => `${r.meta?.lastUpdated} ${r.id}`;
      const [first, second, third] = [o1, o2, o3].sort((a, b) => (key(a) < key(b) ? -1 : 1));
      const page = await store.search('Observation', { patient, _total: 'accurate', _count: '2' });
      expect(page.total).toBe(3);
      expect(page.count).toBe(2);
      expect(page.resources.map((r) => r.id)).toEqual([first.id, second.id]);
      expect(page.nextCursor).toBeTypeOf('string');
      const rest = await store.search('Observation', {
        patient,
        _count: '2',
        _cursor: page.nextCursor as string,
      });
      expect(rest.resources.map((r) => r.id)).toEqual([third.id]);
      expect(rest.nextCursor).toBeUndefined();
      expect(
        (await store.search('Observation', { patient, _offset: '1', _count: '1' })).resources[0].id,
      ).toBe(second.id);
      const desc = await store.search('Observation', { patient, _sort: '-_lastUpdated' });
      expect(desc.resources.map((r) => r.id)).toEqual([third.id, second.id, first.id]);
      // Every match on the first page: the total is known without asking.
      expect(desc.total).toBe(3);
      const firstOfTwo = await store.search('Observation', { patient, _count: '2' });
      expect(firstOfTwo.total).toBeUndefined(); // more pages: only _total=accurate counts them
      expect((await store.search('Observation', { patient })).count).toBe(20);
      expect((await store.search('Observation', { patient, _count: '5000' })).count).toBe(1000);
      const zero = await store.search('Observation', { patient, _count: '0', _total: 'accurate' });
      expect(zero.resources).toEqual([]);
      expect(zero.total).toBe(3);
      // _count=0 alone asks for the count (there is nothing else to answer with).
      expect((await store.search('Observation', { patient, _count: '0' })).total).toBe(3);
    });

    it('a reference by absolute URL is a Patient by its last Type/id (or Reference.type): patient, subject and subject:Patient find it by its full URL', async () => {
      const store = getStore();
      const abs = `https://kanta.example.fi/fhir/Patient/${randomUUID()}`;
      const group = `https://kanta.example.fi/fhir/Group/${randomUUID()}`;
      const uuid = `urn:uuid:${randomUUID()}`;
      const make = async (subject: Observation['subject']) =>
        (await store.create(observation({ subject }))).resource.id as string;
      const plain = await make({ reference: abs });
      const typed = await make({ reference: abs, type: 'Patient' });
      const groupId = await make({ reference: group });
      const byType = await make({ reference: uuid, type: 'Patient' });
      const found = async (params: Record<string, string>) =>
        ids((await store.search('Observation', params)).resources);
      const both = [plain, typed].sort();
      expect(await found({ patient: abs })).toEqual(both);
      expect(await found({ subject: abs })).toEqual(both);
      expect(await found({ 'subject:Patient': abs })).toEqual(both);
      expect(await found({ patient: group })).toEqual([]);
      expect(await found({ subject: group })).toEqual([groupId]);
      const patientRows = await store.query<{ id: string; system: string; value: string }>(
        `SELECT id, system, value FROM search_token WHERE resource_type = 'Observation' AND param = 'patient'
          AND id = ANY($1::text[]) ORDER BY id`,
        [[plain, typed, groupId, byType]],
      );
      expect(patientRows).toEqual(
        [
          { id: plain, system: '', value: abs },
          { id: typed, system: '', value: abs },
          { id: byType, system: '', value: uuid },
        ].sort((a, b) => (a.id < b.id ? -1 : 1)),
      );
    });

    it('a Timing is searched by the outer limits of its events and repeat.boundsPeriod (R4 search.html)', async () => {
      const store = getStore();
      const subject = { reference: `Patient/${randomUUID()}` };
      const make = async (effectiveTiming: NonNullable<Observation['effectiveTiming']>) =>
        (await store.create(observation({ subject, effectiveDateTime: undefined, effectiveTiming }))).resource
          .id as string;
      const events = await make({ event: ['2024-05-03T10:00:00Z', '2024-05-10T10:00:00Z'] });
      const bounded = await make({
        event: ['2024-07-05'],
        repeat: {
          boundsPeriod: { start: '2024-01-01', end: '2024-06-30' },
          frequency: 1,
          period: 2,
          periodUnit: 'd',
        },
      });
      const open = await make({
        repeat: { boundsPeriod: { start: '2025-02-01' }, frequency: 1, period: 1, periodUnit: 'wk' },
      });
      const schedule = await make({ repeat: { frequency: 3, period: 1, periodUnit: 'd' } });
      const found = async (date: string) =>
        ids((await store.search('Observation', { subject: subject.reference, date })).resources);
      expect(await found('2024-05')).toEqual([events]);
      expect(await found('2024')).toEqual([bounded, events].sort());
      expect(await found('2024-05-07')).toEqual([]);
      expect(await found('ge2024-05-01')).toEqual([bounded, events, open].sort());
      expect(await found('lt2024-01-02')).toEqual([bounded]);
      expect(await found('gt2024-07-05')).toEqual([open]);
      expect(await found('ge2024-07-05')).toEqual([bounded, open].sort());
      expect(await found('gt2030-01-01')).toEqual([open]);
      expect(
        ids(
          (await store.search('Observation', { subject: subject.reference, 'date:missing': 'true' }))
            .resources,
        ),
      ).toEqual([schedule]);
    });

    it('searches other resource types by their own paths', async () => {
      const store = getStore();
      const pid = randomUUID();
      const consent: Consent = {
        resourceType: 'Consent',
        status: 'active',
        scope: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }],
        },
        category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
        patient: { reference: `Patient/${pid}` },
        dateTime: '2024-02-01T09:00:00+02:00',
      };
      const plan: CarePlan = {
        resourceType: 'CarePlan',
        status: 'active',
        intent: 'plan',
        subject: { reference: `Patient/${pid}` },
        period: { start: '2024-01-01' },
      };
      const person: Patient = {
        resourceType: 'Patient',
        identifier: [{ system: 'urn:oid:1.2.246.21', value: `${pid}` }],
      };
      const c = (await store.create(consent)).resource;
      const p = (await store.create(plan)).resource;
      const pt = (await store.create(person)).resource;
      expect(ids((await store.search('Consent', { patient: pid, date: '2024-02-01' })).resources)).toEqual([
        c.id,
      ]);
      expect(
        ids(
          (await store.search('Consent', { patient: pid, category: 'http://loinc.org|59284-0' })).resources,
        ),
      ).toEqual([c.id]);
      // ap: within 10 % of the gap between now and the date (here years, so weeks around it).
      expect(ids((await store.search('Consent', { patient: pid, date: 'ap2024-01-20' })).resources)).toEqual([
        c.id,
      ]);
      expect(ids((await store.search('Consent', { patient: pid, date: 'ap2020-01-01' })).resources)).toEqual(
        [],
      );
      // An open-ended period matches any later date.
      expect(
        ids((await store.search('CarePlan', { subject: `Patient/${pid}`, date: 'ge2030-01-01' })).resources),
      ).toEqual([p.id]);
      expect(
        ids((await store.search('Patient', { identifier: `urn:oid:1.2.246.21|${pid}` })).resources),
      ).toEqual([pt.id]);
      await expectFhirError(
        store.search('Patient', { patient: pid }),
        400,
        `Unknown search parameter 'patient' for Patient`,
        'patient',
      );
    });

    it('unknown parameters: 400 with not-supported, or ignored when lenient', async () => {
      const store = getStore();
      const err = await expectFhirError(
        store.search('Observation', { patient, foo: 'bar' }),
        400,
        `Unknown search parameter 'foo' for Observation`,
        'foo',
      );
      expect(err.outcome.issue?.[0].code).toBe('not-supported');
      const lenient = await store.search('Observation', { patient, foo: 'bar' }, { lenient: true });
      expect(lenient.ignored).toEqual(['foo']);
      expect(lenient.resources).toHaveLength(3);
    });

    it('lenient ignores unknown chains, _has and unsupported modifiers as it does unknown names (strict: 400 not-supported naming each); a bad value stays a 400', async () => {
      const store = getStore();
      const unsupported: Array<[string, string]> = [
        [
          'foo.bar',
          "Chained parameter 'foo.bar': 'foo' is not an indexed reference parameter of Observation",
        ],
        [
          'patient.foo',
          "Chained parameter 'patient.foo': 'foo' is not an indexed parameter of Patient (one level of chaining)",
        ],
        [
          'patient.organization.name',
          "Chained parameter 'patient.organization.name': 'organization.name' is not an indexed parameter of Patient (one level of chaining)",
        ],
        ['code:text', "Unsupported modifier ':text' on search parameter 'code'"],
        ['patient.identifier:text', "Unsupported modifier ':text' on search parameter 'patient.identifier'"],
        ['_id:exact', "Unsupported modifier ':exact' on search parameter '_id'"],
        ['_lastUpdated:not', "Unsupported modifier ':not' on search parameter '_lastUpdated'"],
        [
          '_has:Foo:bar:baz',
          "Reverse chain '_has:Foo:bar:baz': write _has:Type:param:parameter, where param is an indexed reference parameter of Type that can point at Observation",
        ],
        [
          '_has:Observation:based-on:code',
          "Reverse chain '_has:Observation:based-on:code': write _has:Type:param:parameter, where param is an indexed reference parameter of Type that can point at Observation",
        ],
      ];
      for (const [key, diagnostics] of unsupported) {
        const err = await expectFhirError(
          store.search('Observation', { patient, [key]: 'x' }),
          400,
          diagnostics,
          key,
        );
        expect([key, err.outcome.issue?.[0].code]).toEqual([key, 'not-supported']);
      }
      const lenient = await store.search(
        'Observation',
        { patient, ...Object.fromEntries(unsupported.map(([key]) => [key, 'x'])), foo: 'bar' },
        { lenient: true },
      );
      expect(lenient.ignored).toEqual([...unsupported.map(([key]) => key), 'foo']);
      expect(lenient.resources).toHaveLength(3);
      const inner = '_has:Observation:subject:foo';
      const refused = await expectFhirError(
        store.search('Patient', { [inner]: 'x', _id: 'none' }),
        400,
        "Reverse chain '_has:Observation:subject:foo': 'foo' is not an indexed parameter of Observation (one level of _has)",
        inner,
      );
      expect(refused.outcome.issue?.[0].code).toBe('not-supported');
      expect(
        (await store.search('Patient', { [inner]: 'x', _id: 'none' }, { lenient: true })).ignored,
      ).toEqual([inner]);
      const sort = await expectFhirError(
        store.search('Observation', { patient, _sort: 'status' }),
        400,
        'Unsupported _sort (allowed: _lastUpdated, date, value-integer, each with - for descending, comma-separated)',
        '_sort',
      );
      expect(sort.outcome.issue?.[0].code).toBe('not-supported');
      const ignoredSort = await store.search('Observation', { patient, _sort: 'status' }, { lenient: true });
      expect(ignoredSort.ignored).toEqual(['_sort']);
      // Supported, with a value that is not: refused however lenient.
      for (const [key, value, diagnostics] of [
        [
          'patient.birthdate',
          'xx2024',
          "Invalid value for 'patient.birthdate': unknown prefix (allowed: eq, ne, gt, lt, ge, le, sa, eb, ap)",
        ],
        ['code:missing', 'maybe', "Invalid value for 'code:missing': :missing takes true or false"],
        ['date', '2024-13-01', "Invalid value for 'date': not a valid FHIR date/dateTime"],
      ] as const)
        await expectFhirError(
          store.search('Observation', { patient, [key]: value }, { lenient: true }),
          400,
          diagnostics,
          key,
        );
    });

    const bad: Array<[Record<string, string>, string, string]> = [
      [
        { date: 'xx2024' },
        'date',
        `Invalid value for 'date': unknown prefix (allowed: eq, ne, gt, lt, ge, le, sa, eb, ap)`,
      ],
      [{ date: '2024-13-01' }, 'date', `Invalid value for 'date': not a valid FHIR date/dateTime`],
      [{ date: 'ge2024-02-30' }, 'date', `Invalid value for 'date': not a valid FHIR date/dateTime`],
      [
        { _lastUpdated: 'gtyesterday' },
        '_lastUpdated',
        `Invalid value for '_lastUpdated': not a valid FHIR date/dateTime`,
      ],
      [
        { _lastUpdated: 'ab2024' },
        '_lastUpdated',
        `Invalid value for '_lastUpdated': unknown prefix (allowed: eq, ne, gt, lt, ge, le, sa, eb, ap)`,
      ],
      [{ _count: '-1' }, '_count', `Invalid value for '_count': not a non-negative integer`],
      [{ _offset: 'x' }, '_offset', `Invalid value for '_offset': not a non-negative integer`],
      [
        { _sort: 'status' },
        '_sort',
        'Unsupported _sort (allowed: _lastUpdated, date, value-integer, each with - for descending, comma-separated)',
      ],
      [{ _total: 'all' }, '_total', `Invalid value for '_total' (allowed: none, estimate, accurate)`],
      [{ 'code:text': 'x' }, 'code:text', `Unsupported modifier ':text' on search parameter 'code'`],
      [{ status: 'final,' }, 'status', `Invalid value for 'status': empty value`],
      // A '|' in a code is escaped; a second bare one is not read as part of the code.
      [
        { identifier: 'urn:x|a|b' },
        'identifier',
        `Invalid value for 'identifier': more than one '|' (a '|' in a code is written '\\|')`,
      ],
      [
        { 'code:not': 'a|b|c' },
        'code:not',
        `Invalid value for 'code:not': more than one '|' (a '|' in a code is written '\\|')`,
      ],
      // A backslash that ends the value escapes nothing (an escaped one, written twice, is a value).
      [
        { identifier: 'urn:x|a\\' },
        'identifier',
        `Invalid value for 'identifier': a '\\' at the end escapes nothing (a backslash is written '\\\\')`,
      ],
      [
        { 'subject:identifier': 'urn:x|a\\\\\\' },
        'subject:identifier',
        `Invalid value for 'subject:identifier': a '\\' at the end escapes nothing (a backslash is written '\\\\')`,
      ],
      [{ _cursor: 'nope' }, '_cursor', `Invalid value for '_cursor': not a cursor issued by this server`],
      [
        { 'subject:Practitioner': 'x' },
        'subject:Practitioner',
        "Type modifier ':Practitioner' on 'subject' names no type it refers to (allowed: Group, Device, Patient, Location)",
      ],
      // Tampered: the shape of a cursor, with what Date.parse takes but the database does not.
      ...[
        ['1', 'x', 0],
        ['-271821-04-20T00:00:00Z', 'x', 0],
        ['2026-02-30T00:00:00.000Z', 'x', 0],
      ].map((parts): [Record<string, string>, string, string] => [
        { _cursor: Buffer.from(JSON.stringify(parts)).toString('base64url') },
        '_cursor',
        `Invalid value for '_cursor': not a cursor issued by this server`,
      ]),
      // Tampered keyset cursors of a _sort: each value must be what the database gives for its key.
      ...[
        ['value-integer', ['1e5']],
        ['value-integer', ['7; DROP']],
        ['date', ['2026-02-30T00:00:00Z']],
        ['date', ['tomorrow']],
        ['date', [null, null]],
        ['date', []],
        ['date,_lastUpdated', ['infinity', null]],
        ['date,_lastUpdated', [null, 'infinity']],
      ].map(([sort, after]): [Record<string, string>, string, string] => [
        {
          _sort: sort as string,
          _cursor: Buffer.from(JSON.stringify(['k', after, 'x', sort, 0])).toString('base64url'),
        },
        '_cursor',
        `Invalid value for '_cursor': not a cursor issued by this server`,
      ]),
    ];
    for (const [params, expression, message] of bad) {
      it(`400 for ${JSON.stringify(params)}`, async () => {
        await expectFhirError(getStore().search('Observation', params), 400, message, expression);
      });
    }

    it('400 for a value that is not text (e.g. a nested query object)', async () => {
      await expectFhirError(
        getStore().search('Observation', { code: { a: 'b' } as unknown as string }),
        400,
        `Invalid value for 'code': expected text`,
        'code',
      );
    });

    it('a cursor from one _sort is rejected for the other', async () => {
      const store = getStore();
      const page = await store.search('Observation', { patient, _count: '1' });
      await expectFhirError(
        store.search('Observation', {
          patient,
          _count: '1',
          _sort: '-_lastUpdated',
          _cursor: page.nextCursor as string,
        }),
        400,
        `Invalid value for '_cursor': it was issued for a different _sort`,
        '_cursor',
      );
    });

    it('a reference parameter refers only to the types the caller serves (types): a chain infers the one left; another type is a 400 naming the parameter, chained or not', async () => {
      const store = getStore();
      const types = ['Patient', 'Observation', 'Practitioner', 'Organization'];
      const family = `chain${randomUUID().slice(0, 8)}`;
      const p = (await store.create({ resourceType: 'Patient', name: [{ family }] } as Patient)).resource.id;
      const obs = (await store.create(observation({ subject: { reference: `Patient/${p}` } }))).resource.id;
      expect(
        ids((await store.search('Observation', { 'subject.name': family }, { types })).resources),
      ).toEqual([obs]);
      // Access control asks for search permission on the same type the chain looks into.
      expect(chainedTypes('Observation', { 'subject.name': '' }, { types })).toEqual(['Patient']);
      const refusal = "Type modifier ':Group' on 'subject' names no type it refers to (allowed: Patient)";
      for (const [key, value] of [
        ['subject:Group.identifier', 'a|b'],
        ['subject:Group.name', 'x'],
        ['subject:Group', 'x'],
      ])
        await expectFhirError(store.search('Observation', { [key]: value }, { types }), 400, refusal, key);
      await expectFhirError(
        store.search('Observation', { _include: 'Observation:subject:Group' }, { types }),
        400,
        'Invalid _include: Observation.subject does not reference the target type it names',
        '_include',
      );
      // Without the list, every type R4 allows: the target must be named.
      expect(chainedTypes('Observation', { 'subject.name': '' })).toEqual([]);
      await expectFhirError(
        store.search('Observation', { 'subject.name': family }),
        400,
        "Chained parameter 'subject.name': name the target type, e.g. subject:Group.name (allowed: Group, Device, Patient, Location)",
        'subject.name',
      );
    });

    it('a token on a boolean element (active) takes true or false: anything else is a 400 naming the parameter', async () => {
      const store = getStore();
      const family = `bool${randomUUID().slice(0, 8)}`;
      const p = (await store.create({ resourceType: 'Patient', active: true, name: [{ family }] } as Patient))
        .resource.id;
      const found = async (params: Record<string, string>) =>
        ids((await store.search('Patient', { family, ...params })).resources);
      expect(await found({ active: 'true' })).toEqual([p]);
      expect(await found({ active: 'false' })).toEqual([]);
      expect(await found({ active: 'false,true' })).toEqual([p]);
      expect(await found({ 'active:not': 'false' })).toEqual([p]);
      for (const [type, key, value] of [
        ['Patient', 'active', 'yes'],
        ['Patient', 'active', 'TRUE'],
        ['Patient', 'active', '|true'],
        ['Patient', 'active', 'true,1'],
        ['Patient', 'active:not', 'no'],
        ['Organization', 'active', 'yes'],
        ['Observation', 'subject:Patient.active', 'yes'],
      ])
        await expectFhirError(
          store.search(type as string, { [key as string]: value as string }, { lenient: true }),
          400,
          `Invalid value for '${key}': a boolean takes true or false`,
          key,
        );
    });
  });

  describe('saved searches', () => {
    it('keeps criteria under a random key for an hour: another type, an unknown or an expired key finds none; a save purges the expired', async () => {
      const store = getStore();
      const criteria = { _id: 'a,b', 'status:not': ['final', 'amended'], _sort: '-_lastUpdated' };
      const key = await saveSearch(store, 'Observation', criteria);
      expect(key).toMatch(/^[A-Za-z0-9_-]{22}$/);
      // The key is random, never derived from the criteria: the same criteria get another key.
      const again = await saveSearch(store, 'Observation', criteria);
      expect(again).not.toBe(key);
      expect(await loadSavedSearch(store, 'Observation', key)).toEqual(criteria);
      const [ttl] = await store.query<{ s: number }>(
        'SELECT extract(epoch FROM expires_at - now())::float8 AS s FROM search_saved WHERE key = $1',
        [key],
      );
      expect(ttl?.s).toBeGreaterThan(3590);
      expect(ttl?.s).toBeLessThanOrEqual(3600);
      expect(await loadSavedSearch(store, 'Patient', key)).toBeUndefined();
      expect(await loadSavedSearch(store, 'Observation', 'A'.repeat(22))).toBeUndefined();
      expect(await loadSavedSearch(store, 'Observation', 'not a key')).toBeUndefined();
      await store.query(`UPDATE search_saved SET expires_at = now() - interval '1 second' WHERE key = $1`, [
        key,
      ]);
      expect(await loadSavedSearch(store, 'Observation', key)).toBeUndefined();
      await saveSearch(store, 'Observation', { _id: 'c' });
      expect(await store.query('SELECT key FROM search_saved WHERE key = $1', [key])).toEqual([]);
      expect(await loadSavedSearch(store, 'Observation', again)).toEqual(criteria);
    });
  });

  describe('paging stability', () => {
    for (const sort of ['_lastUpdated', '-_lastUpdated']) {
      it(`cursor paging (${sort}) sees every earlier resource exactly once while others are inserted`, async () => {
        const store = getStore();
        const patient = randomUUID();
        const make = () => store.create(observation({ subject: { reference: `Patient/${patient}` } }));
        const originals: string[] = [];
        for (let i = 0; i < 25; i++) originals.push((await make()).resource.id as string);
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.search('Observation', {
            patient,
            _count: '7',
            _sort: sort,
            ...(cursor ? { _cursor: cursor } : {}),
          });
          seen.push(...page.resources.map((r) => r.id as string));
          cursor = page.nextCursor;
          // Inserts between pages land after every existing resource in _lastUpdated order.
          if (pages++ < 3) for (let i = 0; i < 3; i++) await make();
        } while (cursor && pages < 50);
        expect(new Set(seen).size).toBe(seen.length);
        for (const id of originals) expect(seen).toContain(id);
      });
    }

    // A sorted search pages by keyset too: the cursor carries the last match's sort values and id. Ties,
    // resources without a value and open Periods (±infinity) all cross a page boundary of two.
    for (const [sort, first] of [
      ['value-integer', { valueInteger: -100 }],
      ['-value-integer', { valueInteger: 100 }],
      ['date', { effectiveDateTime: '1900-01-01' }],
      ['-date', { effectiveDateTime: '2999-01-01' }],
      ['value-integer,-date', { valueInteger: -100 }],
      ['-value-integer,_lastUpdated', { valueInteger: 100 }],
    ] as Array<[string, Partial<Observation>]>) {
      it(`_sort=${sort} pages by keyset: an insert before the cursor and a delete of a seen match between pages neither repeat nor skip one`, async () => {
        const store = getStore();
        const subject = { reference: `Patient/${randomUUID()}` };
        const make = async (o: Partial<Observation>) =>
          (await store.create(observation({ subject, effectiveDateTime: undefined, ...o }))).resource
            .id as string;
        const originals = [
          { valueInteger: 5, effectiveDateTime: '2024-01-01' },
          { valueInteger: 3, effectivePeriod: { start: '2023-06-01' } },
          { valueInteger: 3, effectiveDateTime: '2024-01-01' },
          {},
          { valueInteger: 3, effectivePeriod: { end: '2022-01-01' } },
          { valueInteger: 8, effectiveDateTime: '2024-01-01T08:00:00Z' },
          { effectiveDateTime: '2025-02-02' },
          { valueInteger: 1 },
          { valueInteger: 3, effectivePeriod: { start: '2023-06-01' } },
          { valueInteger: 5, effectivePeriod: { start: '2021-01-01', end: '2026-01-01' } },
          {},
        ];
        for (const o of originals) await make(o);
        const whole = await store.search('Observation', {
          subject: subject.reference,
          _sort: sort,
          _count: '100',
        });
        const expected = whole.resources.map((r) => r.id as string);
        expect(expected).toHaveLength(originals.length);
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.search('Observation', {
            subject: subject.reference,
            _sort: sort,
            _count: '2',
            ...(cursor ? { _cursor: cursor } : {}),
          });
          seen.push(...page.resources.map((r) => r.id as string));
          cursor = page.nextCursor;
          // After page 1 and 3 a match sorting before the originals comes (an offset would show the
          // page's last match again); after page 2 and 4 a match already seen goes (an offset would
          // skip one not yet seen).
          if (pages < 4 && pages % 2 === 0) await make(first);
          else if (pages < 4) await store.delete('Observation', page.resources[0]?.id as string);
          pages++;
        } while (cursor && pages < 50);
        expect(new Set(seen).size).toBe(seen.length);
        expect(seen.filter((id) => expected.includes(id))).toEqual(expected);
      });
    }
  });

  describe('referrers', () => {
    const goal = (): Resource =>
      ({ resourceType: 'Goal', lifecycleStatus: 'active', description: { text: 'g' } }) as Resource;
    /** A CarePlan that names `goalId` in every way a reference can be written, and some that name nothing here. */
    const plan = (goalId: string, selfId?: string): Resource =>
      ({
        resourceType: 'CarePlan',
        ...(selfId ? { id: selfId } : {}),
        status: 'active',
        intent: 'plan',
        contained: [
          { resourceType: 'Goal', id: 'g1', lifecycleStatus: 'active', description: { text: 'c' } },
        ],
        goal: [{ reference: `Goal/${goalId}` }, { reference: '#g1' }],
        addresses: [{ reference: 'urn:uuid:7d4bd2a1-4c8a-4b39-9c4e-2f4b1d1b2a11' }],
        supportingInfo: [{ reference: `https://elsewhere.example/fhir/Observation/${goalId}/_history/3` }],
        extension: [
          { url: 'https://example.org/x', valueReference: { reference: `Goal/${goalId}/_history/1` } },
        ],
        ...(selfId ? { basedOn: [{ reference: `CarePlan/${selfId}` }] } : {}),
      }) as Resource;

    it('finds a reference in any element (not only patient/subject), never the resource itself', async () => {
      const store = getStore();
      const g = (await store.create(goal())).resource.id as string;
      const p = (await store.create(plan(g))).resource.id as string;
      expect(await store.referrers('Goal', g, ['CarePlan', 'Observation'])).toEqual([`CarePlan/${p}`]);
      expect(await store.referrers('Goal', g, ['Observation'])).toEqual([]);
      const self = `self-${randomUUID()}`;
      await store.create(plan(randomUUID(), self), { keepId: true });
      expect(await store.referrers('CarePlan', self, ['CarePlan'])).toEqual([]);
      await store.delete('CarePlan', p);
      expect(await store.referrers('Goal', g, ['CarePlan'])).toEqual([]);
    });

    it("another server's absolute reference names nothing here, even where its last Type/id is a stored one: no referrer, and searched by its full URL only", async () => {
      const store = getStore();
      const g = (await store.create(goal())).resource.id as string;
      const elsewhere = `https://elsewhere.example/fhir/Goal/${g}`;
      const p = (
        await store.create({
          resourceType: 'CarePlan',
          status: 'active',
          intent: 'plan',
          goal: [{ reference: elsewhere }],
          extension: [
            { url: 'https://example.org/x', valueReference: { reference: `${elsewhere}/_history/2` } },
          ],
        } as Resource)
      ).resource.id as string;
      expect(await store.referrers('Goal', g, ['CarePlan'])).toEqual([]);
      const ids = async (params: Record<string, string>) =>
        (await store.search('CarePlan', params)).resources.map((r) => r.id);
      expect(await ids({ goal: `Goal/${g}` })).toEqual([]);
      expect(await ids({ goal: elsewhere })).toEqual([p]);
      expect(await ids({ goal: `Goal/${g}`, _include: 'CarePlan:goal' })).toEqual([]);
    });

    it('absent: current resources by Type/id, versions by Type/id/_history/v (a deletion is no version)', async () => {
      const store = getStore();
      const g = (await store.create(goal())).resource;
      await store.update({ ...g, lifecycleStatus: 'completed' } as Resource, { ifMatch: '1' });
      const gone = (await store.create(goal())).resource.id as string;
      await store.delete('Goal', gone);
      const refs = [
        `Goal/${g.id}`,
        `Goal/${g.id}/_history/1`,
        `Goal/${g.id}/_history/2`,
        `Goal/${g.id}/_history/3`,
        `Goal/${g.id}/_history/x`,
        `Goal/${gone}`,
        `Goal/${gone}/_history/1`,
        `Goal/${gone}/_history/2`,
      ];
      expect(await store.absent(refs)).toEqual([
        `Goal/${g.id}/_history/3`,
        `Goal/${g.id}/_history/x`,
        `Goal/${gone}`,
        `Goal/${gone}/_history/2`,
      ]);
    });

    it('a database indexed by an earlier release is re-indexed on open: the rows a write builds, once', async () => {
      const store = getStore();
      const g = (await store.create(goal())).resource.id as string;
      const p = (await store.create(plan(g))).resource.id as string;
      const scored = (await store.create(observation({ valueInteger: 6 }))).resource.id as string;
      const rowsOf = async (q: Pick<Store, 'query'>) => [
        ...(await q.query(
          `SELECT param, system, value, last_updated FROM search_token WHERE resource_type = 'CarePlan' AND id = $1
            ORDER BY param, system, value`,
          [p],
        )),
        ...(await q.query(
          `SELECT param, low, high FROM search_date WHERE resource_type = 'CarePlan' AND id = $1 ORDER BY param, low`,
          [p],
        )),
        ...(await q.query(
          `SELECT param, value::text AS value FROM search_number WHERE resource_type = 'Observation' AND id = $1`,
          [scored],
        )),
      ];
      const written = await rowsOf(store);
      expect(written.map((r) => `${r.param} ${r.system} ${r.value}`)).toEqual([
        // Goal/g is held by the goal parameter's row; supportingInfo, no parameter, names another
        // server's Observation: no row says it refers to one here.
        'goal  #g1',
        `goal Goal ${g}`,
        'intent  plan',
        'status  active',
        'value-integer undefined 6',
      ]);
      // Rolled back: the rebuild rewrites the index of every resource in the database.
      await expect(
        store.transaction(async (tx) => {
          await tx.query('DELETE FROM schema_migrations WHERE name = $1', [SEARCH_INDEX_MARKER]);
          await tx.query(`DELETE FROM search_token WHERE resource_type = 'CarePlan' AND id = $1`, [p]);
          await tx.query('DELETE FROM search_number WHERE id = $1', [scored]);
          expect(await rowsOf(tx)).toEqual([]);
          const told: Array<[number, boolean]> = [];
          const indexed = await reindexIfChanged(tx, (n, done) => told.push([n, done]));
          expect(indexed).toBeGreaterThanOrEqual(2);
          expect(told.at(-1)).toEqual([indexed, true]);
          expect(await rowsOf(tx)).toEqual(written);
          expect(await reindexIfChanged(tx)).toBe(0);
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      expect(await rowsOf(store)).toEqual(written);
    });
  });

  describe('transactions and hooks', () => {
    it('rollback leaves nothing: resources, history, index and own rows', async () => {
      const store = getStore();
      await store.migrate('store-test-notes', [
        'CREATE TABLE store_test_notes (id serial PRIMARY KEY, note text NOT NULL)',
      ]);
      const a = observation();
      const note = `note-${randomUUID()}`;
      let createdId = '';
      await expect(
        store.transaction(async (tx) => {
          createdId = (await tx.create(a)).resource.id as string;
          await tx.create(observation({ subject: a.subject }));
          await tx.query('INSERT INTO store_test_notes (note) VALUES ($1)', [note]);
          expect(
            (await tx.search('Observation', { subject: a.subject?.reference as string })).resources,
          ).toHaveLength(2);
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      await expectFhirError(store.read('Observation', createdId), 404, `Observation/${createdId} not found`);
      expect(
        (await store.search('Observation', { subject: a.subject?.reference as string })).resources,
      ).toEqual([]);
      expect(await store.query('SELECT 1 FROM resource_history WHERE id = $1', [createdId])).toEqual([]);
      expect(await store.query('SELECT 1 FROM store_test_notes WHERE note = $1', [note])).toEqual([]);
    });

    it('commits several writes together and returns the callback value', async () => {
      const store = getStore();
      const subject = { reference: `Patient/${randomUUID()}` };
      const n = await store.transaction(async (tx) => {
        await tx.create(observation({ subject }));
        const { resource } = await tx.create(observation({ subject }));
        await tx.transaction((inner) => inner.update({ ...resource, status: 'amended' }, { ifMatch: '1' }));
        return 2;
      });
      expect(n).toBe(2);
      const found = await store.search('Observation', { subject: subject.reference });
      expect(found.resources.map((r) => (r as Observation).status).sort()).toEqual(['amended', 'final']);
    });

    it('afterWrite runs in the same transaction for create, update and delete; a failing hook rolls back', async () => {
      const store = getStore();
      await store.migrate('store-test-outbox', [
        `CREATE TABLE store_test_outbox (
           seq serial PRIMARY KEY, action text NOT NULL, ref text NOT NULL, version text NOT NULL)`,
      ]);
      let fail = false;
      const remove = store.addHooks({
        async afterWrite(tx, change) {
          const { resource } = change;
          await tx.query('INSERT INTO store_test_outbox (action, ref, version) VALUES ($1, $2, $3)', [
            change.action,
            `${resource.resourceType}/${resource.id}`,
            resource.meta?.versionId,
          ]);
          if (fail) throw new Error('outbox down');
        },
      });
      try {
        const { resource } = await store.create(observation());
        const ref = `Observation/${resource.id}`;
        await store.update({ ...resource, status: 'amended' }, { ifMatch: '1' });
        await store.delete('Observation', resource.id as string);
        const rows = await store.query(
          'SELECT action, version FROM store_test_outbox WHERE ref = $1 ORDER BY seq',
          [ref],
        );
        expect(rows).toEqual([
          { action: 'create', version: '1' },
          { action: 'update', version: '2' },
          { action: 'delete', version: '3' },
        ]);
        fail = true;
        const doomed = observation();
        await expect(store.create(doomed)).rejects.toThrow('outbox down');
        const left = await store.search('Observation', {
          identifier: `${ID_SYSTEM}|${doomed.identifier?.[0].value}`,
        });
        expect(left.resources).toEqual([]);
      } finally {
        remove();
      }
      // Removed hooks no longer run.
      const { resource } = await store.create(observation());
      expect(
        await store.query('SELECT 1 FROM store_test_outbox WHERE ref = $1', [`Observation/${resource.id}`]),
      ).toEqual([]);
    });

    it('afterWriteMany, when given, sees every write: a createMany together, single writes as lists of one', async () => {
      const store = getStore();
      const calls: Array<Array<[string, string]>> = [];
      const remove = store.addHooks({
        async afterWriteMany(_tx, changes) {
          calls.push(changes.map((c) => [c.action, c.resource.meta?.versionId ?? '']));
        },
      });
      try {
        const many = await store.createMany([{ resource: observation() }, { resource: observation() }]);
        const { resource } = await store.create(observation());
        await store.update({ ...resource, status: 'amended' }, { ifMatch: '1' });
        await store.delete('Observation', resource.id as string);
        expect(many.every((r) => !(r instanceof Error))).toBe(true);
        expect(calls).toEqual([
          [
            ['create', '1'],
            ['create', '1'],
          ],
          [['create', '1']],
          [['update', '2']],
          [['delete', '3']],
        ]);
      } finally {
        remove();
      }
    });

    it('migrate is idempotent and recorded once', async () => {
      const store = getStore();
      const statements = ['CREATE TABLE store_test_once (x int)'];
      await store.migrate('store-test-once', statements);
      await store.migrate('store-test-once', statements);
      const rows = await store.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM schema_migrations WHERE name = 'store-test-once'`,
      );
      expect(rows[0].n).toBe(1);
    });
  });

  describe('database errors carry no client data', () => {
    // A valid HETU (check character P): what a Patient's identifier would put into a statement.
    const HETU = '010181-931P';
    /** The error as a logger writes it (pino's error serializer copies every own field). */
    const logged = (err: unknown) => JSON.stringify(pino.stdSerializers.err(err as Error));

    it('a failed cast keeps its SQLSTATE; the value, parameters and statement stay out', async () => {
      const err = await getStore()
        .query('SELECT $1::int AS n', [HETU])
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreDatabaseError);
      expect((err as StoreDatabaseError).code).toBe('22P02');
      expect((err as Error).message).toBe('22P02: invalid input syntax for type integer: "…"');
      expect(logged(err)).not.toContain('931P');
      expect(Object.keys(err as object)).not.toEqual(expect.arrayContaining(['params']));
      expect(err).not.toHaveProperty('query');
      expect(err).not.toHaveProperty('cause');
    });

    it('a unique violation in a transaction keeps the constraint name, not the row (detail)', async () => {
      const table = `tyk_err_${randomUUID().replaceAll('-', '')}`;
      const err = await getStore()
        .transaction(async (tx) => {
          await tx.query(`CREATE TEMP TABLE ${table} (hetu text PRIMARY KEY) ON COMMIT DROP`);
          await tx.query(`INSERT INTO ${table} VALUES ($1)`, [HETU]);
          await tx.query(`INSERT INTO ${table} VALUES ($1)`, [HETU]);
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreDatabaseError);
      expect(err).toMatchObject({ code: '23505', constraint: `${table}_pkey`, table });
      expect(err).not.toHaveProperty('detail');
      expect(logged(err)).not.toContain('931P');
    });

    it('errors of our own pass through a transaction unchanged', async () => {
      const ours = FhirError.conflict('ours');
      await expect(
        getStore().transaction(async () => {
          throw ours;
        }),
      ).rejects.toBe(ours);
    });
  });
}
