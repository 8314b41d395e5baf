import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KANTA_PACKAGE_DIR, buildKantaPackage, locateSource } from '../../profiles/kanta-phr/build.ts';
import { type Validator, loadProjectValidator } from '../../src/validation/index.ts';

function files(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
}

const source = locateSource();

describe.skipIf(!source)(
  'Kanta PHR package rebuild (needs hl7.fhir.fi.base-0.4.0.tgz in ../shared/fhir-packages/kanta-phr/)',
  () => {
    // Made in beforeAll: a skipped suite's body still runs, and its afterAll does not.
    let tmp = '';
    beforeAll(() => {
      tmp = mkdtempSync(join(tmpdir(), 'tyokyky-kanta-pkg-'));
    });
    afterAll(() => rmSync(tmp, { recursive: true, force: true }));

    it('an offline rebuild from the 0.4.0 tarball equals the committed profiles/kanta-phr/package', async () => {
      const out = join(tmp, 'package');
      const r = await buildKantaPackage({ source, out });
      expect(r).toMatchObject({ conformance: 47, examples: 31 });
      const committed = files(KANTA_PACKAGE_DIR).map((f) => relative(KANTA_PACKAGE_DIR, f));
      expect(files(out).map((f) => relative(out, f))).toEqual(committed);
      for (const f of committed) {
        expect(readFileSync(join(out, f), 'utf8'), `${f} differs; run npm run build:kanta`).toBe(
          readFileSync(join(KANTA_PACKAGE_DIR, f), 'utf8'),
        );
      }
    });
  },
);

/** Verdict of our validator on each of Kanta's examples, and for refusals the rule (expression + text). */
const EXPECTED: Record<string, 'accepted' | 'unchecked' | { expression: string; rule: RegExp }> = {
  'Bundle-diabetes-data-bundle-kantaphr-r4-en.json': 'accepted',
  'Bundle-diabetes-data-bundle-kantaphr-sv.json': 'unchecked',
  'Bundle-diabetes-data-bundle.json': 'unchecked',
  'CarePlan-b88191e3-ea47-4feb-9da9-e3b359fa8fca.json': {
    expression: 'CarePlan.status',
    rule: /value is 'active' but must be 'completed'/,
  },
  // Its identifier.system 'urn:uuid:ietf:rfc:3986' is not a UUID (meant: urn:ietf:rfc:3986): the example is wrong.
  'CarePlan-care-plan-optional.json': {
    expression: 'CarePlan.identifier[0].system',
    rule: /is not a valid urn:uuid/,
  },
  'MedicationAdministration-a4d97476-39fa-46c6-bf2e-1fb153a7bbe2.json': 'accepted',
  'MedicationAdministration-a4d97476-39fa-46c6-bf2e-1fb153a7bbe3.json': 'accepted',
  'MedicationAdministration-cee521bb-de12-4fdd-a86d-479a5b799810.json': 'accepted',
  'MedicationAdministration-d77e1b91-ad83-421e-97dd-7827bdb98833.json': 'unchecked',
  // Its declared profile is not in the R4 package, but LOINC 8302-2 brings in the core bodyheight profile.
  'Observation-1153859e-0c86-1000-abb8-511d0000b222.json': {
    expression: 'Observation',
    rule: /Observation\.category:VSCat: minimum required = 1.*StructureDefinition\/bodyheight/,
  },
  'Observation-2894b2e6-7ebf-4c33-93e4-31935effff21.json': 'accepted',
  'Observation-2894b2e6-7ebf-4c33-93e4-31935effff22.json': 'accepted',
  'Observation-4137d1c4-1e87-4e86-8c15-344ad086e3f8.json': 'accepted',
  'Observation-4137d1c4-1e87-4e86-8c15-344ad086e3f9.json': 'accepted',
  'Observation-48983b8b-ead3-4206-9583-fcdd40d762b6.json': 'accepted',
  'Observation-48983b8b-ead3-4206-9583-fcdd40d762b7.json': 'accepted',
  'Observation-542ae72e-c3b0-404f-8c06-8f77441e89f7.json': 'accepted',
  'Observation-542ae72e-c3b0-404f-8c06-8f77441e89f8.json': 'accepted',
  'Observation-71831b54-1a80-47c5-ba84-0180a5eb784a.json': 'accepted',
  'Observation-71831b54-1a80-47c5-ba84-0180a5eb784b.json': 'accepted',
  'Observation-bloodglucose-as-text.json': { expression: 'Observation', rule: /^PHR-3: / },
  'Observation-bloodglucose-data-absent.json': { expression: 'Observation', rule: /^PHR-3: / },
  'Observation-bloodglucose-max.json': {
    expression: 'Observation.category[0].coding[1].system',
    rule: /value is 'http:\/\/example.org\/CodeSystem\/categories' but must be 'http:\/\/terminology.hl7.org\/CodeSystem\/observation-category'/,
  },
  'Observation-bloodglucose-min.json': { expression: 'Observation', rule: /^PHR-2: / },
  'Observation-bloodpressure-max.json': {
    expression: 'Observation.note[0].text',
    rule: /@value cannot be empty/,
  },
  'Observation-bloodpressure-min.json': 'accepted',
  'Observation-bodyweight-max.json': 'accepted',
  'Observation-bodyweight-min.json': 'accepted',
  'Observation-mtvpa-max.json': 'accepted',
  'Observation-mtvpa-min.json': 'accepted',
  'Patient-36749a02-1710-44e7-aa76-0e934eb7860a.json': 'accepted',
};

