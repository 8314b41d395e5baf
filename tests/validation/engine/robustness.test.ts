import { beforeAll, describe, expect, it } from 'vitest';
import type { Validator } from '../../../src/validation/index.ts';
import { patient, validator } from './helpers.ts';

let v: Validator;
beforeAll(async () => {
  v = await validator();
});

const div = { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' };
const seeds: Record<string, unknown>[] = [
  patient({
    identifier: [{ system: 'urn:oid:1.2.246.21', value: '010181-900C', period: { start: '2020-01-01' } }],
    name: [
      {
        family: 'Virtanen',
        given: ['Matti', 'Olavi'],
        _given: [
          null,
          {
            extension: [
              { url: 'http://hl7.org/fhir/StructureDefinition/iso21090-EN-qualifier', valueCode: 'CL' },
            ],
          },
        ],
      },
    ],
    telecom: [{ system: 'phone', value: '+358401234567' }],
    extension: [
      { url: 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace', valueAddress: { city: 'Oulu' } },
    ],
    contained: [{ resourceType: 'Organization', id: 'o', name: 'Org' }],
    managingOrganization: { reference: '#o' },
  }),
  {
    resourceType: 'Observation',
    text: div,
    status: 'final',
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' },
        ],
      },
    ],
    code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] },
    subject: { reference: 'Patient/p1' },
    effectiveDateTime: '2024-01-01T10:00:00+02:00',
    component: [
      {
        code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }], text: 'sys' },
        valueQuantity: { value: 120, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
      },
      {
        code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }], text: 'dia' },
        valueQuantity: { value: 80, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
      },
    ],
  },
  {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: 'urn:uuid:6f1e3a4c-1b2d-4e5f-8a9b-0c1d2e3f4a5b',
        resource: patient({ id: undefined }),
        request: { method: 'POST', url: 'Patient' },
      },
      {
        fullUrl: 'urn:uuid:6f1e3a4c-1b2d-4e5f-8a9b-0c1d2e3f4a5c',
        resource: {
          resourceType: 'Observation',
          text: div,
          status: 'final',
          code: { text: 'x' },
          subject: { reference: 'urn:uuid:6f1e3a4c-1b2d-4e5f-8a9b-0c1d2e3f4a5b' },
        },
        request: { method: 'POST', url: 'Observation' },
      },
    ],
  },
];

const replacements: unknown[] = [
  null,
  [],
  {},
  '',
  0,
  -1,
  1.5,
  'x',
  [null],
  [{}],
  { a: 1 },
  true,
  '1970-02-31',
  { reference: '#nope' },
  [{ url: 'http://x' }],
];

/** Deterministic: a linear congruential generator, so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

function mutate(resource: Record<string, unknown>, next: () => number): Record<string, unknown> {
  const copy = structuredClone(resource);
  const nodes: Array<Record<string, unknown>> = [];
  const collect = (o: unknown) => {
    if (o && typeof o === 'object') {
      nodes.push(o as Record<string, unknown>);
      for (const k in o as object) collect((o as Record<string, unknown>)[k]);
    }
  };
  collect(copy);
  for (let i = 0; i < 3; i++) {
    const node = nodes[Math.floor(next() * nodes.length)];
    const keys = Object.keys(node);
    if (keys.length)
      node[keys[Math.floor(next() * keys.length)]] = replacements[Math.floor(next() * replacements.length)];
  }
  return copy;
}

describe('robustness', () => {
  it('accepts the unmutated seeds', () => {
    for (const s of seeds) expect(v.validate(s).issue?.filter((i) => i.severity === 'error')).toEqual([]);
  });

  it('never fails internally on mutated resources and locates every error', () => {
    const next = rng(42);
    for (let round = 0; round < 150; round++) {
      for (const s of seeds) {
        const m = mutate(s, next);
        const issues = v.validate(m).issue ?? [];
        expect(issues.filter((i) => i.severity === 'fatal')).toEqual([]);
        for (const i of issues) {
          expect(i.diagnostics).toBeTruthy();
          if (i.severity === 'error' && typeof m.resourceType === 'string' && m.resourceType) {
            expect(i.expression?.[0]?.startsWith(m.resourceType)).toBe(true);
          }
        }
      }
    }
  });
});
