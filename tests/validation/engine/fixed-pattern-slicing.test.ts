import type { StructureDefinition } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Validator, createValidator } from '../../../src/validation/index.ts';
import { errors, patient } from './helpers.ts';
import { ProfileBuilder, TEST_CANONICAL } from './profiles.ts';

const CAT = 'http://terminology.hl7.org/CodeSystem/observation-category';
const HETU = 'urn:oid:1.2.246.21';
const bySystem = { discriminator: [{ type: 'value' as const, path: 'system' }], rules: 'open' as const };

const fixedPatient = new ProfileBuilder('Patient', 'fixed-patient')
  .set('Patient.gender', { fixedCode: 'female' })
  .set('Patient.maritalStatus', {
    patternCodeableConcept: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'M' }],
    },
  });
const patternObs = new ProfileBuilder('Observation', 'pattern-obs').set('Observation.category', {
  patternCodeableConcept: { coding: [{ system: CAT, code: 'vital-signs' }] },
});
const hetuSlice = (id: string, rules: 'open' | 'closed') =>
  new ProfileBuilder('Patient', id)
    .slice('Patient.identifier', { ...bySystem, rules }, 'hetu', { min: 1, max: '1' }, 'Identifier')
    .set('Patient.identifier:hetu.system', { min: 1, fixedUri: HETU })
    .set('Patient.identifier:hetu.value', { min: 1 });
const openSlice = hetuSlice('slice-open', 'open');
const closedSlice = hetuSlice('slice-closed', 'closed');
const categorySlice = new ProfileBuilder('Observation', 'slice-pattern').slice(
  'Observation.category',
  { discriminator: [{ type: 'pattern', path: '$this' }], rules: 'open' },
  'vs',
  { min: 1, max: '1', patternCodeableConcept: { coding: [{ system: CAT, code: 'vital-signs' }] } },
);
const byPattern = { discriminator: [{ type: 'pattern' as const, path: '$this' }], rules: 'open' as const };
const categoryCode = (code: string) => ({ coding: [{ system: CAT, code }] });
const twoCategorySlices = new ProfileBuilder('Observation', 'slice-pattern-two')
  .slice('Observation.category', byPattern, 'vs', {
    min: 0,
    max: '1',
    patternCodeableConcept: categoryCode('vital-signs'),
  })
  .slice('Observation.category', byPattern, 'lab', {
    min: 0,
    max: '1',
    patternCodeableConcept: categoryCode('laboratory'),
  });
/** Differential only (the snapshot is generated): a slice `cat` with two sibling reslices. */
const categoryReslices = {
  resourceType: 'StructureDefinition',
  url: `${TEST_CANONICAL}/slice-reslices-siblings`,
  name: 'SliceReslicesSiblings',
  status: 'draft',
  kind: 'resource',
  abstract: false,
  type: 'Observation',
  fhirVersion: '4.0.1',
  derivation: 'constraint',
  baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Observation',
  differential: {
    element: [
      { id: 'Observation.category', path: 'Observation.category', slicing: byPattern },
      {
        id: 'Observation.category:cat',
        path: 'Observation.category',
        sliceName: 'cat',
        min: 0,
        max: '*',
        patternCodeableConcept: { coding: [{ system: CAT }] },
      },
      ...['vs', 'lab'].map((name) => ({
        id: `Observation.category:cat/${name}`,
        path: 'Observation.category',
        sliceName: `cat/${name}`,
        min: 0,
        max: '1',
        patternCodeableConcept: categoryCode(name === 'vs' ? 'vital-signs' : 'laboratory'),
      })),
    ],
  },
} as unknown as StructureDefinition;
const byType = { discriminator: [{ type: 'type' as const, path: 'value' }], rules: 'closed' as const };
const componentTypes = new ProfileBuilder('Observation', 'slice-type')
  .sliceBackbone(
    'Observation.component',
    byType,
    'q',
    { min: 1, max: '1' },
    { 'value[x]': { type: [{ code: 'Quantity' }], min: 1 } },
  )
  .sliceBackbone(
    'Observation.component',
    byType,
    's',
    { min: 0, max: '1' },
    { 'value[x]': { type: [{ code: 'string' }], min: 1 } },
  );
