// `load` and `clients token` against a listener that takes the connection and never answers: each
// request gives up after --timeout ms with a line naming the URL, instead of hanging for minutes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHere as run } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'tyokyky-timeout-'));
const sockets = new Set<Socket>();
let server: Server;
let origin = '';
beforeAll(async () => {
  server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  origin = `http://127.0.0.1:${address.port}`;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe('a facade that never answers', () => {
  it('load --timeout: the file fails naming the URL and the wait, exit 1, soon', async () => {
    const file = join(dir, 'patient.json');
    writeFileSync(
      file,
      JSON.stringify({ resourceType: 'Patient', identifier: [{ system: 'urn:x', value: '1' }] }),
    );
    const started = Date.now();
    const r = await run(['load', file, '--url', `${origin}/fhir`, '--timeout', '300']);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `FAIL ${file}  -  cannot reach ${origin}/fhir/Patient: no answer within 300 ms (--timeout)\n`,
    );
  }, 30_000);

  it('load --timeout that is no positive whole number: exit 2', async () => {
    expect(await run(['load', dir, '--url', `${origin}/fhir`, '--timeout', 'soon'])).toEqual({
      code: 2,
      out: 'tyokyky load: --timeout must be a positive whole number of ms, got "soon"\n',
    });
  });

  it('clients token --timeout: exit 1 naming the token URL and the wait', async () => {
    const key = join(dir, 'k');
    expect((await run(['clients', 'keygen', '--out', key])).code).toBe(0);
    const r = await run([
      'clients',
      'token',
      'c1',
      '--key',
      `${key}.private.jwk.json`,
      '--url',
      origin,
      '--timeout',
      '300',
    ]);
    expect(r).toEqual({
      code: 1,
      out: `tyokyky clients: cannot reach ${origin}/auth/token: no answer within 300 ms (--timeout)\n`,
    });
  }, 30_000);
});
