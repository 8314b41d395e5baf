import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/index.ts';
import { runChildren } from './children.ts';
import { ID_SYSTEM, observation } from './helpers.ts';
import { storeSuite } from './suite.ts';

const server = (process.env.TYOKYKY_PG_URL ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '');
const DB = 'tyokyky_store_test';
const databaseUrl = `${server}/${DB}`;
let store: Store;

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: `${server}/postgres` });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  await admin(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${DB}`);
  store = await openStore({ databaseUrl });
});

afterAll(async () => {
  await store?.close();
  await admin(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
});

describe('store on PostgreSQL', () => {
  it('reports its engine', () => {
    expect(store.engine).toBe('postgres');
  });

  storeSuite(() => store);

  describe('two processes on one database', () => {
    it('concurrent conditional creates with the same identifier → one resource', async () => {
      const obs = observation();
      const value = obs.identifier?.[0].value as string;
      const results = await runChildren(2, {
        op: 'create',
        databaseUrl,
        resource: obs,
        ifNoneExist: `identifier=${ID_SYSTEM}|${value}`,
        times: 5,
      });
      const all = results.flat();
      expect(all).toHaveLength(10);
      expect(all.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(all.map((r) => r.id)).size).toBe(1);
      const found = await store.search('Observation', {
        identifier: `${ID_SYSTEM}|${value}`,
        _total: 'accurate',
      });
      expect(found.total).toBe(1);
    });

    it('concurrent updates with the same If-Match → exactly one wins, the other gets 412', async () => {
      const { resource } = await store.create(observation());
      const results = await runChildren(2, {
        op: 'update',
        databaseUrl,
        resource,
        ifMatch: 'W/"1"',
        times: 1,
      });
      const all = results.flat();
      expect(all.filter((r) => r.status === 200)).toHaveLength(1);
      expect(all.filter((r) => r.status === 412)).toHaveLength(1);
      const history = await store.history('Observation', resource.id as string);
      expect(history.map((h) => h.versionId)).toEqual(['2', '1']);
    });
  });
});
