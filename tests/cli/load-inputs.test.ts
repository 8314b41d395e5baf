// `tyokyky load` reads its files as `tyokyky map` does: an input over the one input limit (MAX_INPUT_BYTES,
// 64 MiB; docs/sdk.md) is refused before anything is sent (exit 2), and a path that cannot be read is
// named with the system's reason, never as missing whatever the cause.
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_INPUT_BYTES } from '../../src/cli/json-input.ts';
import { runHere as run } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'tyokyky-load-inputs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// Nothing listens there: a file that was sent fails as unreachable (exit 1), not as refused (exit 2).
const url = ['--url', 'http://127.0.0.1:9/fhir'];

describe('tyokyky load: inputs refused before anything is sent', () => {
  it(`a file over ${MAX_INPUT_BYTES} bytes, named or in a folder: too large, exit 2`, async () => {
    const big = join(dir, 'big', 'huge.json');
    mkdirSync(join(dir, 'big'));
    writeFileSync(join(dir, 'big', 'a.json'), JSON.stringify({ resourceType: 'Basic', id: 'a' }));
    writeFileSync(big, '');
    truncateSync(big, MAX_INPUT_BYTES + 1);
    const refusal = `tyokyky load: ${big} is too large (${MAX_INPUT_BYTES + 1} bytes): tyokyky load reads at most 64 MiB (one resource or Bundle)\n`;
    expect(await run(['load', big, ...url])).toEqual({ code: 2, out: refusal });
    expect(await run(['load', join(dir, 'big'), ...url])).toEqual({ code: 2, out: refusal });
  });

  it('a path under a file (not a directory): cannot read, the reason as the system words it', async () => {
    const file = join(dir, 'plain.json');
    writeFileSync(file, '{}');
    expect(await run(['load', join(file, 'x.json'), ...url])).toEqual({
      code: 2,
      out: `tyokyky load: cannot read ${join(file, 'x.json')}: not a directory\n`,
    });
    expect(await run(['validate', '--no-progress', join(file, 'x.json')])).toEqual({
      code: 2,
      out: `tyokyky validate: cannot read ${join(file, 'x.json')}: not a directory\n`,
    });
  });

  it('a missing path: cannot read, no such file or directory (as map words it)', async () => {
    const missing = join(dir, 'nope.json');
    expect(await run(['load', missing, ...url])).toEqual({
      code: 2,
      out: `tyokyky load: cannot read ${missing}: no such file or directory\n`,
    });
  });
});
