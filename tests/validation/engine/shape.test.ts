import { beforeAll, describe, expect, it } from 'vitest';
import type { Validator } from '../../../src/validation/index.ts';
import { errors, patient, validator, warnings } from './helpers.ts';

let v: Validator;
beforeAll(async () => {
  v = await validator();
});

describe('JSON shape', () => {
  it('accepts a minimal valid Patient without errors or warnings', () => {
    const oo = v.validate(
      patient({ name: [{ family: 'Virtanen', given: ['Matti'] }], birthDate: '1980-02-29' }),
    );
    expect(oo.issue).toEqual([{ severity: 'information', code: 'informational', diagnostics: 'All OK' }]);
  });

  it('rejects unknown properties', () => {
    expect(errors(v.validate(patient({ foo: 1 })))).toEqual(["Patient.foo | Unrecognized property 'foo'"]);
  });

  it('rejects a nested unknown property with indexes in the path', () => {
    expect(errors(v.validate(patient({ name: [{ family: 'A' }, { famly: 'B' }] })))).toEqual([
      "Patient.name[1].famly | Unrecognized property 'famly'",
    ]);
  });

  it('rejects a single value where an array is required', () => {
    expect(errors(v.validate(patient({ name: { family: 'A' } })))).toEqual([
      'Patient.name | Patient.name: this property must be an array, not an object',
    ]);
  });

  it('rejects an array where a single value is required', () => {
    expect(errors(v.validate(patient({ gender: ['male'] })))).toEqual([
      'Patient.gender | Patient.gender: this property must be a single value, not an array',
    ]);
  });

  it('rejects empty objects and strings', () => {
    expect(errors(v.validate(patient({ maritalStatus: {} })))).toEqual([
      'Patient.maritalStatus | Object must have some content',
    ]);
    expect(errors(v.validate(patient({ gender: '' })))).toEqual(['Patient.gender | @value cannot be empty']);
  });

  // HL7's JSON reader (JsonParser.parseChildComplex) refuses an empty array of a complex element at
  // error severity (fhir-test-cases validator/outcomes/java/R4.empty-array-base.json); its
  // parseChildPrimitive does not look at an empty array of a primitive, where we keep a warning.
  const EMPTY = 'array cannot be empty - the property should not be present if it has no values';
  it.each([
    ['a complex element', { name: [] }, 'Patient.name', 'Patient.name', 'error'],
    [
      'a complex element inside a backbone element',
      { contact: [{ name: { family: 'A' }, telecom: [] }] },
      'Patient.contact[0].telecom',
      'Patient.contact.telecom',
      'error',
    ],
    [
      'a primitive element',
      { name: [{ family: 'A', given: [] }] },
      'Patient.name[0].given',
      'HumanName.given',
      'warning',
    ],
    [
      "a primitive's extension array",
      { name: [{ family: 'A', _given: [] }] },
      'Patient.name[0].given',
      'HumanName.given',
      'warning',
    ],
  ] as const)('an empty array of %s: by default as HL7 (%s)', (_what, extra, where, path, severity) => {
    const line = `${where} | ${path}: ${EMPTY}`;
    const oo = v.validate(patient(extra));
    expect(errors(oo)).toEqual(severity === 'error' ? [line] : []);
    expect(warnings(oo)).toEqual(severity === 'warning' ? [line] : []);
    // `emptyArrays` sets one severity for both kinds: 'warning' (lenient) or 'error' (the facade's writes).
    expect(errors(v.validate(patient(extra), { emptyArrays: 'warning' }))).toEqual([]);
    expect(warnings(v.validate(patient(extra), { emptyArrays: 'warning' }))).toEqual([line]);
    expect(errors(v.validate(patient(extra), { emptyArrays: 'error' }))).toEqual([line]);
  });
  // HL7 accepts an empty array where the element's definition carries the tooling extension
  // http://hl7.org/fhir/tools/StructureDefinition/json-empty-behavior (Property.canBeEmpty). No R4
  // core definition carries it (it is used by logical models such as CDS Hooks'), and HL7 reads a
  // resource's JSON against the core definitions, so no resource can show it: no case here.

  it('rejects null values and null array items', () => {
    expect(errors(v.validate(patient({ gender: null })))).toEqual([
      'Patient.gender | Patient.gender: null is not a valid value',
    ]);
    expect(errors(v.validate(patient({ name: [null] })))).toEqual([
      'Patient.name[0] | Patient.name: array items cannot be null',
    ]);
  });

  it('accepts primitive extensions with matching array lengths and nulls as placeholders', () => {
    const ext = {
      extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/iso21090-EN-qualifier', valueCode: 'BR' }],
    };
    const oo = v.validate(patient({ name: [{ given: ['A', null], _given: [null, ext] }] }));
    expect(errors(oo)).toEqual([]);
  });

  it('rejects primitive extension arrays whose length differs from the values', () => {
    const oo = v.validate(patient({ name: [{ given: ['A', 'B'], _given: [null] }] }));
    expect(errors(oo)).toEqual([
      "Patient.name[0].given | HumanName.given: the arrays 'given' (2) and '_given' (1) must have the same length",
    ]);
  });

  it('rejects a primitive extension that is not an object', () => {
    expect(errors(v.validate(patient({ birthDate: '1980-01-01', _birthDate: 'x' })))).toEqual([
      'Patient.birthDate | Patient.birthDate: the primitive extension must be an object (found a string)',
    ]);
  });

  it('rejects missing and unknown resourceType', () => {
    expect(errors(v.validate({ id: 'x' }))).toEqual([' | Unable to find resourceType property']);
    expect(errors(v.validate({ resourceType: 'Patients' }))).toEqual([
      "Patients | Unknown resource type 'Patients'",
    ]);
    expect(errors(v.validate('Patient'))).toEqual([' | A resource must be a JSON object (found a string)']);
    expect(errors(v.validate(undefined))).toEqual([' | A resource must be a JSON object (found undefined)']);
  });

  it('rejects resourceType inside a non-resource object', () => {
    expect(errors(v.validate(patient({ name: [{ resourceType: 'HumanName', family: 'A' }] })))).toEqual([
      "Patient.name[0].resourceType | Unrecognized property 'resourceType'",
    ]);
  });
});
