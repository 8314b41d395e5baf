// Security labels the domain cannot hold: a restriction of whom a resource may reach (HL7 v3
// Confidentiality R, under either URI of its CodeSystem) and a redacted copy (REDACTED) are refused at
// the label by fromFhir, reported in read-back mode (`unheld`), never read as if absent and written
// back without them. The FI Base turvakielto label still reads as nonDisclosure. One home recognises
// the restriction label (src/mapping/non-disclosure.ts); a municipality of another code system is no
// municipality.
import type { CarePlan, Patient, QuestionnaireResponse, Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { suvi } from '../../examples/tools/personas.ts';
import {
  RESTRICTED_LABEL,
  fromFhir,
  isRestricted,
  isRestrictedLabel,
  redactPatient,
  toFhir,
} from '../../src/mapping/index.ts';
import { entryOf, refusal } from './reader-helpers.ts';

const UNHELD =
  'has no domain field: read without it, the record would be written back saying otherwise (docs/sdk.md)';
const LEFT_OUT =
  'has no domain field: read back without it, the object does not say all the resource says (docs/sdk.md)';
const RESTRICTION =
  'a restriction of whom the resource may reach (meta.security v3 Confidentiality R; the domain holds none)';
const REDACTION =
  'a copy with details removed for its reader (meta.security REDACTED; written back, they would read as absent)';

const R4_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
/** The URI Kanta PHR's ValueSet fiphr-vs-confidentiality names (the CodeSystem's pre-R4 URI). */
const KANTA_SYSTEM = 'http://hl7.org/fhir/v3/Confidentiality';

function changed<T extends Resource>(profile: string, change: (r: T) => void) {
  const bundle = toFhir(suvi);
  const { resource, path } = entryOf<T>(bundle, profile);
  change(resource);
  return { bundle, resource, path };
}

describe('the restriction label: one rule, both URIs of v3 Confidentiality', () => {
  it.each([R4_SYSTEM, KANTA_SYSTEM])('R of %s is the restriction', (system) => {
    expect(isRestrictedLabel({ system, code: 'R' })).toBe(true);
    const qr = { resourceType: 'QuestionnaireResponse', meta: { security: [{ system, code: 'R' }] } };
    expect(isRestricted(qr as Resource)).toBe(true);
  });

  it.each([
    ['U of Kanta PHR', { system: KANTA_SYSTEM, code: 'U' }],
    ['N', { system: R4_SYSTEM, code: 'N' }],
    ['R of another system', { system: 'http://example.org/confidentiality', code: 'R' }],
    ['R without a system', { code: 'R' }],
    ['r in another case', { system: KANTA_SYSTEM, code: 'r' }],
  ])('%s is not', (_name, label) => {
    expect(isRestrictedLabel(label)).toBe(false);
  });

  it('the label written here stays the R4 one', () => {
    expect(RESTRICTED_LABEL).toEqual({ system: R4_SYSTEM, code: 'R' });
  });
});

describe('fromFhir refuses the labels the domain cannot hold', () => {
  it.each([
    ['QuestionnaireResponse', 'tyokyky-self-assessment-response', R4_SYSTEM],
    ['QuestionnaireResponse', 'tyokyky-self-assessment-response', KANTA_SYSTEM],
    ['CarePlan', 'tyokyky-support-plan', R4_SYSTEM],
    ['Patient', 'tyokyky-patient', KANTA_SYSTEM],
  ])('%s (%s) restricted with %s, at the label', (_type, profile, system) => {
    const { bundle, resource, path } = changed<QuestionnaireResponse | CarePlan>(profile, (r) => {
      r.meta!.security = [...(r.meta!.security ?? []), { system, code: 'R' }];
    });
    const i = resource.meta!.security!.length - 1;
    expect(refusal(() => fromFhir(bundle))).toEqual({
      expression: `${path}.meta.security[${i}]`,
      diagnostics: `${path}.meta.security[${i}]: ${RESTRICTION} ${UNHELD}`,
    });
    // Read back for a view: read without it, and said so.
    const found: { expression: string; diagnostics: string }[] = [];
    fromFhir(bundle, { validate: false, unheld: (u) => found.push(u) });
    expect(found).toEqual([
      {
        expression: `${path}.meta.security[${i}]`,
        diagnostics: `${path}.meta.security[${i}]: ${RESTRICTION} ${LEFT_OUT}`,
      },
    ]);
  });

  it('a Patient redacted for a reader without turvakielto is refused at REDACTED, naming no value', () => {
    const { bundle, resource, path } = changed<Patient>('tyokyky-patient', (p) => {
      Object.assign(p, redactPatient(p));
    });
    const i = resource.meta!.security!.findIndex((s) => s.code === 'REDACTED');
    expect(i).toBeGreaterThanOrEqual(0);
    const r = refusal(() => fromFhir(bundle));
    expect(r).toEqual({
      expression: `${path}.meta.security[${i}]`,
      diagnostics: `${path}.meta.security[${i}]: ${REDACTION} ${UNHELD}`,
    });
    expect(JSON.stringify(r)).not.toMatch(/Virtanen|Suvi/);
  });

  it('the FI Base turvakielto label still reads as nonDisclosure, and is written back', () => {
    const record = fromFhir(toFhir({ ...suvi, client: { ...suvi.client, nonDisclosure: true } }));
    expect(record.client.nonDisclosure).toBe(true);
    const { resource } = entryOf<Patient>(toFhir(record), 'tyokyky-patient');
    expect(resource.meta?.security?.map((s) => s.code)).toEqual(['TURVAKIELTO']);
  });

  it('other labels (Confidentiality N, Kanta PHR U) are read as before', () => {
    const { bundle } = changed<QuestionnaireResponse>('tyokyky-self-assessment-response', (r) => {
      r.meta!.security = [
        { system: R4_SYSTEM, code: 'N' },
        { system: KANTA_SYSTEM, code: 'U' },
      ];
    });
    expect(fromFhir(bundle).selfAssessments).toHaveLength(1);
  });
});

describe('the home municipality is read from the municipality code system only', () => {
  it.each([
    ['another system', 'http://example.org/postal-code'],
    ['a neighbouring OID', 'urn:oid:1.2.246.537.6.202'],
    ['no system', undefined],
  ])('a municipality code of %s is refused at valueCoding.system', (_name, system) => {
    const { bundle, resource, path } = changed<Patient>('tyokyky-patient', (p) => {
      const e = p.extension!.find((x) => x.url.endsWith('/municipality-code'))!;
      e.valueCoding = { ...(system ? { system } : {}), code: e.valueCoding!.code };
    });
    const i = resource.extension!.findIndex((x) => x.url.endsWith('/municipality-code'));
    const r = refusal(() => fromFhir(bundle));
    expect(r).toEqual({
      expression: `${path}.extension[${i}].valueCoding.system`,
      diagnostics: `${path}.extension[${i}].valueCoding.system: the municipality-code extension carries a code of urn:oid:1.2.246.537.6.21 (municipalities): a code of another system is no home municipality`,
    });
  });

  it('a code of the municipality system reads as before', () => {
    expect(fromFhir(toFhir(suvi)).client.municipality).toBe(suvi.client.municipality);
  });
});
