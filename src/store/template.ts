// Initialising a new PGlite data directory (initdb in WebAssembly) costs 6–7 s of CPU and grows the
// process to ~800 MB; opening an existing one ~1 s. So a new directory is a copy of a migrated
// template, built once per machine, PGlite version and schema: by `npm ci` (`prepare` runs
// prepare-template.ts), or else by the first store that needs it, in a child process so that the
// memory initdb takes is handed back when it exits.
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { cacheRoot } from '../shared/cache-dir.ts';
import { makeDataDir } from './data-dir.ts';
import { LOCK_FILE } from './dir-lock.ts';
import { openPglite } from './engine.ts';
import { STORE_MIGRATIONS, applyStoreMigrations } from './schema.ts';

const run = promisify(execFile);

function pgliteEntry(): string {
  return createRequire(import.meta.url).resolve('@electric-sql/pglite');
}

function pgliteVersion(): string {
  // The package does not export its package.json: find it above the resolved entry.
  let dir = dirname(pgliteEntry());
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

/** The template directory for this PGlite version and this schema. */
export function pgliteTemplateDir(): string {
  const schema = createHash('sha256').update(JSON.stringify(STORE_MIGRATIONS)).digest('hex').slice(0, 16);
  return join(cacheRoot(), `tyokyky-pglite-template-${pgliteVersion()}-${schema}`);
}

/**
 * Runs initdb into `dir` in a child Node process. The store lives in database `postgres`: the
 * template databases are dropped, so a new directory is a copy of ~300 files instead of ~1000.
 */
async function initdbInChild(dir: string): Promise<void> {
  const code = `const { PGlite } = await import(${JSON.stringify(pathToFileURL(pgliteEntry()).href)});
const db = await PGlite.create(${JSON.stringify(dir)});
for (const name of ['template0', 'template1']) {
  await db.exec('ALTER DATABASE ' + name + ' IS_TEMPLATE false');
  await db.exec('DROP DATABASE ' + name);
}
await db.close();`;
  mkdirSync(dirname(dir), { recursive: true });
  try {
    await run(process.execPath, ['--input-type=module', '-e', code], { timeout: 300_000 });
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? '');
    const why = /^\w*Error: .*$/m.exec(stderr)?.[0] ?? (err as Error).message.split('\n')[0];
    throw new Error(`initdb of a new PGlite directory failed: ${why}`);
  }
}

/** The machine's migrated template directory, built first if it is not there yet. */
export async function ensurePgliteTemplate(): Promise<string> {
  const template = pgliteTemplateDir();
  if (!existsSync(join(template, 'PG_VERSION'))) {
    // Build beside the final path and rename: concurrent builders (parallel test files, two servers)
    // never see a half-written template; the loser of the rename keeps using the winner's.
    const building = `${template}.${randomUUID()}`;
    try {
      await initdbInChild(building);
      const engine = await openPglite(building);
      try {
        await applyStoreMigrations(engine);
      } finally {
        await engine.close();
      }
      renameSync(building, template);
    } catch (err) {
      rmSync(building, { recursive: true, force: true });
      if (!existsSync(join(template, 'PG_VERSION'))) throw err;
    }
  }
  return template;
}

/** Dumps the PGlite directory `dir` as an uncompressed tar to `file`, in a child Node process. */
async function dumpInChild(dir: string, file: string): Promise<void> {
  const code = `const { PGlite } = await import(${JSON.stringify(pathToFileURL(pgliteEntry()).href)});
const { writeFileSync } = await import('node:fs');
const db = await PGlite.create(${JSON.stringify(dir)});
const dump = await db.dumpDataDir('none');
await db.close();
writeFileSync(${JSON.stringify(file)}, Buffer.from(await dump.arrayBuffer()));`;
  await run(process.execPath, ['--input-type=module', '-e', code], { timeout: 300_000 });
}

