// Startup failures are one line and exit 2, checked before anything is created on disk.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertPortFree } from '../../src/server/start.ts';
import { explainOpenError, openStore } from '../../src/store/index.ts';
import { PG_URL } from '../helpers/databases.ts';
import { run } from './processes.ts';

let dir: string;
let taken: Server;
let port: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tyokyky-startup-'));
  taken = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => taken.once('listening', r));
  port = (taken.address() as { port: number }).port;
});
afterAll(() => {
  taken?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('startup errors', () => {
  it('a taken port is one line and exit 2, and no data directory is created', async () => {
    const dataDir = join(dir, 'data');
    const { code, out } = await run([
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--data-dir',
      dataDir,
    ]);
    expect(code).toBe(2);
    expect(out.trim()).toBe(
      `tyokyky serve: port ${port} on 127.0.0.1 is already in use; choose another with --port or PORT`,
    );
    expect(existsSync(dataDir)).toBe(false);
  }, 60_000);

  it('assertPortFree accepts a free port and port 0', async () => {
    await expect(assertPortFree(0, '127.0.0.1')).resolves.toBeUndefined();
    await expect(assertPortFree(port, '127.0.0.1')).rejects.toThrow(/already in use/);
  });

  it('PostgreSQL refused and a missing database are explained in one line, without a password', async () => {
    const refused = { databaseUrl: 'postgres://someone:secret@127.0.0.1:1/x' };
    const e1 = await openStore(refused).catch((err: unknown) => err);
    expect(explainOpenError(e1, refused)).toBe(
      'cannot reach PostgreSQL at 127.0.0.1:1: connection refused (is it running?)',
    );
    const u = new URL(PG_URL);
    const missing = { databaseUrl: `${PG_URL}/tyk_missing_${Date.now()}` };
    const e2 = await openStore(missing).catch((err: unknown) => err);
    const line = explainOpenError(e2, missing) ?? '';
    expect(line).toMatch(
      /^PostgreSQL database "tyk_missing_\d+" does not exist at .*; create it with: createdb /,
    );
    expect(line).toContain(`-h ${u.hostname}`);
    expect(line).not.toContain('secret');
  });

  it('`tyokyky sync status` where there is no store says so and creates none', async () => {
    const nothing = join(dir, 'nothing');
    const { code, out } = await run(['sync', 'status', '--data-dir', nothing]);
    expect(code).toBe(2);
    expect(out).toContain(`no store in ${nothing}`);
    expect(existsSync(nothing)).toBe(false);
  }, 60_000);
});
