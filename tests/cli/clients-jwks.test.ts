// `clients add --jwks-file`: every key of the JWKS is imported as a public signature-verification key
// before the client is stored. A JWKS that is no JWKS, or holds a key no assertion could be checked
// with, is exit 2 naming the key (index and kid), never a JavaScript internal error, and no store is made.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHere as run } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'tyokyky-clients-jwks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const key = join(dir, 'kela');
let good: Record<string, unknown>;
beforeAll(async () => {
  expect((await run(['clients', 'keygen', '--out', key])).code).toBe(0);
  good = JSON.parse(readFileSync(`${key}.jwks.json`, 'utf8')).keys[0];
}, 60_000);

async function add(jwksText: string) {
  const file = join(dir, `case-${Math.random().toString(36).slice(2)}.jwks.json`);
  writeFileSync(file, jwksText);
  const data = join(dir, `store-${Math.random().toString(36).slice(2)}`);
  const r = await run([
    'clients',
    'add',
    'c1',
    '--scope',
    'system/*.rs',
    '--jwks-file',
    file,
    '--data-dir',
    data,
  ]);
  return { ...r, made: existsSync(data) };
}

describe('clients add --jwks-file', () => {
  it.each([
    ['null', 'the JWKS must be a JSON object with a "keys" array'],
    ['[]', 'the JWKS must be a JSON object with a "keys" array'],
    ['{"keys":"abc"}', 'the JWKS must be a JSON object with a "keys" array'],
    ['{"keys":[null]}', 'key 0 of the JWKS is not a JSON object'],
    ['{"keys":[1]}', 'key 0 of the JWKS is not a JSON object'],
  ])(
    '%s: exit 2 saying what is wrong',
    async (text, message) => {
      expect(await add(text)).toEqual({ code: 2, out: `tyokyky clients: ${message}\n`, made: false });
    },
    60_000,
  );

  it.each([
    ['EC with x "bad"', { x: 'bad' }],
    ['no kty', { kty: undefined }],
    [
      'RSA whose n is "AQAB"',
      { kty: 'RSA', n: 'AQAB', e: 'AQAB', crv: undefined, x: undefined, y: undefined, alg: undefined },
    ],
    ['an encryption key', { use: 'enc' }],
    ['an algorithm assertions are not signed with', { alg: 'HS256' }],
  ])(
    'a key that cannot verify an assertion (%s): exit 2 naming its index and kid, no store made',
    async (_, change) => {
      const broken = { ...good, kid: 'k-broken', ...change };
      const r = await add(JSON.stringify({ keys: [good, broken] }));
      expect(r.code).toBe(2);
      expect(r.out).toMatch(
        /^tyokyky clients: key 1 \(kid "k-broken"\) of the JWKS is not a usable public signature key: .+\n$/,
      );
      expect(r.made).toBe(false);
    },
    60_000,
  );

  it('a JWKS written with a byte order mark is read as the keys', async () => {
    const r = await add(`\uFEFF${JSON.stringify({ keys: [good] })}`);
    expect(r).toEqual({ code: 0, out: 'client c1 registered\n', made: true });
  }, 60_000);
});
