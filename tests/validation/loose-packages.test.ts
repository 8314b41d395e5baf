// `packages` / `--package` given as loose conformance resources: a .json file, a Bundle, a folder without package.json.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import type { StructureDefinition } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createValidator } from '../../src/validation/index.ts';

const root = resolve(import.meta.dirname, '../..');
const PROFILE = 'http://example.org/StructureDefinition/patient-with-gender';
const text = { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><p>x</p></div>' };
const noGender = { resourceType: 'Patient', id: 'p1', text, meta: { profile: [PROFILE] } };
const withGender = { ...noGender, gender: 'female' };
const GENDER_RULE = 'Patient.gender: minimum required = 1, but only found 0';

let dir: string;

/** A profile on Patient requiring gender, built from the core snapshot (the engine generates none). */
async function genderProfile(): Promise<StructureDefinition> {
  const core = await createValidator({ fiBase: false, terminology: false, invariants: false });
  const base = structuredClone(
    core.registry.resolve('http://hl7.org/fhir/StructureDefinition/Patient') as StructureDefinition,
  );
  for (const e of base.snapshot?.element ?? []) if (e.path === 'Patient.gender') e.min = 1;
  return {
    ...base,
    id: 'patient-with-gender',
    url: PROFILE,
    name: 'PatientWithGender',
    derivation: 'constraint',
    baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Patient',
    differential: { element: [{ id: 'Patient.gender', path: 'Patient.gender', min: 1 }] },
  };
}

function errorsOf(oo: { issue?: Array<{ severity: string; diagnostics?: string; expression?: string[] }> }) {
  return (oo.issue ?? [])
    .filter((i) => i.severity === 'error')
    .map((i) => `${i.expression?.[0]} | ${i.diagnostics}`);
}

/** The XML form, written with the same library that reads it. */
function fhirXml(resource: unknown): string {
  const { Fhir } = createRequire(import.meta.url)('fhir') as {
    Fhir: new () => { objToXml(o: unknown): string };
  };
  return new Fhir().objToXml(resource);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tyokyky-loose-'));
  const sd = await genderProfile();
  writeFileSync(join(dir, 'profile.json'), JSON.stringify(sd));
  writeFileSync(
    join(dir, 'bundle.json'),
    JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: sd }] }),
  );
  mkdirSync(join(dir, 'folder', 'sub'), { recursive: true });
  writeFileSync(join(dir, 'folder', 'sub', 'profile.json'), JSON.stringify(sd));
  // JSON that parses but holds no conformance resource: skipped, as in a package.
  writeFileSync(join(dir, 'folder', 'notes.json'), '{ "note": "not a resource" }');
  writeFileSync(join(dir, 'folder', 'build.xml'), '<project name="not FHIR"/>');
  // A conformance file with a UTF-8 byte order mark, as some editors save them: read as validate reads one.
  mkdirSync(join(dir, 'bom-folder'), { recursive: true });
  writeFileSync(join(dir, 'bom-folder', 'profile.json'), `\uFEFF${JSON.stringify(sd)}`);
  writeFileSync(join(dir, 'bom-profile.json'), `\uFEFF${JSON.stringify(sd)}`);
  // A folder whose profile does not parse (a trailing comma): loading it must fail, not skip the file.
  mkdirSync(join(dir, 'trailing-comma', 'sub'), { recursive: true });
  writeFileSync(join(dir, 'trailing-comma', 'sub', 'profile.json'), JSON.stringify(sd));
  writeFileSync(
    join(dir, 'trailing-comma', 'StructureDefinition-my-patient.json'),
    `${JSON.stringify(sd).slice(0, -1)},}`,
  );
  writeFileSync(join(dir, 'not-a-package.tgz'), '{ not a tarball');
  mkdirSync(join(dir, 'cut-xml'), { recursive: true });
  writeFileSync(join(dir, 'cut-xml', 'profile.xml'), fhirXml(sd).slice(0, -40));
  writeFileSync(join(dir, 'broken.json'), '{ not json');
  writeFileSync(join(dir, 'no-gender.json'), JSON.stringify(noGender));
  writeFileSync(join(dir, 'with-gender.json'), JSON.stringify(withGender));
  mkdirSync(join(dir, 'xml'), { recursive: true });
  writeFileSync(join(dir, 'xml', 'profile.xml'), fhirXml(sd));
  writeFileSync(join(dir, 'no-gender.xml'), fhirXml(noGender));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('createValidator({ packages }) with loose conformance resources', () => {
  for (const source of [
    'profile.json',
    'bundle.json',
    'folder',
    'xml',
    'xml/profile.xml',
    'bom-folder',
    'bom-profile.json',
  ]) {
    it(`loads the profile from ${source}`, async () => {
      const v = await createValidator({ fiBase: false, packages: [join(dir, source)] });
      expect(v.registry.resolve(PROFILE)).toBeDefined();
      expect(errorsOf(v.validate(noGender))).toEqual([`Patient | ${GENDER_RULE} (from ${PROFILE})`]);
      expect(errorsOf(v.validate(withGender))).toEqual([]);
      expect(v.packages.map((p) => p.name)).toContain(`file:${join(dir, source)}`);
    });
  }

  it('rejects a named file that is not JSON, naming the package', async () => {
    const given = join(dir, 'broken.json');
    await expect(createValidator({ fiBase: false, packages: [given] })).rejects.toThrow(
      new RegExp(`^cannot load package ${given}: .*JSON`),
    );
  });

  it('rejects a tarball that is none, naming the package', async () => {
    const given = join(dir, 'not-a-package.tgz');
    await expect(createValidator({ fiBase: false, packages: [given] })).rejects.toThrow(
      `cannot load package ${given}: TAR_BAD_ARCHIVE`,
    );
  });

  it('rejects a folder holding a file that does not parse, naming the file and the error', async () => {
    const given = join(dir, 'trailing-comma');
    const file = join(given, 'StructureDefinition-my-patient.json');
    await expect(createValidator({ fiBase: false, packages: [given] })).rejects.toThrow(
      new RegExp(`^cannot load package ${given}: ${file}: .*JSON at position`),
    );
  });

  it('rejects a package (with package.json) holding a file that does not parse, naming the file', async () => {
    const given = join(dir, 'broken-package');
    mkdirSync(given, { recursive: true });
    writeFileSync(join(given, 'package.json'), JSON.stringify({ name: 'my.ig', version: '0.1.0' }));
    writeFileSync(join(given, 'StructureDefinition-broken.json'), '{"resourceType": "StructureDefinition",}');
    // A byte order mark is no parse error.
    writeFileSync(
      join(given, 'StructureDefinition-bom.json'),
      `\uFEFF${JSON.stringify(await genderProfile())}`,
    );
    await expect(createValidator({ fiBase: false, packages: [given] })).rejects.toThrow(
      `cannot load package ${given}: ${join(given, 'StructureDefinition-broken.json')}: `,
    );
    rmSync(join(given, 'StructureDefinition-broken.json'));
    const validator = await createValidator({ fiBase: false, packages: [given] });
    expect(validator.packages.map((p) => p.name)).toContain('my.ig');
  });

  it('reads a file its .index.json lists as it reads the others: a BOM is none, a parse error names the file', async () => {
    const given = join(dir, 'indexed-package');
    mkdirSync(given, { recursive: true });
    writeFileSync(join(given, 'package.json'), JSON.stringify({ name: 'my.indexed', version: '0.1.0' }));
    const files = [
      { filename: 'StructureDefinition-bom.json', resourceType: 'StructureDefinition', url: PROFILE },
      {
        filename: 'StructureDefinition-cut.json',
        resourceType: 'StructureDefinition',
        url: 'https://example.org/fhir/StructureDefinition/cut',
      },
    ];
    writeFileSync(join(given, '.index.json'), JSON.stringify({ 'index-version': 1, files }));
    writeFileSync(
      join(given, 'StructureDefinition-bom.json'),
      `\uFEFF${JSON.stringify(await genderProfile())}`,
    );
    writeFileSync(
      join(given, 'StructureDefinition-cut.json'),
      '{"resourceType": "StructureDefinition", "url": "Suvi',
    );
    const v = await createValidator({ fiBase: false, packages: [given] });
    expect(errorsOf(v.validate(noGender))).toEqual([`Patient | ${GENDER_RULE} (from ${PROFILE})`]);
    // Parsed on first use: the error names the file and quotes none of its text.
    expect(() => v.registry.resolve('https://example.org/fhir/StructureDefinition/cut')).toThrow(
      new RegExp(`^${join(given, 'StructureDefinition-cut.json')}: [^"]*$`),
    );
  });

  it('rejects a folder holding an XML file cut short, naming the file', async () => {
    const given = join(dir, 'cut-xml');
    await expect(createValidator({ fiBase: false, packages: [given] })).rejects.toThrow(
      `cannot load package ${given}: ${join(given, 'profile.xml')}: `,
    );
  });

  it('rejects a folder with neither package.json nor JSON files', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    await expect(createValidator({ fiBase: false, packages: [empty] })).rejects.toThrow(/Not a FHIR package/);
  });
});

