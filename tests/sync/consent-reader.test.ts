// The SDK's direct reader of a Consent for the disclosure rule (consentForDisclosure), as the sync's
// consent gate uses it: no placeholder client or organisation needed.
import type { Consent } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { isDisclosurePermitted } from '../../src/domain/index.ts';
import { consentForDisclosure } from '../../src/mapping/index.ts';
import { FhirError } from '../../src/shared/outcome.ts';
import { sdkDisclosureRule } from '../../src/sync/index.ts';
import { consent } from './helpers/fixtures.ts';

const withId = (c: Consent): Consent => ({ ...c, id: 'k1' });

function refusal(c: Consent): { expression?: string[]; diagnostics?: string } {
  try {
    consentForDisclosure(c);
  } catch (err) {
    expect(err).toBeInstanceOf(FhirError);
    return (err as FhirError).outcome.issue?.[0] ?? {};
  }
  throw new Error('expected a refusal');
}

describe('consentForDisclosure', () => {
  it('reads parties, data classes and period, whatever the consent refers to', () => {
    const c = withId(
      consent('someone', { parties: ['kela', 'te-services'], dataClasses: ['identification'] }),
    );
    expect(consentForDisclosure({ ...c, organization: undefined })).toEqual({
      id: 'Consent/k1',
      parties: ['kela', 'te-services'],
      dataClasses: ['identification'],
      period: { start: '2026-01-01' },
      date: '2026-01-01',
    });
    const terms = consentForDisclosure(c);
    expect(isDisclosurePermitted([terms], 'kela', 'identification', '2026-02-01').permitted).toBe(true);
    expect(isDisclosurePermitted([terms], 'kela', 'support-plan', '2026-02-01')).toMatchObject({
      permitted: false,
      reason: "consent Consent/k1 does not cover data class 'support-plan'",
    });
  });

  it('reads the day the consent was given: it disclosed nothing before, whatever its period says', () => {
    const c = withId({
      ...consent('someone', { parties: ['kela'], dataClasses: ['identification'] }),
      dateTime: '2026-02-16T23:30:00Z',
    });
    const terms = consentForDisclosure(c);
    // 23:30 UTC on the 16th is the 17th in Finland.
    expect(terms.date).toBe('2026-02-17');
    expect(isDisclosurePermitted([terms], 'kela', 'identification', '2026-02-16')).toMatchObject({
      permitted: false,
      reason:
        'consent Consent/k1 was given on 2026-02-17 (Consent.date); it disclosed nothing before that day',
    });
    expect(isDisclosurePermitted([terms], 'kela', 'identification', '2026-02-17').permitted).toBe(true);
  });

  it('reads the withdrawal date of a withdrawn consent', () => {
    const c = withId({
      ...consent('someone'),
      status: 'inactive',
      extension: [
        {
          url: 'https://tyokyky-fhir.org/fhir/StructureDefinition/consent-withdrawal-date',
          valueDateTime: '2026-03-01T10:00:00Z',
        },
      ],
    });
    expect(consentForDisclosure(c).withdrawnOn).toBe('2026-03-01');
  });

  it('tyk-con-1: an inactive consent without its withdrawal date is refused, naming the element', () => {
    const r = refusal(withId({ ...consent('someone'), status: 'inactive' }));
    expect(r.expression).toEqual(['Consent.extension']);
    expect(r.diagnostics).toMatch(/^tyk-con-1: /);
  });

  it('a party outside the consent-party CodeSystem is refused, naming the actor', () => {
    const c = withId(consent('someone'));
    c.provision!.actor![0]!.extension![0]!.valueCodeableConcept = {
      coding: [{ system: 'urn:x', code: 'y' }],
    };
    const r = refusal(c);
    expect(r.expression).toEqual(['Consent.provision.actor[0].extension']);
    expect(r.diagnostics).toMatch(/no code from CodeSystem consent-party/);
  });

  // A limit the rule would not read must not widen what is disclosed: such a consent is not read.
  it.each([
    ['provision.provision', { provision: [{ type: 'deny', code: [{ text: 'health data' }] }] }],
    ['provision.data', { data: [{ meaning: 'instance', reference: { reference: 'Observation/o1' } }] }],
    ['provision.dataPeriod', { dataPeriod: { start: '2026-01-01' } }],
    ['provision.securityLabel', { securityLabel: [{ code: 'R' }] }],
    ['provision.purpose', { purpose: [{ code: 'TREAT' }] }],
    ['provision.class', { class: [{ code: 'Observation' }] }],
    ['provision.type', { type: 'deny' }],
  ] as const)('tyk-con-3: a consent whose provision has %s is refused, naming it', (element, extra) => {
    const c = withId(consent('someone'));
    expect(sdkDisclosureRule([c], 'other-health-care', 'identification', '2026-02-01')).toMatchObject({
      permitted: true,
    });
    Object.assign(c.provision!, extra);
    const r = refusal(c);
    expect(r.expression).toEqual([`Consent.${element}`]);
    expect(r.diagnostics).toMatch(/^tyk-con-3: /);
    // …so a party is not let through on the permit's terms alone.
    expect(sdkDisclosureRule([c], 'other-health-care', 'identification', '2026-02-01')).toMatchObject({
      permitted: false,
    });
  });

  it('a consent without a start date is refused', () => {
    const c = withId(consent('someone'));
    c.provision!.period = {};
    expect(refusal(c).expression).toEqual(['Consent.provision.period.start']);
  });
});
