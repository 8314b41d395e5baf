// A path the user may not read is named as such ("permission denied"), never as missing, and a folder
// walk that meets an unreadable folder says so as the command's own one-line refusal (exit 2, like a
// missing path; docs/validation-cli.md, docs/server.md). Real processes: root reads every folder, so
// as root the command runs as nobody (setpriv).
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/processes.ts';

const isRoot = process.getuid?.() === 0;
const hasSetpriv = (() => {
  try {
    execFileSync('setpriv', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const SKIP = isRoot && !hasSetpriv ? ' [skipped: run as root without setpriv to drop to another user]' : '';

// The run's own temp folder (tests/helpers/temp-dir-guard.ts) is root's alone: nobody could not reach
// a folder in it, so as root the folder goes beside it (and is removed as every test's is).
const runDir = process.env.TYOKYKY_TEST_RUN_TMPDIR;
const dir = mkdtempSync(join(isRoot && runDir ? dirname(runDir) : tmpdir(), 'tyokyky-unreadable-'));
chmodSync(dir, 0o755);
mkdirSync(join(dir, 'sub'));
writeFileSync(join(dir, 'sub', 'a.json'), JSON.stringify({ resourceType: 'Basic', id: 'b' }));
writeFileSync(join(dir, 'b.json'), JSON.stringify({ resourceType: 'Basic', id: 'b' }));
chmodSync(join(dir, 'sub'), 0o000);
afterAll(() => {
  chmodSync(join(dir, 'sub'), 0o755);
  rmSync(dir, { recursive: true, force: true });
});

/** `tyokyky <args>` in `dir`, as nobody when this test runs as root (an environment of its own: no test runner's). */
function tyokyky(args: string[]): Promise<{ code: number; out: string }> {
  const node = [process.execPath, join(ROOT, 'bin/tyokyky.js'), ...args];
  const [file, ...argv] = isRoot
    ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...node]
    : node;
  return new Promise((done) => {
    execFile(
      file as string,
      argv,
      { cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', FORCE_COLOR: '0' } },
      (err, stdout, stderr) =>
        done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr }),
    );
  });
}

describe.skipIf(SKIP)(`inputs the user may not read${SKIP}`, () => {
  it('validate sub/a.json under an unreadable folder: permission denied, exit 2', async () => {
    const r = await tyokyky(['validate', '--no-progress', 'sub/a.json']);
    expect(r).toEqual({ code: 2, out: 'tyokyky validate: cannot read sub/a.json: permission denied\n' });
  }, 60_000);

  it('validate . with an unreadable folder inside: the folder named, permission denied, exit 2', async () => {
    const r = await tyokyky(['validate', '--no-progress', '.']);
    expect(r).toEqual({ code: 2, out: 'tyokyky validate: cannot read sub: permission denied\n' });
  }, 60_000);

  it('load . with an unreadable folder inside: a load refusal naming the folder, nothing sent, exit 2', async () => {
    const r = await tyokyky(['load', '.', '--url', 'http://127.0.0.1:9/fhir']);
    expect(r).toEqual({ code: 2, out: 'tyokyky load: cannot read sub: permission denied\n' });
  }, 60_000);
});
