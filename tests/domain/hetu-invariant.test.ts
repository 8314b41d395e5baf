// Every native tyk-* invariant path must agree with its FSH expression, and the SDK's domain rule with
// both, on one shared case table per rule. The FSH expressions are read from the compiled profile
// package and evaluated with fhirpath.js; the native paths are the validator's (project.ts), which
// call the domain rules.
import { readFileSync, readdirSync } from 'node:fs';
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4/index.js';
import { describe, expect, it } from 'vitest';
import {
  FURTHER_ASSESSMENT_CODE,
  HETU_SYSTEM,
  checkHetuFormat,
  interpretWorkAbilityScore,
  isGlobalIdentifier,
  parseHetu,
} from '../../src/domain/index.ts';
import { compileInvariant } from '../../src/validation/invariants/index.ts';
import { projectFastPaths } from '../../src/validation/invariants/project.ts';
import cases from '../fixtures/hetu-cases.json' with { type: 'json' };

interface Constraint {
  key: string;
  expression: string;
  severity: 'error' | 'warning';
  human: string;
  source: string;
  path: string;
}

const packageDir = new URL('../../profiles/package/', import.meta.url);
const constraints = new Map<string, Constraint>();
for (const file of readdirSync(packageDir).filter((f) => f.startsWith('StructureDefinition-'))) {
  const sd = JSON.parse(readFileSync(new URL(file, packageDir), 'utf8'));
  for (const e of sd.snapshot?.element ?? []) {
    for (const c of e.constraint ?? [])
      if (c.key.startsWith('tyk-')) constraints.set(c.key, { ...c, path: e.path });
  }
}

function published(key: string, node: unknown): boolean {
  const c = constraints.get(key)!;
  const result = fhirpath.evaluate(
    node,
    { base: c.path, expression: c.expression },
    {},
    r4 as any,
  ) as unknown[];
  return result.length === 1 && result[0] === true;
}

function native(key: string, node: unknown, typeName: string): boolean | undefined {
  const c = constraints.get(key)!;
  const env = { resource: node, rootResource: node, typeName, path: c.path };
  const fast = projectFastPaths[key]!(node, env);
  // The compiled invariant (what the validator runs) gives the same answer as the native path.
  expect(compileInvariant(c, c.path)!.check(node, env)).toBe(fast ?? published(key, node));
  return fast;
}

describe('every native tyk-* path has an FSH invariant and a case table here', () => {
  it('native paths: tyk-hetu-1, tyk-id-1, tyk-was-1, tyk-was-2, tyk-was-3', () => {
    expect(Object.keys(projectFastPaths).sort()).toEqual([
      'tyk-hetu-1',
      'tyk-id-1',
      'tyk-was-1',
      'tyk-was-2',
      'tyk-was-3',
    ]);
    for (const key of Object.keys(projectFastPaths)) expect(constraints.get(key)?.expression).toBeTruthy();
  });
  it('tyk-hetu-1 sits on Patient.identifier', () => {
    expect(constraints.get('tyk-hetu-1')?.path).toBe('Patient.identifier');
  });
});

describe('tyk-id-1 (profile), its native path and the domain rule agree', () => {
  // One case table for the invariant, its native path and the rule the Kanta sandbox applies.
  const RFC = 'urn:ietf:rfc:3986';
  const cases: Array<[string, string, boolean]> = [
    [RFC, 'urn:uuid:5b4c1f3e-2a10-5c3d-8e11-000000000021', true],
    [RFC, 'urn:uuid:5B4C1F3E-2A10-5C3D-8E11-000000000021', false], // FHIR writes UUIDs in lower case
    [RFC, 'urn:uuid:', false],
    [RFC, 'urn:uuid:not-a-uuid', false],
    [RFC, 'urn:oid:1.2.246.10.1234567', true],
    [RFC, 'urn:oid:1.02.3', false],
    [RFC, 'urn:oid:hello world', false],
    [RFC, 'https://example.org/id/1', false],
    ['urn:oid:1.2.246.10.1234567.10.1', 'urn:uuid:5b4c1f3e-2a10-5c3d-8e11-000000000021', false],
  ];
  it.each(cases)('%s | %s → %s', (system, value, global) => {
    const goal = { resourceType: 'Goal', identifier: [{ system, value }] };
    expect(published('tyk-id-1', goal)).toBe(global);
    expect(native('tyk-id-1', goal, 'Goal')).toBe(global);
    expect(isGlobalIdentifier(system, value)).toBe(global);
  });
  it("a client's HETU is a globally unique identifier too; none at all is not", () => {
    const hetu = { resourceType: 'Patient', identifier: [{ system: HETU_SYSTEM, value: '010181-900C' }] };
    expect(published('tyk-id-1', hetu)).toBe(true);
    expect(native('tyk-id-1', hetu, 'Patient')).toBe(true);
    expect(published('tyk-id-1', { resourceType: 'Patient' })).toBe(false);
    expect(native('tyk-id-1', { resourceType: 'Patient' }, 'Patient')).toBe(false);
    // One identifier (QuestionnaireResponse.identifier is 0..1), not a list.
    const single = {
      resourceType: 'QuestionnaireResponse',
      identifier: { system: RFC, value: cases[0]![1] },
    };
    expect(native('tyk-id-1', single, 'QuestionnaireResponse')).toBe(true);
  });
  it.each(['Goal', 'Consent', 'Observation', 'CarePlan', 'CareTeam'])(
    "the client's HETU is no business identifier of a %s: only a Patient's counts",
    (resourceType) => {
      const r = { resourceType, identifier: [{ system: HETU_SYSTEM, value: '030879-904X' }] };
      expect(published('tyk-id-1', r)).toBe(false);
      expect(native('tyk-id-1', r, resourceType)).toBe(false);
      expect(isGlobalIdentifier(HETU_SYSTEM, '030879-904X')).toBe(false);
    },
  );
});

