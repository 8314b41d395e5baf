import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createValidator } from '../../../src/validation/index.ts';
import {
  PROJECT_ROOT,
  findPackage,
  openPackage,
  packageSearchPath,
} from '../../../src/validation/packages.ts';
import { Registry } from '../../../src/validation/registry.ts';
import { ProfileBuilder } from './profiles.ts';

const FI_TGZ = join(process.cwd(), '..', 'shared', 'fhir-packages', 'hl7.fhir.fi.base-2.0.0-rc2.tgz');
const FI_PATIENT = 'https://hl7.fi/fhir/finnish-base-profiles/StructureDefinition/fi-base-patient';
// Without ../shared (a fresh clone elsewhere) the tests that open the FI Base tarball are skipped, saying why.
const NO_FI = !existsSync(FI_TGZ);
const NEEDS_FI = NO_FI ? ' [skipped: needs hl7.fhir.fi.base-2.0.0-rc2.tgz in ../shared/fhir-packages]' : '';
const tmp = mkdtempSync(join(tmpdir(), 'tyokyky-engine-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('registry', () => {
  const core = new Registry();
  core.loadCore();

  it('resolves core definitions by canonical, url|version and type name', () => {
    expect(core.structureDefinition('Patient')?.url).toBe('http://hl7.org/fhir/StructureDefinition/Patient');
    expect(core.resolve('http://hl7.org/fhir/StructureDefinition/Patient|4.0.1')?.id).toBe('Patient');
    expect(core.valueSet('http://hl7.org/fhir/ValueSet/administrative-gender')?.resourceType).toBe(
      'ValueSet',
    );
    expect(core.codeSystem('http://hl7.org/fhir/administrative-gender')?.resourceType).toBe('CodeSystem');
    expect(core.resolve('http://example.org/none')).toBeUndefined();
  });

  it('lists every resource of a type', () => {
    const sds = core.all('StructureDefinition');
    expect(sds.length).toBeGreaterThan(600);
    expect(sds.every((s) => s.resourceType === 'StructureDefinition')).toBe(true);
  });
});

