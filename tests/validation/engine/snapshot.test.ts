// Differential-only profiles: snapshots generated from the base (slices at any depth, renamed choices,
// contentReference children; reslicing is reported and skipped).
import { beforeAll, describe, expect, it } from 'vitest';
import { type Validator, createValidator } from '../../../src/validation/index.ts';
import { errors, patient, warnings } from './helpers.ts';

const EXT = 'http://example.org/StructureDefinition/flag';
const PROFILE = 'http://example.org/StructureDefinition/strict-patient';
const SLICED = 'http://example.org/StructureDefinition/sliced-patient';

const extension = {
  resourceType: 'StructureDefinition',
  url: EXT,
  name: 'Flag',
  status: 'draft',
  kind: 'complex-type',
  abstract: false,
  context: [
    { type: 'element', expression: 'DomainResource' },
    { type: 'element', expression: 'BackboneElement' },
  ],
  type: 'Extension',
  baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Extension',
  derivation: 'constraint',
  differential: {
    element: [
      { id: 'Extension.extension', path: 'Extension.extension', max: '0' },
      { id: 'Extension.url', path: 'Extension.url', fixedUri: EXT },
      { id: 'Extension.value[x]', path: 'Extension.value[x]', min: 1, type: [{ code: 'boolean' }] },
    ],
  },
};
const profile = {
  resourceType: 'StructureDefinition',
  url: PROFILE,
  name: 'StrictPatient',
  status: 'draft',
  kind: 'resource',
  abstract: false,
  type: 'Patient',
  baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Patient',
  derivation: 'constraint',
  differential: {
    element: [
      { id: 'Patient', path: 'Patient' },
      { id: 'Patient.gender', path: 'Patient.gender', min: 1 },
      { id: 'Patient.identifier', path: 'Patient.identifier', min: 1 },
      { id: 'Patient.identifier.system', path: 'Patient.identifier.system', min: 1 },
    ],
  },
};
const sliced = {
  ...profile,
  url: SLICED,
  name: 'SlicedPatient',
  differential: {
    element: [
      {
        id: 'Patient.identifier',
        path: 'Patient.identifier',
        slicing: { discriminator: [{ type: 'value', path: 'system' }], rules: 'open' },
      },
      { id: 'Patient.identifier:mrn', path: 'Patient.identifier', sliceName: 'mrn', min: 1 },
    ],
  },
};

const RESLICED = 'http://example.org/StructureDefinition/resliced-patient';
const resliced = {
  ...profile,
  url: RESLICED,
  name: 'ReslicedPatient',
  differential: {
    element: [
      sliced.differential.element[0],
      {
        id: 'Patient.identifier:mrn',
        path: 'Patient.identifier',
        sliceName: 'mrn',
        min: 1,
        slicing: { discriminator: [{ type: 'value', path: 'value' }], rules: 'open' },
      },
      { id: 'Patient.identifier:mrn.system', path: 'Patient.identifier.system', fixedUri: 'urn:mrn' },
      { id: 'Patient.identifier:mrn/old', path: 'Patient.identifier', sliceName: 'mrn/old', min: 1 },
      { id: 'Patient.identifier:mrn/old.value', path: 'Patient.identifier.value', fixedString: 'old' },
    ],
  },
};

const UNKNOWN_PATH = 'http://example.org/StructureDefinition/unknown-path-patient';
const unknownPath = {
  ...profile,
  url: UNKNOWN_PATH,
  name: 'UnknownPathPatient',
  differential: { element: [{ id: 'Patient.nickname', path: 'Patient.nickname', min: 1 }] },
};

const INV = 'http://example.org/StructureDefinition/inactive-only';
const invariantExtension = {
  ...extension,
  url: INV,
  name: 'InactiveOnly',
  context: [{ type: 'element', expression: 'Patient' }],
  contextInvariant: ['Patient.active.not()'],
  differential: { element: [{ id: 'Extension.url', path: 'Extension.url', fixedUri: INV }] },
};

const NESTED = 'http://example.org/StructureDefinition/nested-text-questionnaire';
const nested = {
  resourceType: 'StructureDefinition',
  url: NESTED,
  name: 'NestedTextQuestionnaire',
  status: 'draft',
  kind: 'resource',
  abstract: false,
  type: 'Questionnaire',
  baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Questionnaire',
  derivation: 'constraint',
  differential: {
    element: [{ id: 'Questionnaire.item.item.text', path: 'Questionnaire.item.item.text', min: 1 }],
  },
};

