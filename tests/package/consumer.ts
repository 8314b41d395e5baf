// Builds, packs and installs tyokyky-fhir into a fresh temporary project, as a vendor would, offline.
import { execFile, execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';

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

/** The build's last step writes the core index: a build that failed half-way leaves dist/index.js, not this. */
const lastBuilt = join(root, 'dist', 'validation', 'r4-core-index.json');
const isBuilt = () =>
  existsSync(lastBuilt) && statSync(lastBuilt).mtimeMs >= newestMtime(join(root, 'src'), '.ts');

/**
 * `npm run build` unless dist/ is newer than every source file (npm ci has just built it). Test files
 * run in several processes: one builds while the others wait on a lock folder (two builds at once
 * remove each other's dist/), then find it built.
 */
export async function ensureBuilt(): Promise<void> {
  if (isBuilt()) return;
  const lock = join(root, 'node_modules', '.tyokyky-build.lock');
  for (let waited = 0; ; waited += 250) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (isBuilt()) return;
      // A lock older than ten minutes was left by a killed run.
      if (waited > 600_000) rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    if (isBuilt()) return;
    const r = await run('npm', ['run', 'build'], root);
    if (r.code !== 0) throw new Error(`npm run build failed:\n${r.stdout}\n${r.stderr}`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
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

/**
 * A vendor project that depends on the tarball, installed as npm lays it out but without copying the
 * dependency tree: the tarball is unpacked into `node_modules/tyokyky-fhir`, each dependency its
 * package.json declares is linked from this checkout's `node_modules` (the versions our lockfile
 * pins), and its bin is linked into `node_modules/.bin`. A module the package uses without declaring
 * it is then not found, as after `npm install` (npm also hoists the dependencies' own dependencies,
 * which can hide such a module; here they resolve beside the linked package, so nothing is hidden).
 * `npm ci --offline` of the same tree copied ~180 packages (206 MB): 8 s and ~12 s of CPU per run.
 * Returns the names of the linked dependencies.
 */
export function installConsumerProject(dir: string, tarball: string): string[] {
  const manifest = {
    name: 'vendor-app',
    version: '1.0.0',
    private: true,
    type: 'module',
    dependencies: { 'tyokyky-fhir': `file:${tarball}` },
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const modules = join(dir, 'node_modules');
  const installed = join(modules, 'tyokyky-fhir');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1']);
  const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    bin: Record<string, string>;
  };
  const deps = Object.keys(pkg.dependencies);
  for (const name of deps) linkModule(dir, name);
  mkdirSync(join(modules, '.bin'));
  for (const [name, file] of Object.entries(pkg.bin))
    symlinkSync(join('..', 'tyokyky-fhir', file), join(modules, '.bin', name));
  return deps;
}

/** Links `node_modules/<name>` of the vendor project to this checkout's copy (test tooling, dependencies). */
export function linkModule(dir: string, name: string): void {
  const target = join(dir, 'node_modules', name);
  mkdirSync(dirname(target), { recursive: true });
  symlinkSync(join(root, 'node_modules', name), target, 'dir');
}