describe('FHIR packages', () => {
  it.skipIf(NO_FI)(`unpacks a tarball it has not seen into the cache${NEEDS_FI}`, () => {
    const copy = join(tmp, 'fresh', 'hl7.fhir.fi.base-2.0.0-rc2.tgz');
    cpSync(FI_TGZ, copy);
    const pkg = openPackage(copy);
    try {
      expect(pkg).toMatchObject({ name: 'hl7.fhir.fi.base', version: '2.0.0-rc2' });
      expect(existsSync(join(pkg.dir, 'StructureDefinition-fi-base-patient.json'))).toBe(true);
    } finally {
      rmSync(dirname(pkg.dir), { recursive: true, force: true }); // the cache entry keyed by this temp path
    }
  });

  it.skipIf(NO_FI)(`opens a tarball and an unpacked folder${NEEDS_FI}`, () => {
    const fromTgz = openPackage(FI_TGZ);
    expect(fromTgz).toMatchObject({ name: 'hl7.fhir.fi.base', version: '2.0.0-rc2' });
    const copy = join(tmp, 'fi-folder');
    cpSync(join(fromTgz.dir), join(copy, 'package'), { recursive: true });
    expect(openPackage(copy).name).toBe('hl7.fhir.fi.base');
    const reg = new Registry();
    reg.loadPackage(openPackage(copy));
    expect(reg.structureDefinition(FI_PATIENT)?.type).toBe('Patient');
  });

  it('unpacks a tarball under the cache root (TYOKYKY_CACHE_DIR), never inside the installed package', async () => {
    const src = join(tmp, 'mini-src');
    mkdirSync(join(src, 'package'), { recursive: true });
    writeFileSync(
      join(src, 'package', 'package.json'),
      JSON.stringify({ name: 'example.mini', version: '1.0.0' }),
    );
    const tgz = join(tmp, 'example.mini-1.0.0.tgz');
    const tar = (await import('tar')) as typeof import('tar');
    tar.c({ file: tgz, cwd: src, sync: true, gzip: true }, ['package']);
    const cache = join(tmp, 'cache-root');
    const previous = process.env.TYOKYKY_CACHE_DIR;
    process.env.TYOKYKY_CACHE_DIR = cache;
    try {
      const pkg = openPackage(tgz);
      expect(pkg).toMatchObject({ name: 'example.mini', version: '1.0.0' });
      expect(pkg.dir.startsWith(join(cache, 'tyokyky-fhir-packages'))).toBe(true);
      expect(pkg.dir.startsWith(PROJECT_ROOT)).toBe(false);
    } finally {
      if (previous === undefined) Reflect.deleteProperty(process.env, 'TYOKYKY_CACHE_DIR');
      else process.env.TYOKYKY_CACHE_DIR = previous;
    }
  });

  it('rejects a folder that is not a package', () => {
    expect(() => openPackage(tmp)).toThrow(/Not a FHIR package/);
  });

  it.skipIf(NO_FI)(
    `searches TYOKYKY_FHIR_PACKAGES before the shared folder and ~/.fhir/packages${NEEDS_FI}`,
    () => {
      const dir = join(tmp, 'pkgs');
      cpSync(FI_TGZ, join(dir, 'hl7.fhir.fi.base-2.0.0-rc2.tgz'));
      const dirs = packageSearchPath([], PROJECT_ROOT, { TYOKYKY_FHIR_PACKAGES: dir });
      expect(dirs[0]).toBe(dir);
      expect(dirs.at(-1)).toMatch(/\.fhir[/\\]packages$/);
      expect(findPackage('hl7.fhir.fi.base', '2.0.0-rc2', [dir])).toBe(
        join(dir, 'hl7.fhir.fi.base-2.0.0-rc2.tgz'),
      );
      expect(findPackage('hl7.fhir.fi.base', '9.9.9', [dir])).toBeUndefined();
    },
  );

  it.skipIf(NO_FI)(
    `validates against FI Base when loaded and warns about FI Base profiles when it is absent${NEEDS_FI}`,
    async () => {
      const fi = {
        resourceType: 'Patient',
        meta: { profile: [FI_PATIENT] },
        text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' },
      };
      const without = await createValidator({ fiBase: false });
      expect(without.validate(fi).issue?.map((i) => `${i.severity} ${i.diagnostics}`)).toEqual([
        `warning Profile reference '${FI_PATIENT}' has not been checked because it could not be found`,
      ]);
      const withFi = await createValidator({ packages: [FI_TGZ] });
      expect(withFi.packages.map((p) => p.name)).toEqual(['hl7.fhir.r4.core', 'hl7.fhir.fi.base']);
      expect(
        withFi.validate({
          ...fi,
          identifier: [{ use: 'official', system: 'urn:oid:1.2.246.21', value: 'x' }],
          gender: 'x',
        }).issue?.[0]?.diagnostics,
      ).toContain(`(from ${FI_PATIENT})`);
    },
  );

  it.skipIf(NO_FI)(
    `judges a versioned FI Base meta.profile by the package's version (its definitions carry none)${NEEDS_FI}`,
    async () => {
      const v = await createValidator({ packages: [FI_TGZ] });
      expect((v.registry.resolve(FI_PATIENT) as { version?: string } | undefined)?.version).toBeUndefined();
      const claiming = (profile: string) => ({
        resourceType: 'Patient',
        meta: { profile: [profile] },
        text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' },
        identifier: [{ use: 'official', system: 'urn:oid:1.2.246.537.6.12', value: '1' }],
      });
      expect(
        v.validate(claiming(`${FI_PATIENT}|9.9.9`)).issue?.map((i) => `${i.severity} ${i.diagnostics}`),
      ).toEqual([
        `warning Profile reference '${FI_PATIENT}|9.9.9' has not been checked because it could not be found`,
      ]);
      for (const version of ['2.0.0-rc2', '2.0']) {
        expect(
          v.validate(claiming(`${FI_PATIENT}|${version}`)).issue?.map((i) => i.diagnostics),
          version,
        ).toEqual([
          `Patient.identifier.system: value is 'urn:oid:1.2.246.537.6.12' but must be 'urn:oid:1.2.246.21' (from ${FI_PATIENT})`,
        ]);
      }
    },
  );

  it("judges a versioned profile without a version of its own by its package's version", async () => {
    const pkg = join(tmp, 'ig-unversioned', 'package');
    const sd = new ProfileBuilder('Patient', 'unversioned-active').set('Patient.active', { min: 1 }).build();
    (sd as { version?: string }).version = undefined; // as FI Base's definitions: none
    mkdirSync(pkg, { recursive: true });
    writeFileSync(
      join(pkg, 'package.json'),
      JSON.stringify({ name: 'example.unversioned', version: '1.2.0' }),
    );
    writeFileSync(join(pkg, 'StructureDefinition-unversioned-active.json'), JSON.stringify(sd));
    const v = await createValidator({ packages: [join(tmp, 'ig-unversioned')], fiBase: false });
    const found = (profile: string) =>
      v
        .validate({
          resourceType: 'Patient',
          meta: { profile: [profile] },
          text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' },
        })
        .issue?.map((i) => i.diagnostics);
    expect(v.registry.holdsVersion(`${sd.url}|1.2.0`)).toBe(true);
    expect(v.registry.holdsVersion(`${sd.url}|1.2`)).toBe(true);
    expect(v.registry.holdsVersion(`${sd.url}|9.9.9`)).toBe(false);
    expect(found(`${sd.url}|9.9.9`)).toEqual([
      `Profile reference '${sd.url}|9.9.9' has not been checked because it could not be found`,
    ]);
    expect(found(`${sd.url}|1.2.0`)).toEqual([
      `Patient.active: minimum required = 1, but only found 0 (from ${sd.url})`,
    ]);
    // A definition given alone (no package, no version of its own): no version to compare, so any is taken.
    const loose = await createValidator({ resources: [{ ...sd, url: `${sd.url}-loose` }], fiBase: false });
    expect(loose.registry.holdsVersion(`${sd.url}-loose|9.9.9`)).toBe(true);
  });

  it('loads an IG package folder with its own profiles', async () => {
    const pkg = join(tmp, 'ig', 'package');
    const sd = new ProfileBuilder('Patient', 'only-active').set('Patient.active', { min: 1 }).build();
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'example.ig', version: '1.0.0' }));
    writeFileSync(join(pkg, 'StructureDefinition-only-active.json'), JSON.stringify(sd));
    const v = await createValidator({ packages: [join(tmp, 'ig')], fiBase: false });
    expect(
      v
        .validate({ resourceType: 'Patient', meta: { profile: [sd.url] } })
        .issue?.filter((i) => i.severity === 'error')
        .map((i) => i.diagnostics),
    ).toEqual([`Patient.active: minimum required = 1, but only found 0 (from ${sd.url})`]);
  });
});
