// FHIRPath memberOf() in a profile's invariant, answered from value sets we can enumerate offline
// (fhirpath.js's own asks a terminology server); one we cannot enumerate leaves the invariant
// unevaluated with a warning, never an error.
import type { Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Validator, createValidator } from '../../../src/validation/index.ts';
import { errors, warnings } from './helpers.ts';

const BASE = 'https://tyokyky-fhir.org/fhir/test';
const CRITICALITY = 'http://hl7.org/fhir/allergy-intolerance-criticality';
const valueSet = {
  resourceType: 'ValueSet',
  url: `${BASE}/ValueSet/low-only`,
  status: 'draft',
  compose: { include: [{ system: CRITICALITY, concept: [{ code: 'low' }] }] },
} as unknown as Resource;
const profile = (key: string, vs: string) =>
  ({
    resourceType: 'StructureDefinition',
    url: `${BASE}/StructureDefinition/basic-${key}`,
    name: `Basic${key.replace(/-/g, '')}`,
    status: 'draft',
    fhirVersion: '4.0.1',
    kind: 'resource',
    abstract: false,
    type: 'Basic',
    baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Basic',
    derivation: 'constraint',
    differential: {
      element: [
        {
          id: 'Basic.code',
          path: 'Basic.code',
          constraint: [
            { key, severity: 'error', human: 'code in the value set', expression: `memberOf('${vs}')` },
          ],
        },
      ],
    },
  }) as unknown as Resource;

const basic = (code: string) => ({
  resourceType: 'Basic',
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' },
  code: { coding: [{ system: CRITICALITY, code }] },
});

let v: Validator;
beforeAll(async () => {
  v = await createValidator({
    fiBase: false,
    resources: [
      valueSet,
      profile('tst-mo-1', `${BASE}/ValueSet/low-only`),
      profile('tst-mo-2', 'http://loinc.org/vs'),
    ],
  });
});

describe('memberOf() in invariants', () => {
  it('a coding in the value set passes; one outside fails the invariant', () => {
    const p = `${BASE}/StructureDefinition/basic-tst-mo-1`;
    expect(errors(v.validate(basic('low'), { profile: p }))).toEqual([]);
    expect(errors(v.validate(basic('high'), { profile: p }))).toEqual([
      `Basic.code | tst-mo-1: code in the value set (from ${p})`,
    ]);
  });

  it('a value set we cannot enumerate: not evaluated, a warning', () => {
    const p = `${BASE}/StructureDefinition/basic-tst-mo-2`;
    const oo = v.validate(basic('high'), { profile: p });
    expect(errors(oo)).toEqual([]);
    expect(warnings(oo).some((w) => w.includes('tst-mo-2') && w.includes('cannot be expanded here'))).toBe(
      true,
    );
  });
});
