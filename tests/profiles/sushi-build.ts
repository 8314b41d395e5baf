// The offline SUSHI build of profiles/ for the tests, done once per set of inputs on a machine: its
// output is kept in the machine's cache folder (the PGlite template's, src/store/template.ts) under
// a hash of everything the build reads — the FSH, sushi-config.yaml, the build scripts, the
// ConceptMaps, the packages it depends on, the installed dependency tree (package-lock.json) and the
// Node version. Any change to one of them builds again; an unchanged set reuses the earlier output.
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { PROFILES_DIR, REPO_ROOT, type buildProfiles } from '../../profiles/build.ts';
import { KANTA_PACKAGE_DIR } from '../../profiles/kanta-phr/build.ts';
import { pgliteTemplateDir } from '../../src/store/template.ts';

function files(dir: string): string[] {
  if (!statSync(dir).isDirectory()) return [dir];
  return readdirSync(dir)
    .sort()
    .flatMap((f) => files(join(dir, f)));
}

/** The hash of every input of `buildProfiles` (paths relative to the checkout, and contents). */
export function sushiInputsKey(fiBase: string): string {
  const hash = createHash('sha256').update(`node ${process.version}\n`);
  const inputs = [
    join(PROFILES_DIR, 'input'),
    join(PROFILES_DIR, 'sushi-config.yaml'),
    join(PROFILES_DIR, 'build.ts'),
    join(PROFILES_DIR, 'pack.ts'),
    join(PROFILES_DIR, 'fhir-cache.ts'),
    join(REPO_ROOT, 'mappings', 'conceptmaps'),
    join(REPO_ROOT, 'package-lock.json'),
    KANTA_PACKAGE_DIR,
  ];
  for (const file of inputs.flatMap(files)) {
    hash.update(`${relative(REPO_ROOT, file)}\n`).update(readFileSync(file));
  }
  for (const file of files(fiBase))
    hash.update(`fi-base ${relative(fiBase, file)}\n`).update(readFileSync(file));
  return hash.digest('hex').slice(0, 24);
}

/** The machine's cache folder for SUSHI: the package cache it reads (HOME) and the kept outputs. */
export function sushiCacheDir(): string {
  return join(dirname(pgliteTemplateDir()), 'sushi');
}

/** Outputs of inputs no run has used for two weeks (each ~2 MB) are removed. */
function pruneOutputs(cache: string): void {
  if (!existsSync(cache)) return;
  const old = Date.now() - 14 * 24 * 3600_000;
  for (const name of readdirSync(cache)) {
    const path = join(cache, name);
    if (name.startsWith('out-') && statSync(path).mtimeMs < old)
      rmSync(path, { recursive: true, force: true });
  }
}

/**
 * The package folder `buildProfiles` writes for the current inputs: built now if this machine has not
 * built this set of inputs before (to a staging folder, renamed into place, so parallel runs never see
 * half of one), else the earlier output. `built` says which.
 */
export async function sushiBuild(
  build: typeof buildProfiles,
  fiBase: string,
): Promise<{ out: string; built: boolean; sushiLog: string }> {
  const cache = sushiCacheDir();
  const out = join(cache, `out-${sushiInputsKey(fiBase)}`);
  const log = join(out, '.sushi.log');
  if (existsSync(log)) {
    const now = new Date();
    utimesSync(out, now, now); // in use: kept by pruneOutputs
    return { out: join(out, 'package'), built: false, sushiLog: readFileSync(log, 'utf8') };
  }
  pruneOutputs(cache);
  const staging = `${out}.${process.pid}-${Date.now()}`;
  mkdirSync(staging, { recursive: true });
  try {
    const result = await build({
      out: join(staging, 'package'),
      work: join(staging, 'work'),
      home: join(cache, 'home'),
    });
    rmSync(join(staging, 'work'), { recursive: true, force: true });
    writeFileSync(join(staging, '.sushi.log'), result.sushiLog);
    try {
      renameSync(staging, out);
    } catch {
      // Another run kept the same inputs' output first: the same build.
    }
    return { out: join(out, 'package'), built: true, sushiLog: result.sushiLog };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
