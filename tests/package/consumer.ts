// Builds, packs and installs tyokyky-fhir into a fresh temporary project, as a vendor would, offline.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const root = join(import.meta.dirname, '../..');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to completion; never rejects (the exit code is part of the result). */
export function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const start = Date.now();
  return new Promise((done) => {
    execFile(
      cmd,
      args,
      { cwd, env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', ...env }, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        done({ code, stdout, stderr, ms: Date.now() - start });
      },
    );
  });
}

function newestMtime(dir: string, ext: string): number {
  let newest = 0;
  for (const f of readdirSync(dir, { recursive: true }) as string[]) {
    if (f.endsWith(ext)) newest = Math.max(newest, statSync(join(dir, f)).mtimeMs);
  }
  return newest;
}

/** `npm run build` unless dist/ is newer than every source file (npm ci has just built it). */
export async function ensureBuilt(): Promise<void> {
  const main = join(root, 'dist', 'index.js');
  if (existsSync(main) && statSync(main).mtimeMs >= newestMtime(join(root, 'src'), '.ts')) return;
  const r = await run('npm', ['run', 'build'], root);
  if (r.code !== 0) throw new Error(`npm run build failed:\n${r.stdout}\n${r.stderr}`);
}

export interface Packed {
  tarball: string;
  size: number;
  unpackedSize: number;
  files: string[];
}

/** `npm pack` (scripts skipped: `ensureBuilt` has built dist/) into `dir`. */
export async function pack(dir: string): Promise<Packed> {
  const r = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], root);
  if (r.code !== 0) throw new Error(`npm pack failed: ${r.stderr}`);
  const [info] = JSON.parse(r.stdout) as Array<{
    filename: string;
    size: number;
    unpackedSize: number;
    files: Array<{ path: string }>;
  }>;
  return {
    tarball: join(dir, info.filename),
    size: info.size,
    unpackedSize: info.unpackedSize,
    files: info.files.map((f) => f.path),
  };
}

interface LockEntry {
  dev?: boolean;
  devOptional?: boolean;
  [key: string]: unknown;
}

/**
 * A vendor project that depends on the tarball only. Its lockfile is ours without the dev-only
 * packages, so `npm ci --offline` installs exactly the production tree from the cache `npm ci` filled.
 */
export function writeConsumerProject(dir: string, tarball: string): void {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const spec = `file:${tarball}`;
  const packages: Record<string, unknown> = {
    '': { name: 'vendor-app', version: '1.0.0', dependencies: { 'tyokyky-fhir': spec } },
    'node_modules/tyokyky-fhir': {
      version: pkg.version,
      resolved: spec,
      license: pkg.license,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (!path.startsWith('node_modules/') || entry.dev) continue;
    const { devOptional: _, ...kept } = entry;
    packages[path] = kept;
  }
  const manifest = {
    name: 'vendor-app',
    version: '1.0.0',
    private: true,
    type: 'module',
    dependencies: { 'tyokyky-fhir': spec },
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(
    join(dir, 'package-lock.json'),
    JSON.stringify({ name: 'vendor-app', version: '1.0.0', lockfileVersion: 3, requires: true, packages }),
  );
}