const byPeriod = {
  discriminator: [{ type: 'exists' as const, path: 'period' }],
  rules: 'closed' as const,
  ordered: true,
};
const existsSlice = new ProfileBuilder('Patient', 'slice-exists')
  .slice('Patient.identifier', byPeriod, 'dated', { min: 0, max: '1' }, 'Identifier')
  .set('Patient.identifier:dated.period', { min: 1 })
  .slice('Patient.identifier', byPeriod, 'undated', { min: 0, max: '*' }, 'Identifier')
  .set('Patient.identifier:undated.period', { max: '0' });
const sliceWithPattern = new ProfileBuilder('Patient', 'slice-with-pattern')
  .slice(
    'Patient.identifier',
    bySystem,
    'hetu',
    { min: 0, max: '1', patternIdentifier: { system: HETU, use: 'official' } },
    'Identifier',
  )
  .set('Patient.identifier:hetu.system', { fixedUri: HETU });
const hetuIdentifier = new ProfileBuilder('Identifier', 'hetu-identifier').set('Identifier.system', {
  min: 1,
  fixedUri: HETU,
});
const profileSlice = new ProfileBuilder('Patient', 'slice-profile').slice(
  'Patient.identifier',
  { discriminator: [{ type: 'profile', path: '$this' }], rules: 'open' },
  'hetu',
  { min: 1, max: '1', type: [{ code: 'Identifier', profile: [hetuIdentifier.url] }] },
);
const atEnd = new ProfileBuilder('Patient', 'slice-open-at-end')
  .slice(
    'Patient.identifier',
    { ...bySystem, rules: 'openAtEnd' },
    'hetu',
    { min: 0, max: '1' },
    'Identifier',
  )
  .set('Patient.identifier:hetu.system', { fixedUri: HETU });
const BIRTHPLACE = 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace';
const extSlice = new ProfileBuilder('Patient', 'slice-extension').slice(
  'Patient.extension',
  { discriminator: [{ type: 'value', path: 'url' }], rules: 'open' },
  'birthPlace',
  { min: 1, max: '1', type: [{ code: 'Extension', profile: [BIRTHPLACE] }] },
);

const all = [
  sliceWithPattern,
  fixedPatient,
  patternObs,
  openSlice,
  closedSlice,
  categorySlice,
  componentTypes,
  existsSlice,
  hetuIdentifier,
  profileSlice,
  atEnd,
  extSlice,
  twoCategorySlices,
];
let v: Validator;
beforeAll(async () => {
  v = await createValidator({ fiBase: false, resources: [...all.map((p) => p.build()), categoryReslices] });
});

const withProfile = (p: ProfileBuilder, extra: Record<string, unknown>) => ({
  meta: { profile: [p.url] },
  ...extra,
});
const obs = (extra: Record<string, unknown>): Record<string, unknown> => ({
  resourceType: 'Observation',
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' },
  status: 'final',
  code: { text: 'x' },
  ...extra,
});
const cc = (code: string) => ({ coding: [{ system: CAT, code }] });

