// `tyokyky clients …` as an operator runs it, on a real PGlite directory, and a token from a real facade
// (--auth embedded, listening on a port of this process) with the registered key. The subcommands run
// in this process (runHere); that they answer as the real process does is tests/shared/cli-here.test.ts's
// job, and `serve --auth embedded` as a process is tests/security/sync-auth.test.ts's.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runHere as run } from '../helpers/cli.ts';
import { type FacadeHere, startFacadeHere } from '../helpers/facade.ts';

const dir = mkdtempSync(join(tmpdir(), 'tyokyky-clients-'));
const data = join(dir, 'data');
const key = join(dir, 'kela');
let server: FacadeHere | undefined;
/** `tyokyky clients token <id>` with the key keygen wrote, against `url`. */
const tokenFor = (id: string, url: string) =>
  run(['clients', 'token', id, '--key', `${key}.private.jwk.json`, '--url', url]);

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('tyokyky clients', () => {
  it('keygen writes a private JWK only its owner can read and a public JWKS', async () => {
    const r = await run(['clients', 'keygen', '--out', key]);
    expect(r.code).toBe(0);
    expect(statSync(`${key}.private.jwk.json`).mode & 0o777).toBe(0o600);
    const jwks = JSON.parse(readFileSync(`${key}.jwks.json`, 'utf8'));
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-384', alg: 'ES384', use: 'sig' });
    expect(jwks.keys[0].d).toBeUndefined();
  }, 60_000);

  it('add, list and remove a client; removing it again is exit 1 naming it', async () => {
    const add = ['clients', 'add', 'kela-test', '--scope', 'system/Observation.rs', '--party', 'kela'];
    expect((await run([...add, '--jwks-file', `${key}.jwks.json`, '--data-dir', data])).code).toBe(0);
    const list = await run(['clients', 'list', '--data-dir', data]);
    expect(list.code).toBe(0);
    expect(list.out).toContain('kela-test\tkela\tsystem/Observation.rs\t1 key(s)');
    expect((await run(['clients', 'remove', 'kela-test', '--data-dir', data])).code).toBe(0);
    // The command line was fine; there is no such client: a failure (1), as `sync retry 42` is.
    expect(await run(['clients', 'remove', 'kela-test', '--data-dir', data])).toEqual({
      code: 1,
      out: 'tyokyky clients: no client kela-test\n',
    });
    const none = await run(['clients', 'list', '--data-dir', data]);
    expect(none.code).toBe(0);
    expect(none.out.trim()).toBe(
      'no clients registered; add one with: tyokyky clients add <id> --scope <scopes> --jwks-file <file> (or --jwks-url <url>)',
    );
  }, 120_000);

  it('list and remove where there is no store: exit 2 naming --data-dir, and no store is made', async () => {
    const typo = join(dir, 'dta');
    const refusal = `tyokyky clients: no store in ${typo} (no PGlite database there); pass --data-dir or --database-url\n`;
    expect(await run(['clients', 'list', '--data-dir', typo])).toEqual({ code: 2, out: refusal });
    expect(await run(['clients', 'remove', 'kela-test', '--data-dir', typo])).toEqual({
      code: 2,
      out: refusal,
    });
    expect(existsSync(typo)).toBe(false);
    // A new deployment registers its first client before anything else has made the store.
    const fresh = join(dir, 'new-deployment');
    const add = ['clients', 'add', 'first', '--scope', 'system/*.rs', '--jwks-file', `${key}.jwks.json`];
    expect(await run([...add, '--data-dir', fresh])).toEqual({ code: 0, out: 'client first registered\n' });
    expect((await run(['clients', 'list', '--data-dir', fresh])).out).toContain('first\t-\tsystem/*.rs');
  }, 120_000);

  it.each([
    [
      ['--scope', 'system/Observaton.rs'],
      'scope "system/Observaton.rs" names Observaton, a type this server does not hold',
    ],
    [
      ['--scope', 'system/*.rs patient/*.read'],
      'scope "patient/*.read" grants nothing here: use system/<Type or *>.<cruds> (SMART v2), .read/.write (v1) or tyokyky/turvakielto.read or tyokyky/sync.operate',
    ],
    [
      ['--scope', 'system/*.rs system/AuditEvent.rs', '--party', 'kela'],
      'scope "system/AuditEvent.rs": sec-consent-8: a receiving party (kela) cannot read the audit log: its events name every client and every search',
    ],
    [
      ['--scope', 'system/*.rs', '--party', 'kelaa'],
      'party "kelaa" is not a consent party (kela, te-services, kuntakokeilu, typ, unemployed-health-check, other-health-care, social-services, occupational-health, pension-institution)',
    ],
  ])(
    '%j is refused with exit 2 naming what is wrong; nothing is registered',
    async (args, message) => {
      const r = await run([
        'clients',
        'add',
        'typo',
        ...args,
        '--jwks-file',
        `${key}.jwks.json`,
        '--data-dir',
        data,
      ]);
      expect(r).toEqual({ code: 2, out: `tyokyky clients: ${message}\n` });
      expect((await run(['clients', 'list', '--data-dir', data])).out).not.toContain('typo');
    },
    60_000,
  );

  it('a refused add leaves nothing behind: no store is made where there was none', async () => {
    const noKeys = join(dir, 'no-keys.jwks.json');
    writeFileSync(noKeys, '{"keys":[]}');
    const jwks = ['--jwks-file', `${key}.jwks.json`];
    for (const [args, message] of [
      [
        ['--scope', 'bogus', ...jwks],
        'scope "bogus" grants nothing here: use system/<Type or *>.<cruds> (SMART v2), .read/.write (v1) or tyokyky/turvakielto.read or tyokyky/sync.operate',
      ],
      [['--scope', 'system/*.rs'], 'give exactly one of a JWKS (file) or a JWKS URL'],
      [['--scope', 'system/*.rs', '--party', 'kelaa', ...jwks], 'party "kelaa" is not a consent party'],
      [['--scope', 'system/*.rs', '--jwks-file', noKeys], 'the JWKS has no keys'],
      [['--scope', 'system/*.rs', '--jwks-url', 'not a url'], 'the JWKS URL must be an absolute http(s) URL'],
      [
        ['--scope', 'system/*.rs', '--jwks-url', 'ftp://x/jwks'],
        'the JWKS URL must be an absolute http(s) URL',
      ],
      [
        ['--scope', 'system/*.rs', '--jwks-url', 'https://user:pw@keys.example/jwks'],
        'the JWKS URL must not carry credentials (user:password@)',
      ],
    ] as const) {
      const fresh = join(dir, 'refused-deployment');
      const r = await run(['clients', 'add', 'a', ...args, '--data-dir', fresh]);
      expect(r.code).toBe(2);
      expect(r.out).toContain(`tyokyky clients: ${message}`);
      expect(existsSync(fresh), `${args.join(' ')} made a store`).toBe(false);
    }
  }, 60_000);

  it('a client id with characters outside [A-Za-z0-9._:-] is refused with exit 2', async () => {
    const r = await run(['clients', 'add', 'bad id', '--scope', 'system/*.rs', '--data-dir', data]);
    expect(r.code).toBe(2);
    expect(r.out).not.toContain('registered');
  }, 60_000);

  it('a JWKS with a key that names no kid is refused with exit 2: an assertion must name its key', async () => {
    const jwks = JSON.parse(readFileSync(`${key}.jwks.json`, 'utf8')) as { keys: Record<string, unknown>[] };
    const nameless = join(dir, 'nameless.jwks.json');
    writeFileSync(nameless, JSON.stringify({ keys: jwks.keys.map(({ kid: _kid, ...k }) => k) }));
    const r = await run([
      'clients',
      'add',
      'nameless',
      '--scope',
      'system/*.rs',
      '--jwks-file',
      nameless,
      '--data-dir',
      data,
    ]);
    expect(r.code).toBe(2);
    expect(r.out).toContain('every key of the JWKS needs a kid');
  }, 60_000);

  it('token: a registered client gets an access token from a facade with --auth embedded', async () => {
    const add = ['clients', 'add', 'kela-token', '--scope', 'system/Observation.rs'];
    expect((await run([...add, '--jwks-file', `${key}.jwks.json`, '--data-dir', data])).code).toBe(0);
    server = await startFacadeHere({ dataDir: data }, { auth: 'embedded' });
    const origin = new URL(server.url).origin;
    const token = await tokenFor('kela-token', origin);
    expect(token.code).toBe(0);
    const jwt = token.out.trim().split('\n').at(-1) ?? '';
    expect(jwt.split('.')).toHaveLength(3);
    const ok = await fetch(`${server.url}/Observation`, { headers: { authorization: `Bearer ${jwt}` } });
    expect(ok.status).toBe(200);
    const forbidden = await fetch(`${server.url}/Patient`, { headers: { authorization: `Bearer ${jwt}` } });
    expect(forbidden.status).toBe(403);
    // `tyokyky load --token` sends it: refused for want of the create scope (403), not unauthenticated (401).
    const obs = join(dir, 'obs.json');
    const identifier = [
      { system: 'urn:ietf:rfc:3986', value: 'urn:uuid:6c1d3c1e-4b8a-4f4e-9a52-0e3b7f3f2a10' },
    ];
    writeFileSync(
      obs,
      JSON.stringify({ resourceType: 'Observation', identifier, status: 'final', code: { text: 'x' } }),
    );
    expect((await run(['load', obs, '--url', server.url, '--token', jwt])).out).toMatch(
      /^FAIL \S+obs\.json {2}403 /m,
    );
    expect((await run(['load', obs, '--url', server.url])).out).toMatch(/^FAIL \S+obs\.json {2}401 /m);
    const unknown = await tokenFor('nobody', origin);
    // The command line was fine; the operation failed: exit 1 (2 is for a wrong command line).
    expect(unknown.code).toBe(1);
    expect(unknown.out).toContain('tyokyky clients: token refused: invalid_client');
    const down = await tokenFor('kela-token', 'http://127.0.0.1:9');
    expect(down.code).toBe(1);
    expect(down.out.trim()).toMatch(
      /^tyokyky clients: cannot reach http:\/\/127\.0\.0\.1:9\/auth\/token: \S/,
    );
  }, 180_000);
});

