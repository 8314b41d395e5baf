import { beforeAll, describe, expect, it } from 'vitest';
import { type Validator, createValidator } from '../../../src/validation/index.ts';
import { errors, patient } from './helpers.ts';
import { ProfileBuilder } from './profiles.ts';

const card = new ProfileBuilder('Patient', 'card-patient')
  .set('Patient.identifier', { min: 1 })
  .set('Patient.name', { max: '1' })
  .set('Patient.photo', { max: '0' })
  .set('Patient.contact.name', { min: 1 });
const quantityObs = new ProfileBuilder('Observation', 'quantity-obs').set('Observation.value[x]', {
  type: [{ code: 'Quantity' }],
});

const limits = new ProfileBuilder('Patient', 'limits-patient')
  .unroll('Patient.name', 'HumanName')
  .set('Patient.name.family', { maxLength: 5 })
  .set('Patient.multipleBirth[x]', { type: [{ code: 'integer' }], minValueInteger: 1, maxValueInteger: 9 });

// Hand-written snapshots may omit ElementDefinition.base; arrays still follow the base definition.
const noBase = new ProfileBuilder('Patient', 'no-base-patient').set('Patient.name', { max: '1' });
for (const e of noBase.elements) e.base = undefined;

let v: Validator;
beforeAll(async () => {
  v = await createValidator({
    fiBase: false,
    resources: [card.build(), quantityObs.build(), noBase.build(), limits.build()],
  });
});

const obs = (extra: Record<string, unknown>) => ({
  resourceType: 'Observation',
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' },
  status: 'final',
  code: { text: 'x' },
  ...extra,
});

describe('cardinality', () => {
  it('reports missing required elements of the base resource at the parent', () => {
    const { status: _s, ...noStatus } = obs({});
    expect(errors(v.validate(noStatus))).toEqual([
      'Observation | Observation.status: minimum required = 1, but only found 0',
    ]);
  });

  it('checks nested backbone elements', () => {
    expect(errors(v.validate(obs({ component: [{ valueString: 'x' }] })))).toEqual([
      'Observation.component[0] | Observation.component.code: minimum required = 1, but only found 0',
    ]);
  });

  it('checks datatype children (Extension.url) and the profile minimum and maximum', () => {
    const p = patient({ meta: { profile: [card.url] }, identifier: [{ value: '1' }] });
    expect(errors(v.validate(p))).toEqual([]);
    const { identifier: _i, ...noId } = p;
    expect(errors(v.validate(noId))).toEqual([
      `Patient | Patient.identifier: minimum required = 1, but only found 0 (from ${card.url})`,
    ]);
    expect(errors(v.validate({ ...p, name: [{ family: 'A' }, { family: 'B' }] }))).toEqual([
      `Patient.name | Patient.name: max allowed = 1, but found 2 (from ${card.url})`,
    ]);
  });

  it('keeps JSON arrays from the base definition when the snapshot omits base', () => {
    const p = patient({
      meta: { profile: [noBase.url] },
      name: [{ family: 'A' }],
      identifier: [{ value: '1' }],
    });
    expect(errors(v.validate(p))).toEqual([]);
    expect(errors(v.validate({ ...p, name: [{ family: 'A' }, { family: 'B' }] }))).toEqual([
      `Patient.name | Patient.name: max allowed = 1, but found 2 (from ${noBase.url})`,
    ]);
  });

  it('checks maxLength and numeric minValue/maxValue', () => {
    const p = (extra: Record<string, unknown>) => patient({ meta: { profile: [limits.url] }, ...extra });
    expect(errors(v.validate(p({ name: [{ family: 'Aho' }], multipleBirthInteger: 2 })))).toEqual([]);
    expect(errors(v.validate(p({ name: [{ family: 'Virtanen' }] })))).toEqual([
      `Patient.name[0].family | Patient.name.family: the value is longer than the permitted maximum length of 5 (from ${limits.url})`,
    ]);
    expect(errors(v.validate(p({ multipleBirthInteger: 0 })))).toEqual([
      `Patient.multipleBirth.ofType(integer) | Patient.multipleBirth[x]: the value 0 is less than the permitted minimum value of 1 (from ${limits.url})`,
    ]);
    expect(errors(v.validate(p({ multipleBirthInteger: 10 })))).toEqual([
      `Patient.multipleBirth.ofType(integer) | Patient.multipleBirth[x]: the value 10 is greater than the permitted maximum value of 9 (from ${limits.url})`,
    ]);
  });

  it('rejects an element the profile prohibits (max = 0)', () => {
    const p = patient({
      meta: { profile: [card.url] },
      identifier: [{ value: '1' }],
      photo: [{ contentType: 'image/png' }],
    });
    expect(errors(v.validate(p))).toEqual([
      `Patient.photo | Patient.photo: this element is not allowed (max = 0) (from ${card.url})`,
    ]);
  });

  it('checks backbone children constrained in a profile', () => {
    const p = patient({
      meta: { profile: [card.url] },
      identifier: [{ value: '1' }],
      contact: [{ gender: 'male', telecom: [{ system: 'phone', value: '1' }] }],
    });
    expect(errors(v.validate(p))).toEqual([
      `Patient.contact[0] | Patient.contact.name: minimum required = 1, but only found 0 (from ${card.url})`,
    ]);
  });
});

describe('types and choice types', () => {
  it('rejects an unknown choice type suffix', () => {
    expect(errors(v.validate(obs({ valueFoo: 1 })))).toEqual([
      "Observation.valueFoo | Unrecognized property 'valueFoo'",
    ]);
  });

  it('rejects two types for one choice element', () => {
    expect(errors(v.validate(obs({ valueString: 'a', valueBoolean: true })))).toEqual([
      'Observation.valueBoolean | Observation.value[x]: only one type of value is allowed (found valueString and valueBoolean)',
    ]);
  });

  it('applies a profile restriction of value[x] to one type', () => {
    const o = obs({ meta: { profile: [quantityObs.url] } });
    expect(errors(v.validate({ ...o, valueQuantity: { value: 1 } }))).toEqual([]);
    expect(errors(v.validate({ ...o, valueString: 'x' }))).toEqual([
      `Observation.valueString | Observation.value[x]: the type 'string' is not allowed here (allowed: Quantity) (from ${quantityObs.url})`,
    ]);
    expect(errors(v.validate(o))).toEqual([]);
  });

  it('validates the chosen type', () => {
    expect(errors(v.validate(obs({ valueQuantity: { value: 1, foo: 2 } })))).toEqual([
      "Observation.value.ofType(Quantity).foo | Unrecognized property 'foo'",
    ]);
    expect(errors(v.validate(obs({ valueQuantity: 5 })))).toEqual([
      'Observation.value.ofType(Quantity) | Observation.value[x]: expected an object of type Quantity (found a number)',
    ]);
  });

  it('validates contained resources by their own type', () => {
    const p = patient({
      contained: [{ resourceType: 'Organization', id: 'o', name: 1 }],
      managingOrganization: { reference: '#o' },
    });
    expect(errors(v.validate(p))).toEqual([
      'Patient.contained[0].name | Error parsing JSON: the primitive value must be a string (found number 1)',
    ]);
  });
});
