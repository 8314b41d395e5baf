// minValue[x]/maxValue[x] on date and dateTime elements of a profile.
import type { StructureDefinition } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Validator, createValidator } from '../../../src/validation/index.ts';
import { compareTemporal } from '../../../src/validation/values.ts';
import { errors, patient } from './helpers.ts';

const PROFILE = 'http://example.org/StructureDefinition/patient-born-1900-2020';
let v: Validator;

beforeAll(async () => {
  const core = await createValidator({ fiBase: false, terminology: false, invariants: false });
  const sd = structuredClone(
    core.registry.resolve('http://hl7.org/fhir/StructureDefinition/Patient') as StructureDefinition,
  );
  for (const e of sd.snapshot?.element ?? []) {
    if (e.path === 'Patient.birthDate')
      Object.assign(e, { minValueDate: '1900-01-01', maxValueDate: '2020-12-31' });
    if (e.path === 'Patient.deceased[x]') Object.assign(e, { minValueDateTime: '2000-01-01T00:00:00Z' });
  }
  v = await createValidator({
    fiBase: false,
    resources: [{ ...sd, url: PROFILE, derivation: 'constraint', baseDefinition: sd.url, id: 'born' }],
  });
});

const check = (extra: Record<string, unknown>) => errors(v.validate(patient(extra), { profile: PROFILE }));

describe('minValue/maxValue on dates', () => {
  it('accepts dates inside the range, and partial dates that overlap a bound', () => {
    expect(check({ birthDate: '1975-06-30' })).toEqual([]);
    expect(check({ birthDate: '1900' })).toEqual([]);
    expect(check({ birthDate: '2020-12' })).toEqual([]);
    expect(check({ deceasedDateTime: '2000-01-01T01:00:00+01:00' })).toEqual([]);
  });

  it('rejects a date before minValueDate', () => {
    expect(check({ birthDate: '1899-12-31' })).toEqual([
      `Patient.birthDate | Patient.birthDate: the value '1899-12-31' is before the permitted minimum value of '1900-01-01' (from ${PROFILE})`,
    ]);
  });

  it('rejects a date after maxValueDate, also at year precision', () => {
    expect(check({ birthDate: '2021' })).toEqual([
      `Patient.birthDate | Patient.birthDate: the value '2021' is after the permitted maximum value of '2020-12-31' (from ${PROFILE})`,
    ]);
  });

  it('compares zoned date-times as instants', () => {
    expect(check({ deceasedDateTime: '2000-01-01T00:59:59+01:00' })).toEqual([
      `Patient.deceased.ofType(dateTime) | Patient.deceased[x]: the value '2000-01-01T00:59:59+01:00' is before the permitted minimum value of '2000-01-01T00:00:00Z' (from ${PROFILE})`,
    ]);
  });

  it('orders values only when the shared precision decides', () => {
    expect(compareTemporal('2020', '2020-05-01')).toBeUndefined();
    expect(compareTemporal('2022-02', '2021-12-31')).toBe(1);
    expect(compareTemporal('09:59:59', '10:00')).toBe(-1);
  });
});
