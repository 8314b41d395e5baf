// A client assertion's jti is kept until the assertion expires by the facade's clock, the clock that
// judged it unexpired: with the database's clock ahead of the facade's, it was dropped at once and
// the same assertion could be replayed for a second access token. On PostgreSQL: PGlite's clock is
// the process's own, which the test sets back.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AssertionError, verifyClientAssertion } from '../../src/server/security/clients.ts';
import { addClient } from '../../src/server/security/index.ts';
import { SECURITY_MIGRATION, SECURITY_STATEMENTS } from '../../src/server/security/schema.ts';
import { type Store, openStore } from '../../src/store/index.ts';
import { dropDatabase, freshDatabase } from '../helpers/databases.ts';
import { assertion, clientKey } from './helpers.ts';

const TOKEN_URL = 'http://127.0.0.1/auth/token';
/** How far the facade's clock runs behind the database's. */
const BEHIND_MS = 10 * 60_000;

let store: Store;
let url: string;

beforeAll(async () => {
  url = await freshDatabase('tyokyky_assertion_replay');
  store = await openStore({ databaseUrl: url, poolMax: 2 });
  await store.migrate(SECURITY_MIGRATION, SECURITY_STATEMENTS);
});

afterAll(async () => {
  await store?.close();
  if (url) await dropDatabase(url);
});

afterEach(() => {
  vi.useRealTimers();
});

describe('a replayed client assertion', () => {
  it('is refused while it is unexpired, whatever the database clock says', async () => {
    const key = await clientKey();
    await addClient(store, { id: 'skewed', scope: 'system/Patient.rs', jwks: key.jwks });
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() - BEHIND_MS);
    const once = await assertion('skewed', key, TOKEN_URL, { expiresIn: '4m' });
    await expect(verifyClientAssertion(store, once, TOKEN_URL)).resolves.toMatchObject({ id: 'skewed' });
    // Another client's token request, in between, clears expired jtis.
    const other = await assertion('skewed', key, TOKEN_URL);
    await verifyClientAssertion(store, other, TOKEN_URL);
    const again = verifyClientAssertion(store, once, TOKEN_URL);
    await expect(again).rejects.toBeInstanceOf(AssertionError);
    await expect(again).rejects.toThrow('client assertion jti was already used');
  });
});
