// `--client-key` of `sync push|pull` (and `serve --remote`) is read by the one reader of a private JWK
// that `clients token|assertion --key` use: the public JWKS given by mistake, a missing file or a key
// jose cannot sign with is exit 2 before a store is opened, never a dead letter on the first push.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { remoteConfigFrom } from '../../src/sync/index.ts';
import { runHere as run } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'tyokyky-remote-key-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const out = join(dir, 'kela');
beforeAll(async () => {
  expect((await run(['clients', 'keygen', '--out', out])).code).toBe(0);
}, 60_000);

const push = (key: string, dataDir: string) => [
  'sync',
  'push',
  '--remote',
  'http://127.0.0.1:9/fhir',
  '--token-url',
  'http://127.0.0.1:9/auth/token',
  '--client-id',
  'kela',
  '--client-key',
  key,
  '--data-dir',
  dataDir,
];

describe('sync push --client-key', () => {
  it('the public JWKS: exit 2 saying so, before anything is opened (no store made)', async () => {
    const dataDir = join(dir, 'store-jwks');
    expect(await run(push(`${out}.jwks.json`, dataDir))).toEqual({
      code: 2,
      out: `tyokyky sync: --client-key: ${out}.jwks.json is not a private JWK (a JWKS, the public keys, was given); pass the .private.jwk.json file keygen wrote\n`,
    });
    expect(existsSync(dataDir)).toBe(false);
  }, 60_000);

  it('a missing file: exit 2 with what the system says, not an errno code', async () => {
    const missing = join(dir, 'nope.json');
    expect(await run(push(missing, join(dir, 'store-missing')))).toEqual({
      code: 2,
      out: `tyokyky sync: --client-key: cannot read ${missing}: no such file or directory\n`,
    });
  }, 60_000);

  it('a private key jose cannot sign with: exit 2 at start naming the file, no store made', async () => {
    const bad = join(dir, 'bad.private.jwk.json');
    writeFileSync(bad, JSON.stringify({ kty: 'XYZ', d: 'AQAB', kid: 'k' }));
    const dataDir = join(dir, 'store-bad');
    const r = await run(push(bad, dataDir));
    expect(r.code).toBe(2);
    expect(r.out).toMatch(
      new RegExp(
        `^tyokyky sync: --client-key: ${bad.replace(/\./g, '\\.')} is not a usable private JWK: .*kty`,
      ),
    );
    expect(r.out).not.toContain('AQAB');
    expect(existsSync(dataDir)).toBe(false);
  }, 60_000);

  it('a key file written with a byte order mark is read as the key', () => {
    const bom = join(dir, 'bom.private.jwk.json');
    writeFileSync(bom, `\uFEFF${readFileSync(`${out}.private.jwk.json`, 'utf8')}`);
    const config = remoteConfigFrom({
      remote: 'http://r.example/fhir',
      tokenUrl: 'http://r.example/token',
      clientId: 'kela',
      clientKey: bom,
    });
    expect(config?.auth?.privateKey?.d).toEqual(expect.any(String));
  });
});

describe('clients token --key', () => {
  it('a key file written with a byte order mark is read as the key', async () => {
    const bom = join(dir, 'bom2.private.jwk.json');
    writeFileSync(bom, `\uFEFF${readFileSync(`${out}.private.jwk.json`, 'utf8')}`);
    const r = await run([
      'clients',
      'assertion',
      'kela',
      '--key',
      bom,
      '--token-url',
      'http://t.example/token',
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  }, 60_000);
});

describe('clients assertion --token-url', () => {
  it('no absolute http(s) URL: exit 2 naming the option, nothing signed', async () => {
    const r = await run([
      'clients',
      'assertion',
      'kela',
      '--key',
      `${out}.private.jwk.json`,
      '--token-url',
      'notaurl',
    ]);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/^tyokyky clients: --token-url must be an absolute http\(s\) URL/);
  });
});
