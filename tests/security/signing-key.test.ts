// The embedded server's signing key when the workers of a pool start together on one PostgreSQL
// database: each loads (or makes) the key at the same moment, and all must sign with the same one,
// or a token from one worker is refused by the next.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECURITY_MIGRATION, SECURITY_STATEMENTS } from '../../src/server/security/index.ts';
import { loadSigningKey } from '../../src/server/security/tokens.ts';
import { type Store, openStore } from '../../src/store/index.ts';
import { dropDatabase, freshDatabase } from '../helpers/databases.ts';

describe('signing key of a pool starting together (PostgreSQL)', () => {
  let url: string;
  const stores: Store[] = [];

  beforeAll(async () => {
    url = await freshDatabase('tyokyky_signing_key');
    for (let i = 0; i < 4; i++) stores.push(await openStore({ databaseUrl: url, poolMax: 2 }));
    await stores[0]?.migrate(SECURITY_MIGRATION, SECURITY_STATEMENTS);
  }, 60_000);
  afterAll(async () => {
    for (const s of stores) await s.close();
    if (url) await dropDatabase(url);
  });

  it('makes one key, and every worker signs with it', async () => {
    const keys = await Promise.all(stores.map((s) => loadSigningKey(s)));
    expect(new Set(keys.map((k) => k.kid)).size).toBe(1);
    const rows = await stores[0]?.query<{ n: number }>('SELECT count(*)::int AS n FROM security_key');
    expect(rows?.[0]?.n).toBe(1);
    // A later start finds it.
    expect((await loadSigningKey(stores[1] as Store)).kid).toBe(keys[0]?.kid);
  });
});