describe('tyokyky clients: bad files', () => {
  it('a private JWK that is not JSON is exit 2 naming the file, with no character of the key', async () => {
    const text = readFileSync(`${key}.private.jwk.json`, 'utf8');
    const d = (JSON.parse(text) as { d: string }).d;
    const broken = join(dir, 'broken.private.jwk.json');
    // `"d": x<key>"`: V8's own message would quote the key from there on.
    writeFileSync(broken, text.replace(`"d": "${d}"`, `"d": x${d}"`));
    const r = await run(['clients', 'token', 'kela', '--key', broken, '--url', 'http://127.0.0.1:9']);
    expect(r.code).toBe(2);
    expect(r.out.trim()).toBe(`tyokyky clients: ${broken} is not JSON: Unexpected token in JSON`);
    expect(r.out).not.toContain(d.slice(0, 4));
  });

  it('token with the public JWKS instead of the private JWK is exit 2 saying so', async () => {
    const r = await run([
      'clients',
      'token',
      'kela',
      '--key',
      `${key}.jwks.json`,
      '--url',
      'http://127.0.0.1:9',
    ]);
    expect(r).toEqual({
      code: 2,
      out: `tyokyky clients: ${key}.jwks.json is not a private JWK (a JWKS, the public keys, was given); pass the .private.jwk.json file keygen wrote\n`,
    });
    const pub = join(dir, 'public.jwk.json');
    writeFileSync(pub, JSON.stringify(JSON.parse(readFileSync(`${key}.jwks.json`, 'utf8')).keys[0]));
    const one = await run([
      'clients',
      'assertion',
      'kela',
      '--key',
      pub,
      '--token-url',
      'http://127.0.0.1:9/auth/token',
    ]);
    expect(one).toEqual({
      code: 2,
      out: `tyokyky clients: ${pub} is not a private JWK (it holds no private key); pass the .private.jwk.json file keygen wrote\n`,
    });
  });

  it('keygen into a folder that does not exist is exit 2 naming the file', async () => {
    const out = join(dir, 'nowhere', 'x');
    expect(await run(['clients', 'keygen', '--out', out])).toEqual({
      code: 2,
      out: `tyokyky clients: cannot write ${out}.private.jwk.json: no such file or directory\n`,
    });
  });

  it('a JWKS file that cannot be read is exit 2 naming the file and the reason', async () => {
    const missing = join(dir, 'missing.jwks.json');
    const r = await run([
      'clients',
      'add',
      'x',
      '--scope',
      'system/*.rs',
      '--jwks-file',
      missing,
      '--data-dir',
      data,
    ]);
    expect(r).toEqual({
      code: 2,
      out: `tyokyky clients: cannot read ${missing}: no such file or directory\n`,
    });
  });
});

describe('tyokyky serve --auth', () => {
  it('an unknown mode, and external without its issuer and JWKS URL, are one line and exit 2 before anything starts', async () => {
    expect(await run(['serve', '--port', '0', '--auth', 'bogus', '--data-dir', data])).toEqual({
      code: 2,
      out: 'tyokyky serve: invalid --auth "bogus" (off, embedded or external)\n',
    });
    expect(await run(['serve', '--port', '0', '--auth', 'external', '--data-dir', data])).toEqual({
      code: 2,
      out: 'tyokyky serve: --auth external needs --auth-issuer, --auth-jwks-url and --auth-token-url\n',
    });
  }, 60_000);
});
