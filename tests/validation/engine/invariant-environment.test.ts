import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Validator, createValidator } from '../../../src/validation/index.ts';

// FHIRPath's standard environment variables (%sct, %loinc, %`vs-name`, %`ext-name`) and conformsTo(),
// as the HL7 validator evaluates them in a profile's constraints: a verdict, never "could not be evaluated".
const C = 'http://example.org/fhir/StructureDefinition/';
const inv = (key: string, expression: string) => ({
  key,
  severity: 'error',
  human: `${key} human`,
  expression,
  source: `${C}env`,
});
const profile = (id: string, type: string, constraint: ReturnType<typeof inv>[]) =>
  ({
    resourceType: 'StructureDefinition',
    id,
    url: C + id,
    name: id.replace(/-/g, ''),
    status: 'draft',
    kind: 'resource',
    abstract: false,
    type,
    baseDefinition: `http://hl7.org/fhir/StructureDefinition/${type}`,
    derivation: 'constraint',
    differential: { element: [{ id: type, path: type, constraint }] },
  }) as unknown as Resource;

const resources = [
  profile('env', 'Patient', [
    inv('t-sct', "%sct = 'http://snomed.info/sct'"),
    inv('t-loinc', "%loinc = 'http://loinc.org'"),
    inv('t-vs', "%`vs-administrative-gender` = 'http://hl7.org/fhir/ValueSet/administrative-gender'"),
    inv('t-ext', "%`ext-patient-birthPlace` = 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace'"),
    inv('f-sct', "%sct = 'http://loinc.org'"),
    inv('f-vs', "%`vs-administrative-gender` = 'http://hl7.org/fhir/ValueSet/marital-status'"),
    inv('t-ext-use', 'extension(%`ext-patient-birthPlace`).exists()'),
  ]),
  profile('conf', 'Patient', [
    inv('t-conf-core', "conformsTo('http://hl7.org/fhir/StructureDefinition/Patient')"),
    inv('t-conf-named', "conformsTo('http://example.org/fhir/StructureDefinition/named')"),
  ]),
  // Apart: a resource's verdict covers the profiles it claims, so a failing sibling would turn it false.
  profile('conf-false', 'Patient', [
    inv('f-conf-core', "conformsTo('http://hl7.org/fhir/StructureDefinition/Observation')"),
    inv('f-conf-many', "name.conformsTo('http://hl7.org/fhir/StructureDefinition/HumanName')"),
  ]),
  profile('named', 'Patient', [inv('named-1', 'name.exists()')]),
  profile('unknown-conf', 'Patient', [
    inv('u-conf', "conformsTo('http://example.org/fhir/StructureDefinition/nowhere')"),
  ]),
];

let v: Validator;
beforeAll(async () => {
  v = await createValidator({ resources, fiBase: false });
});

const patient = (profileId: string, extra: Record<string, unknown>) => ({
  resourceType: 'Patient',
  meta: { profile: [C + profileId] },
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' },
  ...extra,
});
const birthPlace = {
  url: 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace',
  valueAddress: { city: 'Oulu' },
};
const lines = (oo: OperationOutcome) =>
  (oo.issue ?? []).map((i) => `${i.severity}/${i.code} @${i.expression?.[0]}: ${i.diagnostics}`);

describe('FHIRPath environment variables in profile constraints', () => {
  it('%sct, %loinc, %`vs-…` and %`ext-…` have their standard values', () => {
    const out = lines(v.validate(patient('env', { name: [{ family: 'A' }], extension: [birthPlace] })));
    expect(out.filter((l) => l.includes('could not be evaluated'))).toEqual([]);
    const failed = out.filter((l) => l.includes('/invariant @Patient:')).map((l) => l.split(': ')[1]);
    expect(failed).toEqual(['f-sct', 'f-vs']);
  });

  it('an %`ext-…` used as a function argument selects the extension (false without it)', () => {
    const out = lines(v.validate(patient('env', { name: [{ family: 'A' }] })));
    expect(out).toContain(`error/invariant @Patient: t-ext-use: t-ext-use human (from ${C}env)`);
  });
});

describe('conformsTo() in profile constraints', () => {
  it("is the engine's profile verdict: true when the node conforms, false when it does not", () => {
    const failed = (oo: OperationOutcome) =>
      lines(oo)
        .filter((l) => l.includes('conf'))
        .map((l) => l.split(': ')[1]);
    expect(failed(v.validate(patient('conf', { name: [{ family: 'A' }] })))).toEqual([]);
    // Another type's profile, and more than one input item (two names), are false, as in the HL7 validator.
    expect(failed(v.validate(patient('conf-false', { name: [{ family: 'A' }] })))).toEqual(['f-conf-core']);
    const twoNames = patient('conf-false', { name: [{ family: 'A' }, { family: 'B' }] });
    expect(failed(v.validate(twoNames))).toEqual(['f-conf-core', 'f-conf-many']);
    const unnamed = lines(v.validate(patient('conf', {})));
    expect(unnamed).toContain(`error/invariant @Patient: t-conf-named: t-conf-named human (from ${C}conf)`);
    expect(unnamed.filter((l) => l.includes('could not be evaluated'))).toEqual([]);
  });

  it('a profile that does not resolve cannot be evaluated (a warning), never a verdict', () => {
    const out = lines(v.validate(patient('unknown-conf', {})));
    expect(out.filter((l) => l.includes('u-conf'))).toEqual([
      expect.stringMatching(/^warning\/processing @Patient: u-conf: could not be evaluated \(.*nowhere/),
    ]);
  });
});