/**
 * The migrated template as a PGlite dump (a tar beside the template directory), from which an
 * in-memory store starts in about a second instead of running initdb (~11 s of CPU, ~1 GB RSS).
 * Dumped from a copy, so the template itself is never opened.
 */
export async function ensurePgliteArchive(): Promise<string> {
  const template = await ensurePgliteTemplate();
  const archive = `${template}.tar`;
  if (!existsSync(archive)) {
    const copy = mkdtempSync(join(tmpdir(), 'tyokyky-template-dump-'));
    const partial = `${archive}.${randomUUID()}`;
    try {
      cpSync(template, copy, { recursive: true });
      await dumpInChild(copy, partial);
      renameSync(partial, archive);
    } finally {
      rmSync(copy, { recursive: true, force: true });
      rmSync(partial, { force: true });
    }
  }
  return archive;
}

/** The dump read into memory, by its path: one per process (a dump never changes once in place). */
let archiveBlob: { path: string; blob: Blob } | undefined;

/**
 * The template's dump as a Blob, read once per process: reading the 25 MB file and copying it into
 * a new Blob cost 100–300 ms of CPU on every in-memory open (a Blob is immutable, and PGlite takes its
 * own copy of the bytes from it). Only the latest dump is kept.
 */
export async function pgliteArchiveBlob(): Promise<Blob> {
  const path = await ensurePgliteArchive();
  if (archiveBlob?.path !== path) archiveBlob = { path, blob: new Blob([readFileSync(path)]) };
  return archiveBlob.blob;
}

/** The file whose presence makes a directory a store (openStore opens it instead of filling it). */
const STORE_MARK = 'PG_VERSION';

/**
 * Fills `target` (absent or empty) with a copy of the migrated template. A copy that fails part-way
 * (a full disk) leaves no PG_VERSION behind, which would make the next start open the half copy
 * (PGlite: "Aborted()", for good): an absent target is filled beside it
 * (`<target>.partial-<pid>`) and renamed into place; an existing one (a mount point, say) gets
 * PG_VERSION last, and what was copied into it is removed again on failure.
 */
export async function copyPgliteTemplate(target: string): Promise<void> {
  const template = await ensurePgliteTemplate();
  const final = resolve(target);
  if (existsSync(final)) {
    makeDataDir(final); // an existing file is refused as not a directory
    assertNothingElse(final, template);
    copyIntoExisting(template, final);
    return;
  }
  const partial = `${final}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true }); // left by a process of this pid that was killed
  try {
    makeDataDir(partial);
    cpSync(template, partial, { recursive: true });
    renameSync(partial, final);
  } catch (err) {
    rmSync(partial, { recursive: true, force: true });
    // Another process made the store meanwhile: that one is used.
    if (!existsSync(join(final, STORE_MARK))) throw err;
  }
}

/**
 * What an existing directory may hold before it becomes a store: hidden files, a file system's
 * `lost+found`, this store's lock, and the template's own entries (a copy a killed process left without
 * its PG_VERSION, which this copy overwrites). Anything else is someone's folder (`--data-dir .` or `~`
 * by mistake): refused (code ENOTEMPTY), rather than filled with the store's files.
 */
function assertNothingElse(dir: string, template: string): void {
  const ours = new Set([...readdirSync(template), 'lost+found', LOCK_FILE]);
  const other = readdirSync(dir).some((name) => !name.startsWith('.') && !ours.has(name));
  if (other) throw Object.assign(new Error(`${dir} is not empty and holds no store`), { code: 'ENOTEMPTY' });
}

/** The template's files into the directory `target`, PG_VERSION last; on failure none of them stays. */
function copyIntoExisting(template: string, target: string): void {
  const names = readdirSync(template).filter((name) => name !== STORE_MARK);
  try {
    for (const name of names) cpSync(join(template, name), join(target, name), { recursive: true });
    cpSync(join(template, STORE_MARK), join(target, STORE_MARK));
  } catch (err) {
    for (const name of [STORE_MARK, ...names]) rmSync(join(target, name), { recursive: true, force: true });
    throw err;
  }
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
