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

  it('warns on empty arrays (as HL7), rejects empty objects and strings', () => {
    const emptyArray = v.validate(patient({ name: [] }));
    expect(errors(emptyArray)).toEqual([]);
    expect(warnings(emptyArray)).toContain(
      'Patient.name | Patient.name: array cannot be empty - the property should not be present if it has no values',
    );
    expect(errors(v.validate(patient({ name: [] }), { emptyArrays: 'error' }))).toEqual([
      'Patient.name | Patient.name: array cannot be empty - the property should not be present if it has no values',
    ]);
    expect(errors(v.validate(patient({ maritalStatus: {} })))).toEqual([
      'Patient.maritalStatus | Object must have some content',
    ]);
    expect(errors(v.validate(patient({ gender: '' })))).toEqual(['Patient.gender | @value cannot be empty']);
  });

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
