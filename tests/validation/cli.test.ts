// The `tyokyky validate` command, run as a user runs it: a child process (bin/tyokyky.js).
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FI_BASE } from '../../src/validation/index.ts';
import { findPackage } from '../../src/validation/packages.ts';

const root = resolve(import.meta.dirname, '../..');
// The `bad` run applies the FI Base patient profile; without the FI Base package it is an unknown profile.
const NO_FI = !findPackage(FI_BASE.name, FI_BASE.version);
const NEEDS_FI = NO_FI ? ' [skipped: needs the FI Base package hl7.fhir.fi.base, not found]' : '';
const FI_PATIENT = 'https://hl7.fi/fhir/finnish-base-profiles/StructureDefinition/fi-base-patient';
const text = { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><p>x</p></div>' };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function tyokyky(...args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['bin/tyokyky.js', ...args],
      { cwd: root, env: { ...process.env, FORCE_COLOR: '0' }, maxBuffer: 32 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

let dir: string;
const runs: Record<string, Promise<Run>> = {};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tyokyky-validate-cli-'));
  const good = join(dir, 'good');
  mkdirSync(join(good, 'nested'), { recursive: true });
  writeFileSync(
    join(good, 'patient.json'),
    JSON.stringify({ resourceType: 'Patient', id: 'p1', text, active: true }),
  );
  writeFileSync(
    join(good, 'nested', 'bundle.json'),
    JSON.stringify({
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        {
          fullUrl: 'urn:uuid:0b5f4f36-5d0e-4a53-9a3b-1d2f3e4a5b6c',
          resource: { resourceType: 'Patient', text, gender: 'female' },
        },
      ],
    }),
  );
  writeFileSync(
    join(good, 'many.ndjson'),
    `${JSON.stringify({ resourceType: 'Patient', id: 'a', text })}\n\n${JSON.stringify({ resourceType: 'Organization', id: 'o', text, name: 'Sote' })}\n`,
  );
  writeFileSync(join(good, 'notes.txt'), 'not a resource; directories only pick up .json/.ndjson');
  const bad = join(dir, 'bad.ndjson');
  writeFileSync(
    bad,
    `${JSON.stringify({ resourceType: 'Patient', id: 'ok', text })}\n${JSON.stringify({ resourceType: 'Patient', id: 'x', text, gender: 'mal' })}\n{"id": x010181-900C}\n{"resourceType":"Patient","id":"d","active":true,"active":false}\n`,
  );
  writeFileSync(
    join(dir, 'fi-patient.json'),
    JSON.stringify({
      resourceType: 'Patient',
      id: 'f',
      text,
      identifier: [{ use: 'official', system: 'urn:oid:1.2.246.999', value: '010181-900C' }],
    }),
  );

  // Start every run at once: each pays a process start and validator loading, so overlap them.
  // --package: the FI Base package given explicitly (when this machine has it) loads on top of the rest.
  const fiBase = findPackage(FI_BASE.name, FI_BASE.version);
  runs.good = tyokyky('validate', ...(fiBase ? ['--package', fiBase] : []), good);
  // One run covers NDJSON output, parse errors and --profile (FI Base patient applies to every resource).
  runs.bad = tyokyky(
    'validate',
    '--format',
    'ndjson',
    '--profile',
    FI_PATIENT,
    bad,
    join(dir, 'fi-patient.json'),
  );
  runs.missing = tyokyky('validate', join(dir, 'nowhere.json'));
  runs.badFormat = tyokyky('validate', '--format', 'xml', good);
  runs.unknownProfile = tyokyky('validate', '--profile', 'http://example.org/StructureDefinition/none', good);
  runs.noArgs = tyokyky('validate');
  // XML cut off before its end: every element so far complete, the root never closed.
  const truncated = join(dir, 'truncated.xml');
  writeFileSync(truncated, '<Patient xmlns="http://hl7.org/fhir"><active value="true"/>');
  runs.truncatedXml = tyokyky('validate', truncated);
  // An example URL: accepted by default, refused with --no-allow-examples (the HL7 command line's default).
  const example = join(dir, 'example-url.json');
  writeFileSync(
    example,
    JSON.stringify({
      resourceType: 'DocumentReference',
      id: 'd',
      text,
      status: 'current',
      content: [{ attachment: { contentType: 'text/plain', url: 'http://repository.example.org/d' } }],
    }),
  );
  runs.examplesAllowed = tyokyky('validate', '--format', 'ndjson', example);
  runs.examplesRefused = tyokyky('validate', '--format', 'ndjson', '--no-allow-examples', example);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

// Each run starts a process and loads the validator; on a busy 2-core machine that takes a while.
const SLOW = 180_000;

describe('tyokyky validate', { timeout: SLOW }, () => {
  it('walks directories (JSON, Bundles, NDJSON), takes --package, reports each resource and exits 0 when nothing has errors', async () => {
    const r = await runs.good;
    expect(r.stderr).not.toMatch(/Error|error:/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/✓ .*many\.ndjson:1: valid/);
    expect(r.stdout).toMatch(/✓ .*many\.ndjson:3: valid/);
    expect(r.stdout).toMatch(/✓ .*nested\/bundle\.json: valid/);
    expect(r.stdout).toMatch(/✓ .*patient\.json: valid/);
    expect(r.stdout).not.toContain('notes.txt');
    expect(r.stdout).toContain('4 resource(s): 4 valid, 0 with errors');
  });

  it.skipIf(NO_FI)(
    `--format ndjson prints one line per resource with source, valid, counts and the OperationOutcome; exit 1 on errors${NEEDS_FI}`,
    async () => {
      const r = await runs.bad;
      expect(r.code).toBe(1);
      const lines = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines.map((l) => [l.source.replace(dir, ''), l.valid])).toEqual([
        ['/bad.ndjson:1', true],
        ['/bad.ndjson:2', false],
        ['/bad.ndjson:3', false],
        ['/bad.ndjson:4', false],
        ['/fi-patient.json', false],
      ]);
      expect(lines[0]).toMatchObject({ errors: 0, outcome: { resourceType: 'OperationOutcome' } });
      expect(lines[1].errors).toBe(1);
      expect(lines[1].outcome.issue).toContainEqual(
        expect.objectContaining({
          severity: 'error',
          expression: ['Patient.gender'],
          diagnostics: expect.stringContaining("'mal'"),
        }),
      );
      expect(lines[2]).toMatchObject({ valid: false, errors: 1, warnings: 0 });
      expect(lines[2].outcome.issue[0]).toMatchObject({
        severity: 'fatal',
        diagnostics: expect.stringMatching(/^Cannot parse .*bad\.ndjson:3: Unexpected token in JSON$/),
      });
      // V8's own message would quote the line, HETU included.
      expect(r.stdout).not.toContain('010181-900C}');
      // JSON.parse would keep the last "active"; FHIR JSON forbids repeated names and so do we.
      expect(lines[3].outcome.issue[0]).toMatchObject({
        severity: 'fatal',
        diagnostics: expect.stringContaining("Duplicated property name 'active'"),
      });
    },
  );

  it.skipIf(NO_FI)(`--profile applies a profile to every resource${NEEDS_FI}`, async () => {
    const r = await runs.bad;
    const line = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))[4];
    expect(line.outcome.issue).toContainEqual(
      expect.objectContaining({
        severity: 'error',
        expression: ['Patient.identifier[0].system'],
        diagnostics: expect.stringContaining(FI_PATIENT),
      }),
    );
  });

  it('--no-allow-examples refuses example URLs, which are accepted by default', async () => {
    const [allowed, refused] = await Promise.all([runs.examplesAllowed, runs.examplesRefused]);
    expect(allowed.code).toBe(0);
    expect(refused.code).toBe(1);
    const issues = JSON.parse(refused.stdout.trim()).outcome.issue.filter(
      (i: { severity: string }) => i.severity === 'error',
    );
    expect(
      issues.map((i: { expression: string[]; diagnostics: string }) => [i.expression[0], i.diagnostics]),
    ).toEqual([
      [
        'DocumentReference.content[0].attachment.url',
        'Example URLs are not allowed in this context (http://repository.example.org/d)',
      ],
    ]);
  });

  it('reports a truncated XML document as a fatal issue, with its position, and exits 1', async () => {
    const r = await runs.truncatedXml;
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /truncated\.xml: 1 error\(s\)[\s\S]*Cannot parse .*truncated\.xml: the document ends before its root element is closed: truncated, or a tag left open \(line 1, column 59\)/,
    );
  });

  it('exits 2 on a missing file, an unknown profile, a bad option value or no paths', async () => {
    const [missing, unknownProfile, badFormat, noArgs] = await Promise.all([
      runs.missing,
      runs.unknownProfile,
      runs.badFormat,
      runs.noArgs,
    ]);
    expect([missing.code, unknownProfile.code, badFormat.code, noArgs.code]).toEqual([2, 2, 2, 2]);
    expect(missing.stderr).toContain('no such file or directory');
    expect(unknownProfile.stderr).toContain("unknown profile 'http://example.org/StructureDefinition/none'");
    expect(badFormat.stderr).toContain("argument 'xml' is invalid");
    expect(noArgs.stderr).toContain("missing required argument 'paths'");
    expect(missing.stdout + unknownProfile.stdout).toBe('');
  });
});
