// `tyokyky map` as a real process: stdout JSON, exit 0 / 1 (invalid input) / 2 (usage, I/O).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { suvi } from '../../examples/tools/personas.ts';
import { runMap } from '../../src/cli/map/run.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tyokyky-map-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The real command in its own process (each start costs seconds, so only the main paths use it). */
function run(args: string[], input?: string) {
  const r = spawnSync(process.execPath, ['bin/tyokyky.js', 'map', ...args], {
    cwd: root,
    input,
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same command body in this process, capturing its output. */
function runHere(opts: { toFhir?: string; fromFhir?: string; language?: 'fi' | 'sv' | 'en' }) {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    stdout += String(s);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    stderr += String(s);
    return true;
  });
  try {
    const code = runMap({ language: 'fi', ...opts });
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('tyokyky map', () => {
  it('--to-fhir a record → transaction Bundle; --from-fhir reads it back', () => {
    const domainFile = join(dir, 'suvi.json');
    writeFileSync(domainFile, JSON.stringify(suvi));
    const to = run(['--to-fhir', domainFile, '--language', 'sv']);
    expect(to.stderr).toBe('');
    expect(to.code).toBe(0);
    const bundle = JSON.parse(to.stdout);
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'transaction' });
    expect(bundle.entry[0].resource.language).toBe('sv');
    const bundleFile = join(dir, 'bundle.json');
    writeFileSync(bundleFile, to.stdout);
    const back = runHere({ fromFhir: bundleFile });
    expect(back.code).toBe(0);
    expect(JSON.parse(back.stdout)).toEqual(suvi);
  });

  it('maps a single {kind, value}', () => {
    const file = join(dir, 'consent.json');
    writeFileSync(file, JSON.stringify({ kind: 'consent', value: suvi.consents![0] }));
    const r = runHere({ toFhir: file });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).entry[0].resource.resourceType).toBe('Consent');
  });

  it('invalid domain input → exit 1 naming the field and rule', () => {
    const bad = structuredClone(suvi);
    bad.client.hetu = '120395-902T';
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify(bad));
    const r = run(['--to-fhir', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(
      "tyk-hetu-1: WorkAbilityRecord.client.hetu: check character 'T' does not match the rest of the code",
    );
  });

  it('a resource that is not ours → exit 1', () => {
    const file = join(dir, 'foreign.json');
    writeFileSync(file, JSON.stringify({ resourceType: 'Patient', name: [{ family: 'X' }] }));
    const r = runHere({ fromFhir: file });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Patient.meta.profile: Patient is not a tyokyky resource');
  });

  it('not JSON → exit 1; unknown kind → exit 1', () => {
    const file = join(dir, 'text.json');
    writeFileSync(file, 'not json');
    expect(runHere({ toFhir: file })).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('is not JSON'),
    });
    const pet = join(dir, 'pet.json');
    writeFileSync(pet, '{"kind":"pet","value":{}}');
    expect(runHere({ toFhir: pet })).toMatchObject({
      code: 1,
      stderr: expect.stringContaining("kind: 'pet'"),
    });
  });

  it('usage and I/O errors → exit 2', () => {
    expect(run([])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('give exactly one of --to-fhir'),
    });
    expect(runHere({ toFhir: join(dir, 'missing.json') })).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('ENOENT'),
    });
  });

  it('the committed persona example maps back', () => {
    const r = runHere({ fromFhir: join(root, 'examples/personas/maija.json') });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).client.id).toBe('maija');
    expect(readFileSync(join(root, 'examples/personas/maija.json'), 'utf8')).toContain(
      '"resourceType": "Bundle"',
    );
  });
});