describe('fixed[x] and pattern[x]', () => {
  it('requires the exact fixed value', () => {
    expect(errors(v.validate(patient(withProfile(fixedPatient, { gender: 'female' }))))).toEqual([]);
    expect(errors(v.validate(patient(withProfile(fixedPatient, { gender: 'male' }))))).toEqual([
      `Patient.gender | Patient.gender: value is 'male' but must be 'female' (from ${fixedPatient.url})`,
    ]);
  });

  it('accepts a value that contains the pattern and rejects one that does not', () => {
    const married = {
      coding: [
        { system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'M', display: 'Married' },
      ],
      text: 'naimisissa',
    };
    expect(errors(v.validate(patient(withProfile(fixedPatient, { maritalStatus: married }))))).toEqual([]);
    const single = {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'S' }],
    };
    expect(errors(v.validate(patient(withProfile(fixedPatient, { maritalStatus: single }))))).toEqual([
      `Patient.maritalStatus | Patient.maritalStatus: value does not match the pattern {"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-MaritalStatus","code":"M"}]} (from ${fixedPatient.url})`,
    ]);
  });

  it('checks a pattern on a repeating element on every repetition, as the HL7 validator does', () => {
    const mismatch = (i: number) =>
      `Observation.category[${i}] | Observation.category: value does not match the pattern {"coding":[{"system":"${CAT}","code":"vital-signs"}]} (from ${patternObs.url})`;
    expect(
      errors(v.validate(obs(withProfile(patternObs, { category: [cc('vital-signs'), cc('vital-signs')] })))),
    ).toEqual([]);
    expect(
      errors(v.validate(obs(withProfile(patternObs, { category: [cc('laboratory'), cc('vital-signs')] })))),
    ).toEqual([mismatch(0)]);
    expect(errors(v.validate(obs(withProfile(patternObs, { category: [cc('laboratory')] }))))).toEqual([
      mismatch(0),
    ]);
  });
});

