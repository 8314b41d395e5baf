// tests/helpers/cli.ts runs `tyokyky` in the test's process; it must answer as the real command does.
// One real process per case here, so that the suites using runHere need none for their own cases.
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runHere } from '../helpers/cli.ts';
import { run } from '../helpers/processes.ts';

const dir = mkdtempSync(join(tmpdir(), 'tyokyky-cli-here-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('runHere (the CLI in this process) answers as the real command', () => {
  it.each([
    ['a command’s own refusal (exit 2)', ['sync', 'retry', 'abc', '--data-dir', join(dir, 'none')], 2],
    ['a usage error from the parser (exit 2, a hint after it)', ['frobnicate'], 2],
    ['help (exit 0)', ['map', '--help'], 0],
    [
      'a file to load that does not exist (exit 2)',
      ['load', join(dir, 'missing.json'), '--url', 'http://127.0.0.1:9/fhir'],
      2,
    ],
    ['the version (exit 0)', ['--version'], 0],
    [
      'a reading command where there is no store (exit 2)',
      ['sync', 'status', '--data-dir', join(dir, 'none')],
      2,
    ],
  ] as const)('%s', async (_what, args, code) => {
    const [here, real] = await Promise.all([runHere([...args]), run([...args])]);
    expect(real.code).toBe(code);
    expect(here.code).toBe(code);
    expect(here.out.trim()).toBe(real.out.trim());
    expect(here.out.trim()).not.toBe('');
  });
});

describe('tyokyky (the real process) on an error no command handles', () => {
  it('prints one line without a stack trace and exits 1', async () => {
    // A symbolic link to itself as a folder to write into: ELOOP, which `clients keygen` does not
    // handle itself (the reading commands name such a path and exit 2).
    const loop = join(dir, 'loop.json');
    symlinkSync(loop, loop);
    const r = await run(['clients', 'keygen', '--out', join(loop, 'key')]);
    expect(r.code).toBe(1);
    expect(r.out.trim()).toMatch(/^tyokyky: ELOOP: too many symbolic links encountered, lstat '[^\n]*'$/);
  });
});

it('--version prints the package version', async () => {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  expect(await runHere(['--version'])).toEqual({ code: 0, out: `${version}\n` });
});
