// A first start whose copy of the PGlite template fails part-way (a full disk) must leave nothing a
// later start takes for a store: a directory with PG_VERSION and half the files never opens again
// ("Aborted()"). The failure is a real one: a socket file in a copy of the template, which cpSync
// refuses, standing where the disk would fill up.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.ts';
import { ensurePgliteTemplate, pgliteTemplateDir } from '../../src/store/template.ts';

const dir = mkdtempSync(join(tmpdir(), 'tyokyky-template-failure-'));
const previousCache = process.env.TYOKYKY_CACHE_DIR;
let template = '';

beforeAll(async () => {
  const real = await ensurePgliteTemplate();
  process.env.TYOKYKY_CACHE_DIR = join(dir, 'cache');
  template = pgliteTemplateDir();
  cpSync(real, template, { recursive: true });
}, 120_000);

afterAll(() => {
  if (previousCache === undefined) Reflect.deleteProperty(process.env, 'TYOKYKY_CACHE_DIR');
  else process.env.TYOKYKY_CACHE_DIR = previousCache;
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Puts a socket file in the template's last folder (in directory order): the copy fails there. Made
 * at a short path (a socket's path has a limit of ~108 bytes) and moved into place.
 */
async function obstacle(): Promise<string> {
  const made = join(dir, 'o.sock');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(made, () => resolve()));
  const placed = join(template, 'pg_subtrans', 'obstacle.sock');
  renameSync(made, placed);
  await new Promise((resolve) => server.close(resolve));
  return placed;
}

describe('a first start that fails while copying the template', () => {
  it.each([
    ['an absent data directory', false],
    ['an empty data directory (a mount point, say)', true],
  ])(
    'into %s leaves no store mark, and the next start makes the store',
    async (_what, made) => {
      const target = join(dir, made ? 'made' : 'absent', 'data');
      if (made) mkdirSync(target, { recursive: true });
      const placed = await obstacle();
      try {
        await expect(openStore({ dataDir: target })).rejects.toThrow(/socket/);
      } finally {
        rmSync(placed); // the disk has room again
      }
      expect(existsSync(join(target, 'PG_VERSION'))).toBe(false);
      // Nothing half-copied stays behind: no target (or the empty one as it was), no partial copy beside it.
      expect(readdirSync(join(target, '..'))).toEqual(made ? ['data'] : []);
      if (made) expect(readdirSync(target)).toEqual([]);

      const store = await openStore({ dataDir: target });
      try {
        expect(await store.query('SELECT id FROM resources')).toEqual([]);
      } finally {
        await store.close();
      }
    },
    60_000,
  );
});
