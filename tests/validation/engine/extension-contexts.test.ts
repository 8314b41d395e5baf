// Extension contexts of the `fhirpath` and `extension` kinds (StructureDefinition.context.type): a
// fhirpath context holds where its expression, evaluated on the resource, selects the element holding
// the extension; an extension context where the nearest enclosing extension has that url.
import type { Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Validator, createValidator } from '../../../src/validation/index.ts';
import { errors, patient } from './helpers.ts';

const URL = 'https://tyokyky-fhir.org/fhir/test/StructureDefinition/home-or-interpreter-flag';
const INTERPRETER = 'http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired';
const CADAVERIC = 'http://hl7.org/fhir/StructureDefinition/patient-cadavericDonor';

const definition = {
  resourceType: 'StructureDefinition',
  url: URL,
  name: 'HomeOrInterpreterFlag',
  status: 'draft',
  fhirVersion: '4.0.1',
  kind: 'complex-type',
  abstract: false,
  context: [
    { type: 'fhirpath', expression: "Patient.address.where(use = 'home')" },
    { type: 'fhirpath', expression: 'Patient.active' },
    { type: 'extension', expression: INTERPRETER },
  ],
  type: 'Extension',
  baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Extension',
  derivation: 'constraint',
  differential: {
    element: [
      { id: 'Extension.extension', path: 'Extension.extension', max: '0' },
      { id: 'Extension.url', path: 'Extension.url', fixedUri: URL },
      { id: 'Extension.value[x]', path: 'Extension.value[x]', min: 1, type: [{ code: 'boolean' }] },
    ],
  },
} as unknown as Resource;

const flag = { url: URL, valueBoolean: true };
const notAllowed = (where: string, element: string, type: string) =>
  `${where} | The extension ${URL} is not allowed to be used at this point (allowed: Patient.address.where(use = 'home'), Patient.active, ${INTERPRETER}; this element is ${element} of type ${type})`;

let v: Validator;
beforeAll(async () => {
  v = await createValidator({ fiBase: false, resources: [definition] });
});

describe('fhirpath extension contexts', () => {
  it('hold on the elements the expression selects: a home address, a primitive', () => {
    const home = patient({ address: [{ use: 'home', extension: [flag] }] });
    expect(errors(v.validate(home))).toEqual([]);
    const active = patient({ active: true, _active: { extension: [flag] } });
    expect(errors(v.validate(active))).toEqual([]);
  });

  it('do not hold on an element the expression does not select', () => {
    const work = patient({ address: [{ use: 'home' }, { use: 'work', extension: [flag] }] });
    expect(errors(v.validate(work))).toEqual([
      notAllowed('Patient.address[1].extension[0]', 'Patient.address', 'Address'),
    ]);
    const gender = patient({ gender: 'other', _gender: { extension: [flag] } });
    expect(errors(v.validate(gender))).toEqual([
      notAllowed('Patient.gender.extension[0]', 'Patient.gender', 'code'),
    ]);
  });

  it('do not hold on another resource type', () => {
    const org = {
      resourceType: 'Organization',
      text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' },
      name: 'x',
      extension: [flag],
    };
    expect(errors(v.validate(org))).toEqual([
      notAllowed('Organization.extension[0]', 'Organization', 'Organization'),
    ]);
  });
});

describe('extension contexts', () => {
  it('hold inside the named extension, on its value too', () => {
    const inside = patient({
      extension: [{ url: INTERPRETER, valueBoolean: true, _valueBoolean: { extension: [flag] } }],
    });
    expect(errors(v.validate(inside))).toEqual([]);
  });

  it('do not hold inside another extension', () => {
    const other = patient({
      extension: [{ url: CADAVERIC, valueBoolean: true, _valueBoolean: { extension: [flag] } }],
    });
    expect(errors(v.validate(other))).toEqual([
      notAllowed(
        'Patient.extension[0].value.ofType(boolean).extension[0]',
        'Patient.extension.value',
        'boolean',
      ),
    ]);
  });
});
