// `tyokyky validate --fail-on warning`: a resource that fails only by its warnings is shown as failing in
// every format (text line and summary, NDJSON record), not as "valid" beside exit 1.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runHere as run } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'tyokyky-validate-fail-on-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// No narrative: dom-6, a warning, and nothing else.
const warnOnly = join(dir, 'warn.json');
writeFileSync(warnOnly, JSON.stringify({ resourceType: 'Patient', id: 'p1', active: true }));

describe('validate --fail-on warning', () => {
  it('text: the line of a resource failing on warnings is ✗, and the summary counts it as failed', async () => {
    const r = await run(['validate', '--no-progress', '--fail-on', 'warning', warnOnly]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^✗ .*warn\.json: 0 error\(s\), \d+ warning\(s\) \(fails --fail-on warning\)$/m);
    expect(r.out).not.toMatch(/^✓/m);
    expect(r.out).toMatch(
      /^1 resource\(s\): 1 valid, 0 with errors, 1 failed \(--fail-on warning\) \(0 error\(s\), \d+ warning\(s\)\)$/m,
    );
  }, 60_000);

  it('text without --fail-on warning: the same resource is ✓ valid and the summary names no failures', async () => {
    const r = await run(['validate', '--no-progress', warnOnly]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^✓ .*warn\.json: valid, \d+ warning\(s\)$/m);
    expect(r.out).toMatch(/^1 resource\(s\): 1 valid, 0 with errors \(0 error\(s\), \d+ warning\(s\)\)$/m);
  }, 60_000);

  it('ndjson: the record says it failed (valid stays "no errors")', async () => {
    const strict = await run([
      'validate',
      '--no-progress',
      '--format',
      'ndjson',
      '--fail-on',
      'warning',
      warnOnly,
    ]);
    expect(strict.code).toBe(1);
    const record = JSON.parse(strict.out.trim().split('\n')[0] as string);
    expect(record).toMatchObject({ valid: true, failed: true, errors: 0 });
    const lenient = await run(['validate', '--no-progress', '--format', 'ndjson', warnOnly]);
    expect(lenient.code).toBe(0);
    expect(JSON.parse(lenient.out.trim().split('\n')[0] as string)).toMatchObject({
      valid: true,
      failed: false,
    });
  }, 60_000);
});
