// Several profiles on one element type are alternatives: the value conforms to one of them (HL7:
// "Unable to find a match for the specified profile among choices" when none fits). And a
// StructureDefinition marked `specialization` of its own base type (no new type) is expanded and used
// as a profile, as the HL7 snapshot generator does.
import type { Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Validator, createValidator } from '../../../src/validation/index.ts';
import { errors, patient } from './helpers.ts';

const BASE = 'https://tyokyky-fhir.org/fhir/test/StructureDefinition';
const nameProfile = (id: string, constraint: { key: string; expression: string }) =>
  ({
    resourceType: 'StructureDefinition',
    url: `${BASE}/${id}`,
    name: id.replace(/-/g, ''),
    status: 'draft',
    fhirVersion: '4.0.1',
    kind: 'complex-type',
    abstract: false,
    type: 'HumanName',
    baseDefinition: 'http://hl7.org/fhir/StructureDefinition/HumanName',
    derivation: 'constraint',
    differential: {
      element: [
        {
          id: 'HumanName.family',
          path: 'HumanName.family',
          constraint: [{ ...constraint, severity: 'error', human: `family ${constraint.key}` }],
        },
      ],
    },
  }) as unknown as Resource;

// Family names starting with A, or with B.
const startsA = nameProfile('name-a', { key: 'tst-a', expression: "startsWith('A')" });
const startsB = nameProfile('name-b', { key: 'tst-b', expression: "startsWith('B')" });
const patientProfile = {
  resourceType: 'StructureDefinition',
  url: `${BASE}/patient-a-or-b`,
  name: 'PatientAOrB',
  status: 'draft',
  fhirVersion: '4.0.1',
  kind: 'resource',
  abstract: false,
  type: 'Patient',
  baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Patient',
  // As some published test profiles are: a "specialization" that defines no new type.
  derivation: 'specialization',
  differential: {
    element: [
      {
        id: 'Patient.name',
        path: 'Patient.name',
        type: [{ code: 'HumanName', profile: [`${BASE}/name-a`, `${BASE}/name-b`] }],
      },
    ],
  },
} as unknown as Resource;

let v: Validator;
beforeAll(async () => {
  v = await createValidator({ fiBase: false, resources: [startsA, startsB, patientProfile] });
});

const withFamily = (family: string) => patient({ name: [{ family }] });
const profile = `${BASE}/patient-a-or-b`;

describe('type profiles as alternatives', () => {
  it('a value that fits one of the profiles is valid, whichever', () => {
    expect(errors(v.validate(withFamily('Aalto'), { profile }))).toEqual([]);
    expect(errors(v.validate(withFamily('Berg'), { profile }))).toEqual([]);
  });

  it('a value that fits none: the choice error, and the first profile says why', () => {
    expect(errors(v.validate(withFamily('Virtanen'), { profile }))).toEqual([
      `Patient.name[0] | Patient.name: Unable to find a match for the specified profile among choices: ${BASE}/name-a, ${BASE}/name-b (from ${profile})`,
      `Patient.name[0].family | tst-a: family tst-a (from ${BASE}/name-a)`,
    ]);
  });
});
