// The store indexes search values by walking plain element paths instead of evaluating each
// parameter's FHIRPath on every write. This checks both give the same values on real resources
// (our profile examples and the persona Bundles) and on references of every shape.
import { readFileSync, readdirSync } from 'node:fs';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import {
  INDEXED_PARAMS,
  type ParamDef,
  paramsFor,
  valuesByFhirPath,
  valuesOf,
  walkedValues,
} from '../../src/store/indexing.ts';

const root = new URL('../../', import.meta.url);
const json = (path: string) => JSON.parse(readFileSync(new URL(path, root), 'utf8'));

function corpus(): Resource[] {
  const examples = readdirSync(new URL('profiles/package/example/', root)).map(
    (f) => json(`profiles/package/example/${f}`) as Resource,
  );
  const personas = readdirSync(new URL('examples/personas/', root)).flatMap((f) =>
    ((json(`examples/personas/${f}`) as Bundle).entry ?? []).map((e) => e.resource as Resource),
  );
  const ref = (reference: string) => ({ reference });
  const tricky: Resource[] = [
    'Patient/p1',
    'Patient/p1/_history/2',
    'http://example.org/fhir/Patient/p1',
    'urn:uuid:7f0c1b56-0000-4000-8000-000000000001',
    '#contained-1',
    'Patient?identifier=urn:oid:1.2.246.21|010181-900C',
    'Group/g1',
  ].map((reference, i) => ({
    resourceType: 'Observation',
    id: `tricky-${i}`,
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '89575-4' }], text: 'x' },
    subject: ref(reference),
    effectivePeriod: { start: '2024-01-01', end: '2024-02-01' },
    category: [{ coding: [{ code: 'survey' }] }, { text: 'no coding' }],
    identifier: [{ system: 'urn:ietf:rfc:3986', value: `urn:uuid:${i}` }, { value: 'no-system' }],
  }));
  const logical: Resource = {
    resourceType: 'Consent',
    id: 'logical',
    status: 'active',
    scope: { coding: [{ code: 'patient-privacy' }] },
    category: [{ coding: [{ code: 'x' }] }],
    patient: { type: 'Patient', identifier: { system: 'urn:oid:1.2.246.21', value: '010181-900C' } },
    dateTime: '2024-05-03',
  };
  return [...examples, ...personas, ...tricky, logical];
}

const canonical = (values: Array<{ type: string; value: unknown }>) =>
  [...new Set(values.map((v) => JSON.stringify([v.type, v.value])))].sort();

/**
 * The type R4's resolve() finds for a Reference the store does not resolve: the last `Type/id` of its
 * URL (relative, versioned or absolute), a conditional reference's type, else `Reference.type`.
 * @medplum/core's resolve() takes the text before the first '/' instead (`https:` for an absolute
 * URL) and never reads `type` when there is a reference: there the walk is right and it is not.
 */
function targetType(ref: { reference?: unknown; type?: unknown }): unknown {
  if (typeof ref.reference === 'string') {
    const m =
      /(?:^|\/)([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[^/]+)?$/.exec(ref.reference) ??
      /^([A-Z][A-Za-z]+)\?/.exec(ref.reference);
    if (m) return m[1];
  }
  return ref.type;
}

/** FHIRPath's values of `def`, with each `.where(resolve() is X)` decided by `targetType`. */
function oracle(resource: Resource, def: ParamDef): Array<{ type: string; value: unknown }> {
  return def.expression.split(' | ').flatMap((part) => {
    const m = /^(.*)\.where\(resolve\(\) is ([A-Za-z]+)\)$/.exec(part);
    if (!m) return valuesByFhirPath(resource, { ...def, expression: part });
    return valuesByFhirPath(resource, { ...def, expression: m[1] as string }).filter(
      (v) => targetType(v.value as { reference?: unknown; type?: unknown }) === m[2],
    );
  });
}

describe('search index extraction', () => {
  const resources = corpus();

  it('walks plain paths for the parameters of every type in the corpus', () => {
    const types = new Set(resources.map((r) => r.resourceType));
    expect(types.size).toBeGreaterThanOrEqual(8);
    for (const type of types) {
      for (const def of paramsFor(type).values()) {
        expect([type, def.code, def.paths !== undefined]).toEqual([type, def.code, true]);
      }
    }
  });

  it('gives the values FHIRPath gives, parameter by parameter', () => {
    let compared = 0;
    let nonEmpty = 0;
    let absoluteUrlPatient = 0;
    for (const resource of resources) {
      for (const def of paramsFor(resource.resourceType).values()) {
        const walked = walkedValues(resource, def);
        expect([resource.resourceType, def.code, walked !== undefined]).toEqual([
          resource.resourceType,
          def.code,
          true,
        ]);
        const fast = canonical(valuesOf(resource, def));
        const reference = canonical(oracle(resource, def));
        if (resource.id === 'tricky-2' && def.code === 'patient') absoluteUrlPatient = fast.length;
        expect([resource.resourceType, resource.id, def.code, fast]).toEqual([
          resource.resourceType,
          resource.id,
          def.code,
          reference,
        ]);
        compared++;
        if (fast.length) nonEmpty++;
      }
    }
    expect(INDEXED_PARAMS.length).toBe(27);
    // What turvakielto redaction hides is never searchable (docs/security.md).
    for (const hidden of ['address', 'address-city', 'address-postalcode', 'telecom', 'phone', 'email'])
      expect(INDEXED_PARAMS).not.toContain(hidden);
    expect(compared).toBeGreaterThan(200);
    // An absolute URL's last Type/id names its type (@medplum/core's resolve() would say `http:`).
    expect(absoluteUrlPatient).toBe(1);
    expect(nonEmpty).toBeGreaterThan(100);
  });
});
