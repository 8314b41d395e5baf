// The SDK's HETU rule and the profile invariant tyk-hetu-1 must agree on every shared case: the
// invariant's FHIRPath is read from the compiled profile package and evaluated with fhirpath.
import { readFileSync } from 'node:fs';
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4/index.js';
import { describe, expect, it } from 'vitest';
import { checkHetuFormat, parseHetu } from '../../src/domain/index.ts';
import cases from '../fixtures/hetu-cases.json' with { type: 'json' };

const sd = JSON.parse(
  readFileSync(
    new URL('../../profiles/package/StructureDefinition-tyokyky-patient.json', import.meta.url),
    'utf8',
  ),
);
const constraint = sd.snapshot.element
  .flatMap((e: { path: string; constraint?: { key: string; expression: string }[] }) =>
    (e.constraint ?? []).map((c) => ({ ...c, path: e.path })),
  )
  .find((c: { key: string }) => c.key === 'tyk-hetu-1');
const invariant = fhirpath.compile({ base: constraint.path, expression: constraint.expression }, r4);

function invariantHolds(hetu: string): boolean {
  const identifier = { use: 'official', system: 'urn:oid:1.2.246.21', value: hetu };
  return (invariant(identifier) as unknown[]).every((x) => x === true);
}

describe('tyk-hetu-1 (profile) and the SDK agree', () => {
  it('the invariant sits on Patient.identifier', () => {
    expect(constraint.path).toBe('Patient.identifier');
  });

  for (const c of cases.cases) {
    it(`${JSON.stringify(c.hetu)}: ${c.why}`, () => {
      expect(invariantHolds(c.hetu)).toBe(c.valid);
      expect(checkHetuFormat(c.hetu).valid).toBe(c.valid);
      expect(parseHetu(c.hetu).valid).toBe(c.valid);
    });
  }
});