const EXAMPLES = join(KANTA_PACKAGE_DIR, 'example');

describe("our validator on Kanta PHR's own examples (committed package, no ../shared needed)", () => {
  let v: Validator;
  beforeAll(async () => {
    v = await loadProjectValidator();
  });

  it('loads the Kanta PHR package alongside our IG', () => {
    expect(v.packages.map((p) => p.name)).toContain('tyokyky.kanta.phr.r4');
    expect(
      v.registry.resolve('http://phr.kanta.fi/StructureDefinition/fiphr-ext-creatingapplication'),
    ).toBeTruthy();
  });

  it('lists every example with a verdict', () => {
    const onDisk = readdirSync(EXAMPLES).filter((f) => f.endsWith('.json') && !f.startsWith('.'));
    expect(onDisk.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const [file, expected] of Object.entries(EXPECTED)) {
    it(`${file}: ${typeof expected === 'string' ? expected : `refused (${expected.expression})`}`, () => {
      const r = JSON.parse(readFileSync(join(EXAMPLES, file), 'utf8'));
      const resources =
        r.resourceType === 'Bundle' ? r.entry.map((e: { resource: unknown }) => e.resource) : [r];
      const issues: OperationOutcomeIssue[] = resources.flatMap((x: unknown) => v.validate(x).issue ?? []);
      const errors = issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
      const unchecked = resources.filter((x: { meta?: { profile?: string[] } }) =>
        (x.meta?.profile ?? []).every((p) => !v.registry.resolve(p)),
      );
      if (expected === 'accepted') {
        expect(errors).toEqual([]);
        expect(unchecked).toEqual([]);
      } else if (expected === 'unchecked') {
        expect(errors).toEqual([]);
        expect(unchecked.length).toBeGreaterThan(0);
        expect(
          issues.some((i) => /has not been checked because it could not be found/.test(i.diagnostics ?? '')),
        ).toBe(true);
      } else {
        expect(errors.length).toBeGreaterThan(0);
        expect(
          errors.some(
            (e) => e.expression?.[0] === expected.expression && expected.rule.test(e.diagnostics ?? ''),
          ),
          JSON.stringify(errors.map((e) => [e.expression?.[0], e.diagnostics])),
        ).toBe(true);
      }
    });
  }
});
