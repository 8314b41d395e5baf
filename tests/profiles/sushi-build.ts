// The offline SUSHI build of profiles/ for the tests, done once per set of inputs on a machine
// (tests/helpers/machine-cache.ts): the FSH, sushi-config.yaml, the build scripts, the ConceptMaps,
// the packages it depends on, the installed dependency tree (package-lock.json) and the Node version.
// Any change to one of them builds again; an unchanged set reuses the earlier output.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROFILES_DIR, REPO_ROOT, type buildProfiles } from '../../profiles/build.ts';
import { KANTA_PACKAGE_DIR } from '../../profiles/kanta-phr/build.ts';
import { keyedWorkDir, workCacheDir } from '../helpers/machine-cache.ts';

/** Everything `buildProfiles` reads besides SUSHI's package cache (which is built from these). */
function inputs(fiBase: string): string[] {
  return [
    join(PROFILES_DIR, 'input'),
    join(PROFILES_DIR, 'sushi-config.yaml'),
    join(PROFILES_DIR, 'build.ts'),
    join(PROFILES_DIR, 'pack.ts'),
    join(PROFILES_DIR, 'fhir-cache.ts'),
    join(REPO_ROOT, 'mappings', 'conceptmaps'),
    join(REPO_ROOT, 'package-lock.json'),
    KANTA_PACKAGE_DIR,
    fiBase,
  ];
}

/**
 * The package folder `buildProfiles` writes for the current inputs: built now if this machine has not
 * built this set of inputs before (to a staging folder renamed into place, so parallel runs never see
 * half of one), else the earlier output. SUSHI's offline package cache (HOME) is the machine's too.
 */
export async function sushiBuild(
  build: typeof buildProfiles,
  fiBase: string,
): Promise<{ out: string; built: boolean; sushiLog: string }> {
  const dir = keyedWorkDir('sushi', inputs(fiBase));
  const log = join(dir, 'sushi.log');
  if (existsSync(log))
    return { out: join(dir, 'package'), built: false, sushiLog: readFileSync(log, 'utf8') };
  const staging = `${dir}.${process.pid}-${Date.now()}`;
  mkdirSync(staging, { recursive: true });
  try {
    const result = await build({
      out: join(staging, 'package'),
      work: join(staging, 'work'),
      home: join(workCacheDir('sushi'), 'home'),
    });
    rmSync(join(staging, 'work'), { recursive: true, force: true });
    writeFileSync(join(staging, 'sushi.log'), result.sushiLog);
    try {
      renameSync(staging, dir);
    } catch {
      // Another run placed the output of the same inputs first.
    }
    return { out: join(dir, 'package'), built: true, sushiLog: result.sushiLog };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