function tyokyky(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ['bin/tyokyky.js', ...args], { cwd: root }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('tyokyky validate --package / --ig with loose resources', () => {
  it('applies a profile from a folder given with --ig', async () => {
    const [bad, good, badXml] = await Promise.all([
      tyokyky('validate', join(dir, 'no-gender.json'), '--ig', join(dir, 'folder')),
      tyokyky('validate', join(dir, 'with-gender.json'), '--package', join(dir, 'profile.json')),
      tyokyky('validate', join(dir, 'no-gender.xml'), '--ig', join(dir, 'xml')),
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(GENDER_RULE);
    expect(badXml.code).toBe(1);
    expect(badXml.stdout).toContain(GENDER_RULE);
    expect(good.stdout).toContain('valid');
    expect(good.code).toBe(0);
  }, 60_000);

  it('a file in a --package folder that does not parse is a usage error naming it as the path was given (exit 2)', async () => {
    // Given relative to the working folder, as a user types it: the file is named under that path.
    const given = relative(root, join(dir, 'trailing-comma'));
    const r = await tyokyky('validate', join(dir, 'no-gender.json'), '--package', given);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      new RegExp(
        `^tyokyky validate: cannot load package ${given}: ${join(given, 'StructureDefinition-my-patient.json')}: .*JSON at position \\d+`,
      ),
    );
  }, 60_000);
});
