// Initialising a new PGlite data directory costs ~10 s (initdb in WebAssembly); opening an existing
// one ~1 s. Tests and tools that need many fresh databases copy a migrated template instead.
import { createHash, randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { STORE_MIGRATIONS } from './schema.ts';
import { openStore } from './store.ts';

function templateDir(): string {
  const require = createRequire(import.meta.url);
  // The package does not export its package.json: find it above the resolved entry.
  let dir = dirname(require.resolve('@electric-sql/pglite'));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  const pgliteVersion = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string })
    .version;
  const schema = createHash('sha256').update(JSON.stringify(STORE_MIGRATIONS)).digest('hex').slice(0, 16);
  return join(tmpdir(), `tyokyky-pglite-template-${pgliteVersion}-${schema}`);
}

/** The machine's migrated template directory, built first if it is not there yet. */
async function ensureTemplate(): Promise<string> {
  const template = templateDir();
  if (!existsSync(join(template, 'PG_VERSION'))) {
    // Build beside the final path and rename: concurrent builders (parallel test files, two servers)
    // never see a half-written template; the loser of the rename keeps using the winner's.
    const building = `${template}.${randomUUID()}`;
    const store = await openStore({ dataDir: building, template: false });
    await store.close();
    try {
      renameSync(building, template);
    } catch {
      rmSync(building, { recursive: true, force: true });
    }
  }
  return template;
}

/** Fills `target` (absent or empty) with a copy of the migrated template. */
export async function copyPgliteTemplate(target: string): Promise<void> {
  cpSync(await ensureTemplate(), target, { recursive: true });
}

/**
 * Returns a new PGlite data directory (under the OS temp dir unless `target` is given) holding an
 * empty, migrated store.
 */
export async function freshPgliteDataDir(target?: string): Promise<string> {
  const dir = target ?? mkdtempSync(join(tmpdir(), 'tyokyky-store-'));
  await copyPgliteTemplate(dir);
  return dir;
}
