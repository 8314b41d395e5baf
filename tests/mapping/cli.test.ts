// `tyokyky map` as a real process: stdout JSON, exit 0 / 1 (invalid input) / 2 (usage, I/O).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { suvi } from '../../examples/tools/personas.ts';
import { MAX_INPUT_BYTES, type MapOptions, readInput, runMap } from '../../src/cli/map/run.ts';
import { workAbility } from '../../src/mapping/index.ts';
import { runHere as runCommand } from '../helpers/cli.ts';

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
function runHere(opts: Partial<MapOptions>) {
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
      stderr: expect.stringContaining('kind: is not one of client, organization'),
    });
  });

  it('usage and I/O errors → exit 2', () => {
    expect(run([])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('give exactly one of --to-fhir'),
    });
    expect(runHere({ toFhir: join(dir, 'missing.json') })).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('no such file or directory'),
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

  it('--application-name, --application-id and --local-id-system-base reach the mapping both ways', async () => {
    const domainFile = join(dir, 'suvi-app.json');
    writeFileSync(domainFile, JSON.stringify(suvi));
    const base = 'https://ehr.example.fi/sid/local';
    const to = await runCommand([
      'map',
      '--to-fhir',
      domainFile,
      '--application-name',
      'My EHR',
      '--application-id',
      'my-ehr-kela-id',
      '--local-id-system-base',
      base,
    ]);
    expect(to.code).toBe(0);
    const bundle = JSON.parse(to.out);
    const plan = bundle.entry.find(
      (e: { resource: { resourceType: string } }) => e.resource.resourceType === 'CarePlan',
    );
    expect(plan.resource.extension[0].extension).toEqual([
      { url: 'name', valueString: 'My EHR' },
      { url: 'applicationId', valueString: 'my-ehr-kela-id' },
    ]);
    const patient = bundle.entry.find(
      (e: { resource: { resourceType: string } }) => e.resource.resourceType === 'Patient',
    );
    expect(patient.resource.identifier[1]).toEqual({ system: `${base}/client`, value: 'suvi' });
    const bundleFile = join(dir, 'suvi-app-bundle.json');
    writeFileSync(bundleFile, to.out);
    expect(JSON.parse(runHere({ fromFhir: bundleFile, localIdSystemBase: base }).stdout)).toEqual(suvi);
  });

  it('the application needs both flags, and a local-id system base the mapping can use → exit 2', async () => {
    const file = join(dir, 'suvi-opts.json');
    writeFileSync(file, JSON.stringify(suvi));
    expect(await runCommand(['map', '--to-fhir', file, '--application-name', 'My EHR'])).toMatchObject({
      code: 2,
      out: expect.stringContaining('give --application-name and --application-id together'),
    });
    expect(
      await runCommand(['map', '--from-fhir', file, '--application-name', 'A', '--application-id', 'B']),
    ).toMatchObject({ code: 2, out: expect.stringContaining('apply to --to-fhir') });
    const bad = runHere({ toFhir: file, localIdSystemBase: 'urn:oid:1.2.3' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--local-id-system-base must be an http:, https:, urn: or ldap: URI');
    const control = runHere({ toFhir: file, applicationName: 'EHR\u0007', applicationId: 'x' });
    expect(control.code).toBe(2);
    expect(control.stderr).toContain('--application-name must be text without');
  });

  it('--help names the new options', async () => {
    const help = await runCommand(['map', '--help']);
    for (const flag of ['--application-name <name>', '--application-id <id>', '--local-id-system-base <uri>'])
      expect(help.out).toContain(flag);
  });

  it('--from-fhir reads back what --to-fhir {kind, value} and workAbility.<kind>().toBundle() write', () => {
    const one = join(dir, 'one.json');
    writeFileSync(one, JSON.stringify({ kind: 'consent', value: suvi.consents![0] }));
    const to = runHere({ toFhir: one });
    expect(to.code).toBe(0);
    const bundleFile = join(dir, 'one-bundle.json');
    writeFileSync(bundleFile, to.stdout);
    expect(JSON.parse(runHere({ fromFhir: bundleFile }).stdout)).toEqual({
      kind: 'consent',
      value: suvi.consents![0],
    });
    const plan = join(dir, 'plan-bundle.json');
    writeFileSync(plan, JSON.stringify(workAbility.plan(suvi.plans![0]!).toBundle()));
    expect(JSON.parse(runHere({ fromFhir: plan }).stdout)).toEqual({ kind: 'plan', value: suvi.plans![0] });
  });

  it('an unknown kind is refused without quoting it', () => {
    const file = join(dir, 'kind-hetu.json');
    writeFileSync(file, JSON.stringify({ kind: 'Suvi Virtanen 010181-900C', value: {} }));
    const r = runHere({ toFhir: file });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('kind: is not one of client,');
    expect(r.stderr).not.toContain('010181-900C');
  });

  it('a file beginning with a UTF-8 byte order mark is read as validate reads it', () => {
    const file = join(dir, 'bom.json');
    writeFileSync(file, `\uFEFF${JSON.stringify(suvi)}`);
    const to = runHere({ toFhir: file });
    expect(to.stderr).toBe('');
    expect(to.code).toBe(0);
    const bundleFile = join(dir, 'bom-bundle.json');
    writeFileSync(bundleFile, `\uFEFF${to.stdout}`);
    const back = runHere({ fromFhir: bundleFile });
    expect(back.stderr).toBe('');
    expect(JSON.parse(back.stdout)).toEqual(suvi);
  });

  it('a property name given twice is refused as validate refuses it, not read as the last', () => {
    const file = join(dir, 'duplicate.json');
    writeFileSync(file, '{"kind":"consent","kind":"plan","value":{}}');
    const r = runHere({ toFhir: file });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Duplicated property name 'kind'");
  });

  it('a pipe over the limit is refused once a byte past it has come, without reading the rest', async () => {
    // A writer in its own process pushes up to 64 MiB into a FIFO, counting what the reader took;
    // the reader, limited to 1 MiB, stops and closes: the writer's next write fails (EPIPE).
    const fifo = join(dir, 'pipe');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const writer = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('node:fs');
        const fd = fs.openSync(process.argv[1], 'w');
        const b = Buffer.alloc(65536, 32);
        let n = 0;
        try { while (n < 64 * 1024 * 1024) n += fs.writeSync(fd, b); } catch {}
        process.stdout.write(String(n));`,
        fifo,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let written = '';
    writer.stdout.on('data', (d) => {
      written += String(d);
    });
    const done = new Promise((resolve) => writer.on('close', resolve));
    const limit = 1024 * 1024;
    expect(() => readInput(fifo, limit)).toThrow(
      `${fifo} is too large (more than ${limit} bytes): tyokyky map reads at most 1 MiB (one record or one object)`,
    );
    await done;
    // What the writer got in: the limit, a chunk, and what the pipe's buffer held when it closed.
    expect(Number(written)).toBeLessThan(limit + 2 * 1024 * 1024);
  });

  it('a pipe within the limit is read whole', () => {
    const file = join(dir, 'small.json');
    writeFileSync(file, '{"a":1}');
    const r = spawnSync(
      'sh',
      ['-c', `cat '${file}' | '${process.execPath}' bin/tyokyky.js map --from-fhir -`],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    // Read whole (then refused as no FHIR resource: the JSON itself came through).
    expect(r.stderr).toContain('resourceType: input is not a FHIR resource');
  });

  it(`a file over ${MAX_INPUT_BYTES} bytes is refused as too large before it is read`, () => {
    const file = join(dir, 'huge.json');
    writeFileSync(file, '');
    truncateSync(file, MAX_INPUT_BYTES + 1);
    const r = runHere({ fromFhir: file });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `${file} is too large (${MAX_INPUT_BYTES + 1} bytes): tyokyky map reads at most 64 MiB`,
    );
  });
});