describe('slicing', () => {
  const hetu = { system: HETU, value: '010181-900C' };
  const other = { system: 'urn:oid:1.2.246.10.1.2', value: '42' };

  it('matches by value discriminator and applies the rules inside the slice', () => {
    expect(errors(v.validate(patient(withProfile(openSlice, { identifier: [other, hetu] }))))).toEqual([]);
    expect(
      errors(v.validate(patient(withProfile(openSlice, { identifier: [other, { system: HETU }] })))),
    ).toEqual([
      `Patient.identifier[1] | Patient.identifier.value: minimum required = 1, but only found 0 (from ${openSlice.url})`,
    ]);
  });

  it('checks slice minimum even when the array is absent, and slice maximum', () => {
    expect(errors(v.validate(patient(withProfile(openSlice, {}))))).toEqual([
      `Patient | Patient.identifier:hetu: minimum required = 1, but only found 0 (from ${openSlice.url})`,
    ]);
    expect(errors(v.validate(patient(withProfile(openSlice, { identifier: [hetu, hetu] }))))).toEqual([
      `Patient.identifier | Patient.identifier:hetu: max allowed = 1, but found 2 (from ${openSlice.url})`,
    ]);
  });

  it('rejects unmatched elements when the slicing is closed', () => {
    expect(errors(v.validate(patient(withProfile(closedSlice, { identifier: [hetu, other] }))))).toEqual([
      `Patient.identifier[1] | Patient.identifier: this element does not match any known slice (hetu) and the slicing is closed (from ${closedSlice.url})`,
    ]);
  });

  it('requires unmatched elements to come last when the slicing is openAtEnd', () => {
    expect(errors(v.validate(patient(withProfile(atEnd, { identifier: [hetu, other] }))))).toEqual([]);
    expect(errors(v.validate(patient(withProfile(atEnd, { identifier: [other, hetu] }))))).toEqual([
      `Patient.identifier[1] | Patient.identifier: slice 'hetu' follows an unsliced element (open slices must be at the end) (from ${atEnd.url})`,
    ]);
  });

  it('applies a slice pattern to every item of the slice', () => {
    expect(
      errors(
        v.validate(patient(withProfile(sliceWithPattern, { identifier: [{ ...hetu, use: 'official' }] }))),
      ),
    ).toEqual([]);
    expect(
      errors(v.validate(patient(withProfile(sliceWithPattern, { identifier: [{ ...hetu, use: 'usual' }] })))),
    ).toEqual([
      `Patient.identifier[0] | Patient.identifier:hetu: value does not match the pattern {"system":"${HETU}","use":"official"} (from ${sliceWithPattern.url})`,
    ]);
  });

  it('matches by pattern discriminator', () => {
    expect(errors(v.validate(obs(withProfile(categorySlice, { category: [cc('vital-signs')] }))))).toEqual(
      [],
    );
    expect(errors(v.validate(obs(withProfile(categorySlice, { category: [cc('laboratory')] }))))).toEqual([
      `Observation | Observation.category:vs: minimum required = 1, but only found 0 (from ${categorySlice.url})`,
    ]);
  });

  it('refuses an item that matches two sibling slices, as the HL7 validator does', () => {
    const both = { coding: [...categoryCode('vital-signs').coding, ...categoryCode('laboratory').coding] };
    expect(
      errors(
        v.validate(obs(withProfile(twoCategorySlices, { category: [cc('vital-signs'), cc('laboratory')] }))),
      ),
    ).toEqual([]);
    expect(errors(v.validate(obs(withProfile(twoCategorySlices, { category: [both] }))))).toEqual([
      `Observation.category[0] | Observation.category: this element matches more than one slice (vs, lab) (from ${twoCategorySlices.url})`,
    ]);
  });

  it('accepts an item that matches a slice and its reslice, and refuses one matching two sibling reslices', () => {
    const url = `${TEST_CANONICAL}/slice-reslices-siblings`;
    const both = { coding: [...categoryCode('vital-signs').coding, ...categoryCode('laboratory').coding] };
    const withReslices = (category: unknown[]) => obs({ meta: { profile: [url] }, category });
    expect(errors(v.validate(withReslices([cc('vital-signs'), cc('laboratory')])))).toEqual([]);
    expect(errors(v.validate(withReslices([both])))).toEqual([
      `Observation.category[0] | Observation.category:cat: this element matches more than one slice (cat/vs, cat/lab) (from ${url})`,
    ]);
  });

  it('matches by type discriminator', () => {
    const q = { code: { text: 'q' }, valueQuantity: { value: 1 } };
    const s = { code: { text: 's' }, valueString: 'x' };
    const b = { code: { text: 'b' }, valueBoolean: true };
    expect(errors(v.validate(obs(withProfile(componentTypes, { component: [q, s] }))))).toEqual([]);
    expect(errors(v.validate(obs(withProfile(componentTypes, { component: [q, b] }))))).toEqual([
      `Observation.component[1] | Observation.component: this element does not match any known slice (q, s) and the slicing is closed (from ${componentTypes.url})`,
    ]);
    expect(errors(v.validate(obs(withProfile(componentTypes, { component: [s] }))))).toEqual([
      `Observation | Observation.component:q: minimum required = 1, but only found 0 (from ${componentTypes.url})`,
    ]);
  });

  it('matches by exists discriminator and checks order when the slicing is ordered', () => {
    const dated = { value: 'a', period: { start: '2020-01-01' } };
    const undated = { value: 'b' };
    expect(
      errors(v.validate(patient(withProfile(existsSlice, { identifier: [dated, undated, undated] })))),
    ).toEqual([]);
    expect(errors(v.validate(patient(withProfile(existsSlice, { identifier: [undated, dated] }))))).toEqual([
      `Patient.identifier[1] | Patient.identifier: slice 'dated' is out of order (slicing is ordered) (from ${existsSlice.url})`,
    ]);
  });

  it('matches by profile discriminator', () => {
    expect(errors(v.validate(patient(withProfile(profileSlice, { identifier: [other, hetu] }))))).toEqual([]);
    expect(errors(v.validate(patient(withProfile(profileSlice, { identifier: [other] }))))).toEqual([
      `Patient | Patient.identifier:hetu: minimum required = 1, but only found 0 (from ${profileSlice.url})`,
    ]);
  });

  it('matches extension slices by url when the snapshot gives only type.profile, and validates their content', () => {
    const bp = (value: Record<string, unknown>) => ({ url: BIRTHPLACE, ...value });
    expect(
      errors(
        v.validate(patient(withProfile(extSlice, { extension: [bp({ valueAddress: { city: 'Oulu' } })] }))),
      ),
    ).toEqual([]);
    expect(errors(v.validate(patient(withProfile(extSlice, {}))))).toEqual([
      `Patient | Patient.extension:birthPlace: minimum required = 1, but only found 0 (from ${extSlice.url})`,
    ]);
    expect(
      errors(v.validate(patient(withProfile(extSlice, { extension: [bp({ valueString: 'Oulu' })] })))),
    ).toEqual([
      `Patient.extension[0].valueString | Extension.value[x]: the type 'string' is not allowed here (allowed: Address) (from ${BIRTHPLACE})`,
    ]);
  });

  it('matches slices whose discriminator values sit in nested required slices (core bp profile)', () => {
    const BP = 'http://hl7.org/fhir/StructureDefinition/bp';
    const loinc = (code: string) => ({ coding: [{ system: 'http://loinc.org', code }] });
    const mmHg = (value: number) => ({
      value,
      unit: 'mmHg',
      system: 'http://unitsofmeasure.org',
      code: 'mm[Hg]',
    });
    const bp = obs({
      meta: { profile: [BP] },
      category: [{ coding: [{ system: CAT, code: 'vital-signs' }] }],
      code: loinc('85354-9'),
      subject: { reference: 'Patient/p1' },
      effectiveDateTime: '2024-01-01T10:00:00Z',
      component: [
        {
          code: {
            coding: [...loinc('8480-6').coding, { system: 'http://snomed.info/sct', code: '271649006' }],
          },
          valueQuantity: mmHg(107),
        },
        { code: loinc('8462-4'), valueQuantity: mmHg(60) },
      ],
    });
    expect(errors(v.validate(bp))).toEqual([]);
    const noDiastolic = { ...bp, component: [(bp.component as unknown[])[0]] };
    expect(errors(v.validate(noDiastolic))).toEqual([
      `Observation | Observation.component: minimum required = 2, but only found 1 (from ${BP})`,
      `Observation | Observation.component:DiastolicBP: minimum required = 1, but only found 0 (from ${BP})`,
    ]);
  });

  it('follows resolve() into target profiles for slice discriminators (core lipidprofile)', () => {
    const core = (id: string) => `http://hl7.org/fhir/StructureDefinition/${id}`;
    const fixedOf = (id: string, path: string) => {
      const el = v.registry
        .structureDefinition(core(id))
        ?.snapshot?.element.find((e) => e.id === path) as unknown as Record<string, unknown>;
      return el.fixedCodeableConcept ?? el.patternCodeableConcept;
    };
    const ranges: Record<string, unknown> = {
      cholesterol: [{ high: { value: 4.5 } }],
      triglyceride: [{ high: { value: 2 } }],
      hdlcholesterol: [{ low: { value: 1.5 } }],
      ldlcholesterol: [{ high: { value: 3 } }],
    };
    const lab = (id: string) => ({
      fullUrl: `http://example.org/fhir/Observation/${id}`,
      resource: obs({
        id,
        meta: { profile: [core(id)] },
        code: fixedOf(id, 'Observation.code') ?? {
          coding: [{ system: 'http://loinc.org', code: '18262-6' }],
        },
        subject: { reference: 'Patient/p' },
        valueQuantity: { value: 1, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
        referenceRange: ranges[id],
      }),
    });
    const ids = ['cholesterol', 'triglyceride', 'hdlcholesterol', 'ldlcholesterol'];
    const report = {
      resourceType: 'DiagnosticReport',
      id: 'lipids',
      meta: { profile: [core('lipidprofile')] },
      text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' },
      status: 'final',
      code: fixedOf('lipidprofile', 'DiagnosticReport.code'),
      subject: { reference: 'Patient/p' },
      result: ids.map((id) => ({ reference: `Observation/${id}` })),
    };
    const bundle = (results: unknown[]) => ({
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        {
          fullUrl: 'http://example.org/fhir/DiagnosticReport/lipids',
          resource: { ...report, result: results },
        },
        ...ids.map(lab),
      ],
    });
    expect(errors(v.validate(bundle(report.result)))).toEqual([]);
    expect(
      errors(v.validate(bundle(report.result.filter((r) => r.reference !== 'Observation/hdlcholesterol')))),
    ).toEqual([
      `Bundle.entry[0].resource | DiagnosticReport.result:HDLCholesterol: minimum required = 1, but only found 0 (from ${core('lipidprofile')})`,
    ]);
  });
});
