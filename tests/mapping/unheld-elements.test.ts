// Elements the profiles allow that change what the record says and the domain cannot hold (what came
// of a goal as a reference, a goal set or a consent given by another than the client or a professional, whom a referral is addressed to, how often or how long an activity
// runs, an activity that is a reference to other than a referral): refused at the element by fromFhir (and consentForDisclosure
// for a Consent), reported at the element in read-back mode (`unheld`), never read as if absent.
import type { Bundle, CarePlan, Consent, Goal, Resource, ServiceRequest } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { suvi } from '../../examples/tools/personas.ts';
import { consentForDisclosure, fromFhir, toFhir } from '../../src/mapping/index.ts';
import { entryOf, refusal } from './reader-helpers.ts';

const UNHELD =
  'has no domain field: read without it, the record would be written back saying otherwise (docs/sdk.md)';
const LEFT_OUT =
  'has no domain field: read back without it, the object does not say all the resource says (docs/sdk.md)';

/** Suvi's Bundle with `change` applied to the resource of `profile`; the Bundle, resource and path. */
function changed<T extends Resource>(profile: string, change: (r: T) => void) {
  const bundle = toFhir(suvi);
  const { resource, path } = entryOf<T>(bundle, profile);
  change(resource);
  return { bundle, resource, path };
}

const repeatOf = (p: CarePlan) => p.activity![0]!.detail!.scheduledTiming!.repeat!;

type Case = [string, string, (r: never) => void, string, string];
const cases: Case[] = [
  [
    'Goal.outcomeReference',
    'tyokyky-goal',
    (g: Goal) => {
      g.outcomeReference = [{ display: 'x' }];
    },
    'outcomeReference[0]',
    'what came of a goal (outcomeReference)',
  ],
  [
    'Goal.expressedBy',
    'tyokyky-goal',
    (g: Goal) => {
      g.expressedBy = { reference: 'Patient/x' };
    },
    'expressedBy',
    "a goal set by another than its client or a professional (expressedBy naming other than Goal.subject or a PractitionerRole; the domain holds the client or a professional's id)",
  ],
  [
    'Consent.performer',
    'tyokyky-consent',
    (c: Consent) => {
      c.performer = [{ reference: 'Patient/x' }];
    },
    'performer[0]',
    'a consent given by another than its client, such as a guardian or an organisation (performer naming other than Consent.patient)',
  ],
  [
    'Consent.verification verified false',
    'tyokyky-consent',
    (c: Consent) => {
      c.verification = [{ verified: true }, { verified: false }];
    },
    'verification[1].verified',
    'a consent not verified with the client (verification.verified false)',
  ],
  [
    'Consent.sourceAttachment',
    'tyokyky-consent',
    (c: Consent) => {
      c.sourceAttachment = { title: 'Y100', contentType: 'application/pdf' };
    },
    'sourceAttachment',
    'the document or record the consent is given in (source[x])',
  ],
  [
    'ServiceRequest.performerType',
    'tyokyky-referral',
    (s: ServiceRequest) => {
      s.performerType = { coding: [{ system: 'https://example.org/role', code: 'kela-worker' }] };
    },
    'performerType',
    'what kind of worker the referral is addressed to (performerType)',
  ],
  [
    'ServiceRequest.quantityQuantity',
    'tyokyky-referral',
    (s: ServiceRequest) => {
      s.quantityQuantity = { value: 10 };
    },
    'quantityQuantity',
    'how much of the service is asked for (quantity[x])',
  ],
  ...(
    [
      ['count', { count: 8 }, 'how many times in all an activity is done (repeat.count, countMax)'],
      ['countMax', { countMax: 8 }, 'how many times in all an activity is done (repeat.count, countMax)'],
      [
        'periodMax',
        { periodMax: 4 },
        "a range of an activity's period (repeat.periodMax; daysPerWeek is a week's)",
      ],
      [
        'duration',
        { duration: 2, durationUnit: 'h' },
        'how long each time of an activity lasts (repeat.duration, durationMax)',
      ],
      [
        'durationMax',
        { durationMax: 3, durationUnit: 'h' },
        'how long each time of an activity lasts (repeat.duration, durationMax)',
      ],
    ] as const
  ).map(
    ([name, set, what]): Case => [
      `CarePlan activity repeat.${name}`,
      'tyokyky-support-plan',
      (p: CarePlan) => {
        Object.assign(repeatOf(p), set);
      },
      `activity[0].detail.scheduledTiming.repeat.${name}`,
      what,
    ],
  ),
  [
    'CarePlan activity.reference (an Observation as an activity)',
    'tyokyky-support-plan',
    (p: CarePlan) => {
      p.activity!.push({ reference: { reference: 'Observation/x' } });
    },
    'activity[1].reference',
    "an activity given as a reference to another resource than a referral, or to one it cannot tell (activity.reference; the domain's activities are activity.detail, its referrals referralIds)",
  ],
];

/** The path fromFhir names for `element` of the resource at `path` (a Goal is read through its plan). */
function expressionOf(bundle: Bundle, profile: string, path: string, element: string): string {
  if (profile !== 'tyokyky-goal') return `${path}.${element}`;
  return `${entryOf(bundle, 'tyokyky-support-plan').path}.goal[0].${element}`;
}

describe('what changes what the record says and the domain cannot hold is refused at the element', () => {
  it.each(cases)('%s is refused, naming the element and why', (_, profile, change, element, what) => {
    const { bundle, resource, path } = changed(profile, change as (r: Resource) => void);
    const at = expressionOf(bundle, profile, path, element);
    expect(refusal(() => fromFhir(bundle))).toEqual({
      expression: at,
      diagnostics: `${at}: ${what} ${UNHELD}`,
    });
    if (resource.resourceType === 'Consent')
      expect(refusal(() => consentForDisclosure(resource as Consent))).toEqual({
        expression: `Consent.${element}`,
        diagnostics: `${what} ${UNHELD}`,
      });
  });

  it.each(cases)(
    '%s is reported in read-back mode, never read as if absent',
    (_, profile, change, element, what) => {
      const { bundle, path } = changed(profile, change as (r: Resource) => void);
      const at = expressionOf(bundle, profile, path, element);
      const found: { expression: string; diagnostics: string }[] = [];
      const record = fromFhir(bundle, { validate: false, unheld: (u) => found.push(u) });
      expect(record).toEqual(suvi);
      expect(found).toEqual([{ expression: at, diagnostics: `${at}: ${what} ${LEFT_OUT}` }]);
    },
  );

  it('a verified consent (verification.verified true) reads as before', () => {
    const { bundle } = changed<Consent>('tyokyky-consent', (c) => {
      c.verification = [{ verified: true }];
    });
    expect(fromFhir(bundle)).toEqual(suvi);
  });
});