describe('tyk-hetu-1 (profile), its native path and the SDK agree', () => {
  it('the case table holds valid and invalid codes', () => {
    expect(cases.cases.filter((c) => c.valid).length).toBeGreaterThanOrEqual(5);
    expect(cases.cases.filter((c) => !c.valid).length).toBeGreaterThanOrEqual(5);
  });
  for (const c of cases.cases) {
    it(`${JSON.stringify(c.hetu)}: ${c.why}`, () => {
      const identifier = { use: 'official', system: HETU_SYSTEM, value: c.hetu };
      expect(published('tyk-hetu-1', identifier)).toBe(c.valid);
      expect(native('tyk-hetu-1', identifier, 'Identifier')).toBe(c.valid);
      expect(checkHetuFormat(c.hetu).valid).toBe(c.valid);
      expect(parseHetu(c.hetu).valid).toBe(c.valid);
    });
  }
  it('another identifier system is not a HETU', () => {
    const other = { system: 'urn:ietf:rfc:3986', value: 'urn:uuid:x' };
    expect(published('tyk-hetu-1', other)).toBe(true);
    expect(native('tyk-hetu-1', other, 'Identifier')).toBe(true);
  });
});

const system = `https://tyokyky-fhir.org/fhir/CodeSystem/${FURTHER_ASSESSMENT_CODE.codeSystem}`;
const needs = { coding: [{ system, code: FURTHER_ASSESSMENT_CODE.code }] };
const elsewhere = { coding: [{ system: 'http://example.org', code: FURTHER_ASSESSMENT_CODE.code }] };
const noFurther = { coding: [{ system, code: 'no-further-assessment' }] };

/** Scores with the interpretation they carry; `was1`/`was2` are the expected verdicts of both paths. */
const SCORE_CASES: Array<{
  why: string;
  obs: Record<string, unknown>;
  was1: boolean;
  was2: boolean;
  was3: boolean;
}> = [
  { why: 'top score', obs: { valueInteger: 10 }, was1: true, was2: true, was3: true },
  { why: 'above the threshold', obs: { valueInteger: 8 }, was1: true, was2: true, was3: true },
  {
    why: 'above the threshold, interpreted so',
    obs: { valueInteger: 8, interpretation: [noFurther] },
    was1: true,
    was2: true,
    was3: true,
  },
  {
    why: 'above the threshold, interpreted as needing assessment',
    obs: { valueInteger: 8, interpretation: [needs] },
    was1: true,
    was2: true,
    was3: false,
  },
  {
    why: 'at the threshold, no interpretation',
    obs: { valueInteger: 7 },
    was1: true,
    was2: false,
    was3: true,
  },
  {
    why: 'at the threshold, interpreted',
    obs: { valueInteger: 7, interpretation: [needs] },
    was1: true,
    was2: true,
    was3: true,
  },
  {
    why: 'low, interpreted both ways',
    obs: { valueInteger: 6, interpretation: [needs, noFurther] },
    was1: true,
    was2: true,
    was3: false,
  },
  {
    why: 'zero, code from another system',
    obs: { valueInteger: 0, interpretation: [elsewhere] },
    was1: true,
    was2: false,
    was3: true,
  },
  {
    why: 'low, second concept interprets',
    obs: { valueInteger: 3, interpretation: [elsewhere, needs] },
    was1: true,
    was2: true,
    was3: true,
  },
  { why: 'above the range', obs: { valueInteger: 11 }, was1: false, was2: true, was3: true },
  {
    why: 'above the range, interpreted',
    obs: { valueInteger: 11, interpretation: [needs] },
    was1: false,
    was2: true,
    was3: true,
  },
  {
    why: 'below the range',
    obs: { valueInteger: -1, interpretation: [needs] },
    was1: false,
    was2: true,
    was3: true,
  },
  { why: 'no value', obs: {}, was1: true, was2: true, was3: true },
];

describe('tyk-was-1 / -2 / -3 (profile), their native paths and the SDK agree', () => {
  for (const c of SCORE_CASES) {
    it(`${c.why}: ${JSON.stringify(c.obs)}`, () => {
      const obs = { resourceType: 'Observation', status: 'final', code: { text: 'x' }, ...c.obs };
      expect(published('tyk-was-1', obs)).toBe(c.was1);
      expect(native('tyk-was-1', obs, 'Observation')).toBe(c.was1);
      expect(published('tyk-was-2', obs)).toBe(c.was2);
      expect(native('tyk-was-2', obs, 'Observation')).toBe(c.was2);
      expect(published('tyk-was-3', obs)).toBe(c.was3);
      expect(native('tyk-was-3', obs, 'Observation')).toBe(c.was3);
      const score = c.obs.valueInteger;
      if (typeof score === 'number') {
        const sdk = interpretWorkAbilityScore(score);
        expect(sdk.valid).toBe(c.was1);
        // A score the profile rejects for lacking the interpretation is one the SDK interprets so;
        // an uninterpreted score the profile accepts is one the SDK does not.
        if (sdk.valid && !c.was2) expect(sdk.interpretation).toBe(FURTHER_ASSESSMENT_CODE.code);
        if (sdk.valid && c.was2 && !c.obs.interpretation) expect(sdk.investigateFurther).toBe(false);
      }
    });
  }
  it('a value of another type is left to fhirpath.js', () => {
    const obs = { resourceType: 'Observation', valueQuantity: { value: 5 } };
    expect(native('tyk-was-1', obs, 'Observation')).toBe(true);
    expect(published('tyk-was-1', obs)).toBe(true);
  });
});
