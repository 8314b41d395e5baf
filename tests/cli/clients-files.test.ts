// `tyokyky clients keygen|token` and the files they write and read: an existing key pair is never
// replaced without --force, a private key is never left readable by others, and a file that cannot be
// read is named with what the system says (not an errno code; a folder keygen cannot write into is
// tests/security/clients-cli.test.ts's case).
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runHere as run } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'tyokyky-clients-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tyokyky clients keygen', () => {
  it('refuses to replace an existing key pair (exit 2 naming the file) and leaves both files as they were', async () => {
    const out = join(dir, 'kela');
    expect((await run(['clients', 'keygen', '--out', out])).code).toBe(0);
    const priv = readFileSync(`${out}.private.jwk.json`, 'utf8');
    const pub = readFileSync(`${out}.jwks.json`, 'utf8');
    expect(await run(['clients', 'keygen', '--out', out])).toEqual({
      code: 2,
      out: `tyokyky clients: ${out}.private.jwk.json exists; pass --force to replace the key pair (a client registered with its public key then needs the new ${out}.jwks.json)\n`,
    });
    expect(readFileSync(`${out}.private.jwk.json`, 'utf8')).toBe(priv);
    expect(readFileSync(`${out}.jwks.json`, 'utf8')).toBe(pub);
  }, 60_000);

  it('refuses when only the public JWKS exists, and writes no private key beside it', async () => {
    const out = join(dir, 'half');
    writeFileSync(`${out}.jwks.json`, '{"keys":[]}\n');
    expect(await run(['clients', 'keygen', '--out', out])).toEqual({
      code: 2,
      out: `tyokyky clients: ${out}.jwks.json exists; pass --force to replace the key pair (a client registered with its public key then needs the new ${out}.jwks.json)\n`,
    });
    expect(() => statSync(`${out}.private.jwk.json`)).toThrow();
    expect(readFileSync(`${out}.jwks.json`, 'utf8')).toBe('{"keys":[]}\n');
  }, 60_000);

  it('--force replaces the pair, and a private key file that was readable by others is made 0600', async () => {
    const out = join(dir, 'forced');
    writeFileSync(`${out}.private.jwk.json`, 'old');
    chmodSync(`${out}.private.jwk.json`, 0o644);
    writeFileSync(`${out}.jwks.json`, 'old');
    expect(await run(['clients', 'keygen', '--out', out, '--force'])).toEqual({
      code: 0,
      out: `wrote ${out}.private.jwk.json and ${out}.jwks.json\n`,
    });
    expect(statSync(`${out}.private.jwk.json`).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(`${out}.private.jwk.json`, 'utf8')).d).toEqual(expect.any(String));
    expect(JSON.parse(readFileSync(`${out}.jwks.json`, 'utf8')).keys).toHaveLength(1);
  }, 60_000);

  it('--force that cannot place the public JWKS changes nothing: the old pair stays, no file is left over', async () => {
    const out = join(dir, 'blocked');
    writeFileSync(`${out}.private.jwk.json`, 'old private');
    // A folder where the JWKS goes: the private key is placed first, then must be put back.
    mkdirSync(`${out}.jwks.json`);
    writeFileSync(join(`${out}.jwks.json`, 'x'), 'x');
    const r = await run(['clients', 'keygen', '--out', out, '--force']);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(new RegExp(`^tyokyky clients: cannot write ${out}\\.jwks\\.json: `));
    expect(readFileSync(`${out}.private.jwk.json`, 'utf8')).toBe('old private');
    expect(
      readdirSync(dir)
        .filter((f) => f.startsWith('blocked'))
        .sort(),
    ).toEqual(['blocked.jwks.json', 'blocked.private.jwk.json']);
  }, 60_000);

  it('--help names --force', async () => {
    const help = (await run(['clients', 'keygen', '--help'])).out.replace(/\s+/g, ' ');
    expect(help).toContain('--force');
  });
});

describe('tyokyky clients token --key', () => {
  it('a key file that does not exist: exit 2, "no such file or directory" as validate and load say', async () => {
    const missing = join(dir, 'nope.json');
    expect(await run(['clients', 'token', 'x', '--key', missing, '--url', 'http://127.0.0.1:9'])).toEqual({
      code: 2,
      out: `tyokyky clients: cannot read ${missing}: no such file or directory\n`,
    });
  }, 60_000);
});
