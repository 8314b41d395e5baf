// `tyokyky sync push|pull`: a flag this run would ignore is refused (exit 2 naming it, as `serve` refuses
// its flags without effect), and each subcommand's help describes its flags for what it does.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runHere as run } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'tyokyky-sync-flags-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const data = join(dir, 'data');

describe('tyokyky sync push --with-pull', () => {
  it('without --watch: refused, naming the flag, before any store is opened (exit 2)', async () => {
    const r = await run([
      'sync',
      'push',
      '--remote',
      'http://127.0.0.1:9/fhir',
      '--data-dir',
      data,
      '--with-pull',
    ]);
    expect(r).toEqual({
      code: 2,
      out: 'tyokyky sync: --with-pull works only with --watch (a one-off push pulls nothing; run sync pull)\n',
    });
  });
});

describe('tyokyky sync pull --help', () => {
  it('--concurrency is not described as if the pull pushed Bundles', async () => {
    const r = await run(['sync', 'pull', '--help']);
    expect(r.code).toBe(0);
    const line = r.out.slice(r.out.indexOf('--concurrency'), r.out.indexOf('--lease'));
    expect(line).not.toContain('a round is prepared while another is sent');
    expect(line.replace(/\s+/g, ' ')).toContain('a pull sends none');
  });

  it('push --help keeps its own wording', async () => {
    const r = await run(['sync', 'push', '--help']);
    const line = r.out.slice(r.out.indexOf('--concurrency'), r.out.indexOf('--lease'));
    expect(line.replace(/\s+/g, ' ')).toContain('a round is prepared while another is sent');
  });
});