let v: Validator;
beforeAll(async () => {
  v = await createValidator({
    fiBase: false,
    resources: [extension, profile, sliced, resliced, unknownPath, invariantExtension, nested] as never[],
  });
});

const flag = (value: Record<string, unknown>) => ({ url: EXT, ...value });

describe('differential-only definitions', () => {
  it('an extension is checked through its generated snapshot', () => {
    expect(errors(v.validate(patient({ extension: [flag({ valueBoolean: true })] })))).toEqual([]);
    expect(errors(v.validate(patient({ extension: [flag({ valueString: 'x' })] })))).toContain(
      `Patient.extension[0].valueString | Extension.value[x]: the type 'string' is not allowed here (allowed: boolean) (from ${EXT})`,
    );
  });

  it('a BackboneElement context allows backbone elements, not datatypes', () => {
    const contact = { extension: [flag({ valueBoolean: true })], name: { family: 'X' } };
    expect(errors(v.validate(patient({ contact: [contact] })))).toEqual([]);
    expect(
      errors(v.validate(patient({ name: [{ family: 'X', extension: [flag({ valueBoolean: true })] }] }))),
    ).toEqual([
      `Patient.name[0].extension[0] | The extension ${EXT} is not allowed to be used at this point (allowed: DomainResource, BackboneElement; this element is Patient.name of type HumanName)`,
    ]);
  });

  it('a contextInvariant must hold on the element holding the extension', () => {
    const ext = [{ url: INV, valueBoolean: true }];
    expect(errors(v.validate(patient({ active: false, extension: ext })))).toEqual([]);
    expect(errors(v.validate(patient({ active: true, extension: ext })))).toEqual([
      `Patient.extension[0] | The extension ${INV} is not allowed to be used here: its context invariant 'Patient.active.not()' is not satisfied`,
    ]);
  });

  it('a profile applies its differential on the base, unrolling datatype children', () => {
    const ok = { gender: 'male', identifier: [{ system: 'urn:oid:1.2.246.999', value: '1' }] };
    expect(errors(v.validate(patient(ok), { profile: PROFILE }))).toEqual([]);
    expect(
      errors(v.validate(patient({ identifier: [{ value: '1' }] }), { profile: PROFILE })).sort(),
    ).toEqual([
      `Patient | Patient.gender: minimum required = 1, but only found 0 (from ${PROFILE})`,
      `Patient.identifier[0] | Patient.identifier.system: minimum required = 1, but only found 0 (from ${PROFILE})`,
    ]);
  });

  it('a differential with one level of slicing gets a snapshot: its slices are checked', () => {
    const oo = v.validate(patient({ meta: { profile: [SLICED] } }));
    expect(errors(oo)).toEqual([
      `Patient | Patient.identifier:mrn: minimum required = 1, but only found 0 (from ${SLICED})`,
    ]);
  });
  it('a reslice (mrn/old) is generated as a copy of its slice and its items are matched among the reslices', () => {
    const ids = (value: string) => ({
      meta: { profile: [RESLICED] },
      identifier: [{ system: 'urn:mrn', value }],
    });
    expect(errors(v.validate(patient(ids('old'))))).toEqual([]);
    expect(errors(v.validate(patient(ids('new'))))).toEqual([
      `Patient | Patient.identifier:mrn/old: minimum required = 1, but only found 0 (from ${RESLICED})`,
    ]);
  });
  it('a differential naming an element the base does not have is left unchecked, with a warning', () => {
    const oo = v.validate(patient({ meta: { profile: [UNKNOWN_PATH] } }));
    expect(errors(oo)).toEqual([]);
    expect(warnings(oo)).toContain(
      `Patient.meta.profile[0] | Profile '${UNKNOWN_PATH}' has no snapshot, so it has not been checked`,
    );
  });
  it('a differential reaching into a contentReference element (Questionnaire.item.item) is applied there', () => {
    const q = (inner: Record<string, unknown>) => ({
      resourceType: 'Questionnaire',
      id: 'q1',
      text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Q</div>' },
      status: 'draft',
      item: [
        { linkId: 'g', type: 'group', text: 'Group', item: [{ linkId: 'a', type: 'string', ...inner }] },
      ],
    });
    expect(errors(v.validate(q({ text: 'A' }), { profile: NESTED }))).toEqual([]);
    expect(errors(v.validate(q({}), { profile: NESTED }))).toEqual([
      `Questionnaire.item[0].item[0] | Questionnaire.item.item.text: minimum required = 1, but only found 0 (from ${NESTED})`,
    ]);
  });
});
