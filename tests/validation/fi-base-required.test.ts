// FI Base (hl7.fhir.fi.base) is not shipped with the package: without it its own rules go unchecked,
// which `fiBase: 'required'` refuses and `fiBaseMissing` says, naming the package, the folders searched
// and how to supply it. The "missing" cases point the search path at empty folders (a checkout also
// searches ../shared); the end-to-end missing case, an installed package, is in tests/package/pack.test.ts.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Extension, Patient } from '@medplum/fhirtypes';
import { afterAll, describe, expect, it } from 'vitest';
import { suvi } from '../../examples/tools/personas.ts';
import { toFhir } from '../../src/mapping/index.ts';
import {
  FI_BASE,
  createValidator,
  fiBaseMissing,
  packageSearchPath,
  projectPackages,
} from '../../src/validation/index.ts';
import { fiBaseNotFound, findFiBase } from '../../src/validation/packages.ts';

const tmp = mkdtempSync(join(tmpdir(), 'tyokyky-fi-base-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const FOUND = findFiBase();
const NEEDS_FI = FOUND
  ? ''
  : ' [skipped: needs hl7.fhir.fi.base-2.0.0-rc2 in ../shared/fhir-packages, TYOKYKY_FHIR_PACKAGES or ~/.fhir/packages]';

/** A tyokyky-patient from `toFhir` whose FI Base municipality extension carries a string, not a Coding. */
function patientWithStringMunicipality(): Patient {
  const patient = toFhir(suvi)
    .entry?.map((e) => e.resource)
    .find((r) => r?.resourceType === 'Patient') as Patient;
  const i = patient.extension?.findIndex((e) => e.url.endsWith('/municipality-code')) ?? -1;
  const { valueCoding, ...municipality } = patient.extension?.[i] as Extension;
  expect(valueCoding).toBeDefined();
  patient.extension?.splice(i, 1, { ...municipality, valueString: '091' });
  return patient;
}

describe('FI Base not found', () => {
  // An installed package's search path (no ../shared) with an empty home and no TYOKYKY_FHIR_PACKAGES.
  const installed = join(tmp, 'app', 'node_modules', 'tyokyky-fhir');
  const home = join(tmp, 'home');
  mkdirSync(installed, { recursive: true });
  mkdirSync(home, { recursive: true });
  const searchPath = packageSearchPath([], installed, { HOME: home });

  it('the search path is only the empty home cache, and holds no FI Base', () => {
    expect(searchPath).toEqual([join(home, '.fhir', 'packages')]);
    expect(findFiBase(searchPath)).toBeUndefined();
  });

  it('the message names the package, its version, the folders searched and how to supply it', () => {
    const message = fiBaseNotFound(searchPath);
    expect(message).toMatch(
      /^FI Base \(hl7\.fhir\.fi\.base 2\.0\.0-rc2\) not found: its own rules are not checked \(searched /,
    );
    expect(message).toContain(`(searched ${join(home, '.fhir', 'packages')})`);
    expect(message).toContain('TYOKYKY_FHIR_PACKAGES');
    expect(message).toContain('~/.fhir/packages');
    expect(message).toContain('--package');
    expect(message).toContain('docs/validation.md');
    expect(message).not.toContain('\n');
  });

  it('a validator whose packages hold no FI Base: fiBaseMissing says so', async () => {
    const noFi = await createValidator({ fiBase: false, terminology: false, invariants: false });
    expect(noFi.packages.map((p) => p.name)).not.toContain(FI_BASE.name);
    expect(fiBaseMissing(noFi)).toMatch(/^FI Base \(hl7\.fhir\.fi\.base 2\.0\.0-rc2\) not found: /);
    expect(fiBaseMissing({ packages: [{ name: FI_BASE.name, version: FI_BASE.version }] })).toBeUndefined();
  });
});

describe('FI Base found', () => {
  it.skipIf(!FOUND)(
    `fiBase: 'required' loads it, and its own rules are checked (the municipality extension's value type)${NEEDS_FI}`,
    async () => {
      const patient = patientWithStringMunicipality();
      const required = await createValidator({ packages: projectPackages(), fiBase: 'required' });
      expect(required.packages.map((p) => p.name)).toContain(FI_BASE.name);
      expect(fiBaseMissing(required)).toBeUndefined();
      expect(fiBaseMissing(projectPackages())).toBeUndefined();
      const errors = required.validate(patient).issue.filter((i) => i.severity === 'error');
      expect(errors).toEqual([
        expect.objectContaining({
          expression: ['Patient.extension[0].valueString'],
          diagnostics: expect.stringContaining('municipality-code'),
        }),
      ]);
      // Without FI Base the same patient passes: what fiBase: 'required' is for.
      const without = await createValidator({ packages: projectPackages(), fiBase: false });
      expect(without.validate(patient).issue.filter((i) => i.severity === 'error')).toEqual([]);
    },
  );

  it.skipIf(!FOUND)(`given as a package, it is not looked up: fiBaseMissing says nothing${NEEDS_FI}`, () => {
    expect(fiBaseMissing([FOUND as string])).toBeUndefined();
  });
});
