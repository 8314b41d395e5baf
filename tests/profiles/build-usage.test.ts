// The package build scripts' command lines: --help prints the usage (exit 0); an unknown argument is
// named, with the usage, exit 2, before anything is looked up or built.
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/processes.ts';

function script(path: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', path, ...args], { cwd: ROOT }, (err, stdout, stderr) =>
      done({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe.each([
  ['profiles/build.ts', 'usage: tsx profiles/build.ts [--package PATH]... [--out DIR] [--work DIR]'],
  ['profiles/kanta-phr/build.ts', 'usage: tsx profiles/kanta-phr/build.ts [--package PATH] [--out DIR]'],
])('%s', (path, usage) => {
  it('--help prints the usage and exits 0', async () => {
    const r = await script(path, '--help');
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith(usage)).toBe(true);
  }, 60_000);

  it('an unknown argument is named, with the usage, exit 2', async () => {
    const r = await script(path, '--bogus');
    expect(r.code).toBe(2);
    expect(r.stderr.startsWith(`unknown argument --bogus\n\n${usage}`)).toBe(true);
  }, 60_000);
});
