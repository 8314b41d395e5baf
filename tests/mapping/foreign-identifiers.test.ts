// A record another sender wrote, read and sent back: every resource keeps its business identifier, so
// Kanta's conditional create (on that identifier) updates nothing twice and duplicates nothing. Local
// ids keep the business identifiers they always had.
import type { Bundle, Consent, Patient } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maija, sirpa, suvi } from '../../examples/tools/personas.ts';
import type { WorkAbilityRecord } from '../../src/domain/index.ts';
import {
  type FhirKind,
  businessUuid,
  canonical,
  carriedUuid,
  fromFhir,
  idIdentifier,
  toFhir,
  toResources,
} from '../../src/mapping/index.ts';
import { recordArb } from './arbitraries.ts';
import { projectErrors } from './project-errors.ts';

const errorsOf = projectErrors();

const A = { localIdSystemBase: 'https://ehr-a.example.fi/sid/local' };
const B = { localIdSystemBase: 'https://ehr-b.example.fi/sid/local' };

/** Each profile's business identifiers in `bundle`, sorted. */
function businessIds(bundle: Bundle): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of bundle.entry ?? []) {
    const profile = e.resource!.meta!.profile![0]!.split('/').pop()!;
    const ids = [e.resource as { identifier?: unknown }].flatMap((r) => r.identifier ?? []);
    const business = (ids as { system?: string; value?: string }[]).find(
      (i) => i.system === 'urn:ietf:rfc:3986',
    );
    expect(business?.value).toBe(e.fullUrl);
    out[profile] = [...(out[profile] ?? []), e.fullUrl!];
  }
  for (const list of Object.values(out)) list.sort();
  return out;
}

const records: [string, WorkAbilityRecord][] = [
  ['suvi', suvi],
  ['maija', maija],
  ['sirpa', sirpa],
];

describe("a record read from another sender's Bundle is sent back with the same business identifiers", () => {
  it('the records below hold every kind of resource', () => {
    const profiles = new Set(records.flatMap(([, r]) => Object.keys(businessIds(toFhir(r, A)))));
    expect(profiles.size).toBe(11);
  });

  it.each(records)('%s: A maps, B reads with its own local-id system and sends it back', (_, record) => {
    const fromA = toFhir(record, A);
    const readByB = fromFhir(fromA, B);
    const fromB = toFhir(readByB, B);
    expect(businessIds(fromB)).toEqual(businessIds(fromA));
    // What B sends is valid, reads back as what B read, and B sends it again unchanged.
    expect(errorsOf(fromB)).toEqual([]);
    expect(fromFhir(fromB, B)).toEqual(readByB);
    expect(businessIds(toFhir(fromFhir(fromB, B), B))).toEqual(businessIds(fromA));
  });

  it('generated records: A → B → B keeps every business identifier', () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        const fromA = toFhir(record, A);
        const fromB = toFhir(fromFhir(fromA, B), B);
        expect(businessIds(fromB)).toEqual(businessIds(fromA));
      }),
      { numRuns: 100 },
    );
  });

  it.each(records)('%s: a reader on the default system sends back the same identifiers too', (_, record) => {
    const fromA = toFhir(record, A);
    expect(businessIds(toFhir(fromFhir(fromA)))).toEqual(businessIds(fromA));
  });

  it('an object read alone keeps its business identifier too', () => {
    const consent = toResources('consent', suvi.consents![0]!, A).at(-1) as Consent;
    const read = fromFhir(consent, {
      ...B,
      resolve: (ref) => toFhir(suvi, A).entry!.find((e) => e.fullUrl === ref.reference)?.resource,
    });
    expect(read.kind).toBe('consent');
    const [again] = toResources('consent', read.value as never, { ...B, validate: false }) as Consent[];
    expect(again!.identifier![0]!.value).toBe(consent.identifier![0]!.value);
  });
});

describe('a carried id names the business identifier it carries (idIdentifier)', () => {
  it('the resource and every reference to it name that identifier; no local id is made up for it', () => {
    const read = fromFhir(toFhir(suvi, A));
    const again = toFhir(read);
    const carried = (id: string) => ({ system: 'urn:ietf:rfc:3986', value: `urn:uuid:${carriedUuid(id)}` });
    const patient = again.entry!.find((e) => e.resource!.resourceType === 'Patient')!.resource as Patient;
    expect(patient.identifier!.filter((i) => i.system !== 'urn:oid:1.2.246.21')).toEqual([
      carried(read.client.id),
    ]);
    const consent = again.entry!.find((e) => e.resource!.resourceType === 'Consent')!.resource as Consent;
    expect(consent.patient!.identifier).toEqual(carried(read.client.id));
    expect(idIdentifier('client', read.client.id)).toEqual(carried(read.client.id));
    expect(JSON.stringify(again)).not.toContain('"value":"urn.uuid.');
  });

  it('a local id names itself under the local-id system', () => {
    expect(idIdentifier('client', 'c1', A)).toEqual({ system: `${A.localIdSystemBase}/client`, value: 'c1' });
  });
});

describe('local ids keep the business identifiers they had', () => {
  // Values computed before business identifiers could be carried back: a vendor's resources keep theirs.
  it.each([
    ['client', 'c1', undefined, '84deffc3-8ee1-5a7f-8297-c8fae04f7809'],
    ['organization', 'sote', A.localIdSystemBase, 'ccb62c0b-f37e-580c-a3f0-f787b8f15b60'],
    ['goal', 'plan-1/g-1', undefined, '2a45ab12-5033-50c8-96b3-a0b73e1829c2'],
    ['score', 'a-1/self-reported', undefined, '589d8d61-b30d-5f21-a008-e3fa65218a1d'],
  ] as const)('%s %s (base %s) → %s', (kind, id, localIdSystemBase, uuid) => {
    expect(businessUuid(kind as FhirKind, id, { localIdSystemBase })).toBe(uuid);
  });

  it('a record of local ids is written as before: local id beside the business identifier', () => {
    const patient = toFhir(suvi).entry!.find((e) => e.resource!.resourceType === 'Patient')!.resource as {
      identifier: unknown[];
    };
    expect(patient.identifier.slice(0, 2)).toEqual([
      { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${businessUuid('client', 'suvi')}` },
      { system: `${canonical}/sid/local/client`, value: 'suvi' },
    ]);
  });
});
