// What the profiles allow and the domain cannot hold, element by element (src/mapping/unheld.ts):
// an element whose loss would change what the record says is refused at the element, a modifier
// (modifierExtension at any depth, implicitRules) is refused wherever it is, and what the reader
// knowingly drops reads back as the record without it and is listed in docs/sdk.md. Also the
// JSON shapes and values the reader used to misread (a withdrawal date, a given name, a municipality,
// a security label) and consentForDisclosure's refusals of malformed or partial consents.
import { readFileSync } from 'node:fs';
import type {
  Bundle,
  CarePlan,
  CareTeam,
  Consent,
  Goal,
  Observation,
  Organization,
  Patient,
  QuestionnaireResponse,
  Resource,
  ServiceRequest,
} from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { sirpa, suvi } from '../../examples/tools/personas.ts';
import { isDisclosurePermitted } from '../../src/domain/index.ts';
import { canonical, consentForDisclosure, fromFhir, toFhir } from '../../src/mapping/index.ts';
import { ELEMENTS } from '../../src/mapping/unheld.ts';
import { projectErrors } from './project-errors.ts';
import { entryOf, refusal } from './reader-helpers.ts';

const errorsOf = projectErrors();

/** `change` applied to the resource of `profile` in the persona's Bundle; the Bundle and the path. */
function changed<T extends Resource>(
  persona: typeof suvi,
  profile: string,
  change: (r: T) => void,
  n = 0,
): { bundle: Bundle; resource: T; path: string } {
  const bundle = toFhir(persona);
  const { resource, path } = entryOf<T>(bundle, profile, n);
  change(resource);
  return { bundle, resource, path };
}

const WITHDRAWAL = `${canonical}/StructureDefinition/consent-withdrawal-date`;
const UNHELD =
  'has no domain field: read without it, the record would be written back saying otherwise (docs/sdk.md)';
const MODIFIER =
  'a modifier extension the reader does not understand: it may change what the element holding it means, and FHIR forbids processing a resource that carries one (docs/sdk.md)';

describe('a withdrawal date the reader cannot read is refused, never read as a consent in force', () => {
  const withdrawn = (value: Record<string, unknown>) =>
    changed<Consent>(suvi, 'tyokyky-consent', (c) => {
      c.status = 'inactive';
      c.extension = [...(c.extension ?? []), { url: WITHDRAWAL, ...value }];
    });
  const MESSAGE =
    "tyk-con-1: a withdrawn consent carries its day of withdrawal in the consent-withdrawal-date extension's valueDateTime (a date or dateTime)";

  it.each([
    ['valueDate', { valueDate: '2026-03-01' }],
    ['valueString', { valueString: '2026-03-01' }],
    ['a valueDateTime that is a number', { valueDateTime: 20260301 }],
    ['a valueDateTime that is no date (not quoted)', { valueDateTime: 'Virtanen' }],
    ['no value', {}],
  ])('%s is refused at extension[i].valueDateTime by fromFhir and consentForDisclosure', (_, value) => {
    const { bundle, resource, path } = withdrawn(value);
    const i = resource.extension!.length - 1;
    expect(refusal(() => fromFhir(bundle))).toEqual({
      expression: `${path}.extension[${i}].valueDateTime`,
      diagnostics: `${path}.extension[${i}].valueDateTime: ${MESSAGE}`,
    });
    const alone = refusal(() => consentForDisclosure(resource));
    expect(alone).toEqual({ expression: `Consent.extension[${i}].valueDateTime`, diagnostics: MESSAGE });
    expect(JSON.stringify(alone)).not.toContain('Virtanen');
  });

  it('a valueDateTime is read as before, and the disclosure rule reads the consent as withdrawn', () => {
    const { resource } = withdrawn({ valueDateTime: '2026-03-01' });
    const terms = consentForDisclosure(resource);
    expect(terms.withdrawnOn).toBe('2026-03-01');
    const [party] = terms.parties;
    const [data] = terms.dataClasses;
    expect(isDisclosurePermitted([terms], party!, data!, '2026-04-01').permitted).toBe(false);
  });
});

describe('what the profiles allow that flips the meaning of what the domain holds is refused', () => {
  const cases: [string, string, (r: never) => void, string, string][] = [
    [
      'ServiceRequest.doNotPerform true',
      'tyokyky-referral',
      (r: ServiceRequest) => {
        r.doNotPerform = true;
      },
      'doNotPerform',
      `a referral saying the service is not to be given (doNotPerform) ${UNHELD}`,
    ],
    [
      'CarePlan.activity[0].detail.doNotPerform true',
      'tyokyky-support-plan',
      (r: CarePlan) => {
        r.activity![0]!.detail!.doNotPerform = true;
      },
      'activity[0].detail.doNotPerform',
      `an activity not to be done (doNotPerform) ${UNHELD}`,
    ],
    [
      'Patient.active false',
      'tyokyky-patient',
      (r: Patient) => {
        r.active = false;
      },
      'active',
      `a client record no longer in use (active false) ${UNHELD}`,
    ],
    [
      'Patient.deceasedBoolean true',
      'tyokyky-patient',
      (r: Patient) => {
        r.deceasedBoolean = true;
      },
      'deceasedBoolean',
      `a client who has died (deceased[x]) ${UNHELD}`,
    ],
    [
      'Patient.deceasedDateTime',
      'tyokyky-patient',
      (r: Patient) => {
        r.deceasedDateTime = '2026-01-01';
      },
      'deceasedDateTime',
      `a client who has died (deceased[x]) ${UNHELD}`,
    ],
    [
      'Patient.link replaced-by',
      'tyokyky-patient',
      (r: Patient) => {
        r.link = [{ other: { reference: 'Patient/xyz' }, type: 'replaced-by' }];
      },
      'link[0]',
      `a record of the client that replaces this one or that this one replaces (link: replaced-by, replaces) ${UNHELD}`,
    ],
    [
      'Patient.link replaces, after a seealso',
      'tyokyky-patient',
      (r: Patient) => {
        r.link = [
          { other: { reference: 'Patient/abc' }, type: 'seealso' },
          { other: { reference: 'Patient/xyz' }, type: 'replaces' },
        ];
      },
      'link[1]',
      `a record of the client that replaces this one or that this one replaces (link: replaced-by, replaces) ${UNHELD}`,
    ],
    [
      'Organization.active false',
      'tyokyky-organization',
      (r: Organization) => {
        r.active = false;
      },
      'active',
      `an organisation no longer active (active false) ${UNHELD}`,
    ],
  ];

  it.each(cases)(
    '%s is refused at the element (the profile allows it)',
    (_, profile, change, element, message) => {
      const { bundle, resource, path } = changed(suvi, profile, change as (r: Resource) => void);
      expect(errorsOf(resource)).toEqual([]);
      expect(refusal(() => fromFhir(bundle))).toEqual({
        expression: `${path}.${element}`,
        diagnostics: `${path}.${element}: ${message}`,
      });
    },
  );

  it.each([
    [
      'ServiceRequest.doNotPerform false',
      'tyokyky-referral',
      (r: ServiceRequest) => {
        r.doNotPerform = false;
      },
    ],
    [
      'Patient.active true',
      'tyokyky-patient',
      (r: Patient) => {
        r.active = true;
      },
    ],
    [
      'Patient.deceasedBoolean false',
      'tyokyky-patient',
      (r: Patient) => {
        r.deceasedBoolean = false;
      },
    ],
    [
      'Organization.active true',
      'tyokyky-organization',
      (r: Organization) => {
        r.active = true;
      },
    ],
    [
      'ServiceRequest.priority routine',
      'tyokyky-referral',
      (r: ServiceRequest) => {
        r.priority = 'routine';
      },
    ],
  ] as const)('%s says what the domain holds anyway: read as before', (_, profile, change) => {
    const { bundle } = changed(suvi, profile, change as (r: Resource) => void);
    expect(fromFhir(bundle)).toEqual(suvi);
  });

  it.each(['entered-in-error', 'in-progress', 'stopped'])(
    'a QuestionnaireResponse in status %s (written back completed) is refused at .status',
    (status) => {
      const { bundle, resource, path } = changed<QuestionnaireResponse>(
        suvi,
        'tyokyky-self-assessment-response',
        (q) => {
          q.status = status as 'completed';
        },
      );
      expect(errorsOf(resource)).toEqual([]);
      expect(refusal(() => fromFhir(bundle))).toEqual({
        expression: `${path}.status`,
        diagnostics: `${path}.status: ${status} is not a self-assessment the domain holds; it reads completed, amended`,
      });
    },
  );

  it('an amended QuestionnaireResponse is a finished self-assessment: read', () => {
    const { bundle } = changed<QuestionnaireResponse>(suvi, 'tyokyky-self-assessment-response', (q) => {
      q.status = 'amended';
    });
    expect(fromFhir(bundle)).toEqual(suvi);
  });
});

describe('a modifier extension anywhere is refused at its path', () => {
  const modifier = [{ url: 'https://ehr.example.fi/fhir/StructureDefinition/cancelled', valueBoolean: true }];
  const cases: [string, string, (r: never) => void, string][] = [
    [
      'Patient',
      'tyokyky-patient',
      (r: Patient) => {
        r.modifierExtension = modifier;
      },
      'modifierExtension[0]',
    ],
    [
      'Consent',
      'tyokyky-consent',
      (r: Consent) => {
        r.modifierExtension = modifier;
      },
      'modifierExtension[0]',
    ],
    [
      'Consent.provision.actor[0]',
      'tyokyky-consent',
      (r: Consent) => {
        r.provision!.actor![0]!.modifierExtension = modifier;
      },
      'provision.actor[0].modifierExtension[0]',
    ],
    [
      'CarePlan.activity[0].detail',
      'tyokyky-support-plan',
      (r: CarePlan) => {
        r.activity![0]!.detail!.modifierExtension = modifier;
      },
      'activity[0].detail.modifierExtension[0]',
    ],
    [
      'ServiceRequest',
      'tyokyky-referral',
      (r: ServiceRequest) => {
        r.modifierExtension = modifier;
      },
      'modifierExtension[0]',
    ],
  ];

  it.each(cases)('on %s', (_, profile, change, element) => {
    const { bundle, resource, path } = changed(suvi, profile, change as (r: Resource) => void);
    expect(refusal(() => fromFhir(bundle))).toEqual({
      expression: `${path}.${element}`,
      diagnostics: `${path}.${element}: ${MODIFIER}`,
    });
    if (resource.resourceType === 'Consent')
      expect(refusal(() => consentForDisclosure(resource as Consent))).toEqual({
        expression: `Consent.${element}`,
        diagnostics: MODIFIER,
      });
  });

  it("on a score Observation, read through the assessment's hasMember", () => {
    const bundle = toFhir(suvi);
    const assessment = entryOf<Observation>(bundle, 'tyokyky-work-ability-assessment');
    const score = entryOf<Observation>(bundle, 'tyokyky-work-ability-score');
    score.resource.modifierExtension = modifier;
    const i = assessment.resource.hasMember!.findIndex((m) => m.reference === score.entry.fullUrl);
    const at = `${assessment.path}.hasMember[${i}].modifierExtension[0]`;
    expect(refusal(() => fromFhir(bundle))).toEqual({ expression: at, diagnostics: `${at}: ${MODIFIER}` });
  });

  it("on a Goal, read through the plan's goal", () => {
    const { bundle } = changed<Goal>(suvi, 'tyokyky-goal', (g) => {
      g.modifierExtension = modifier;
    });
    const plan = entryOf<CarePlan>(bundle, 'tyokyky-support-plan').path;
    const at = `${plan}.goal[0].modifierExtension[0]`;
    expect(refusal(() => fromFhir(bundle))).toEqual({ expression: at, diagnostics: `${at}: ${MODIFIER}` });
  });

  it('implicitRules (a modifier element) is refused too', () => {
    const { bundle, path } = changed<Patient>(suvi, 'tyokyky-patient', (p) => {
      p.implicitRules = 'https://ehr.example.fi/rules';
    });
    expect(refusal(() => fromFhir(bundle))).toEqual({
      expression: `${path}.implicitRules`,
      diagnostics: `${path}.implicitRules: rules the reader does not know (implicitRules) may change what the resource means, and FHIR forbids processing a resource that carries them (docs/sdk.md)`,
    });
  });
});

describe('JSON of the wrong type is refused, not misread', () => {
  it('Patient.name[0].given as a string is refused at the element, not read as letters', () => {
    const { bundle, path } = changed<Patient>(suvi, 'tyokyky-patient', (p) => {
      (p.name![0] as { given: unknown }).given = 'Suvi';
    });
    const r = refusal(() => fromFhir(bundle));
    expect(r).toEqual({
      expression: `${path}.name[0].given`,
      diagnostics: `${path}.name[0].given: is not well-formed FHIR JSON: a list of strings`,
    });
    expect(JSON.stringify(r)).not.toContain('Suvi');
  });

  it('a municipality extension without valueCoding.code (valueCode) is refused, not dropped', () => {
    const { bundle, resource, path } = changed<Patient>(suvi, 'tyokyky-patient', (p) => {
      const e = p.extension!.find((x) => x.url.endsWith('/municipality-code'))!;
      e.valueCode = e.valueCoding!.code;
      // biome-ignore lint/performance/noDelete: the test removes the element
      delete e.valueCoding;
    });
    const i = resource.extension!.findIndex((x) => x.url.endsWith('/municipality-code'));
    expect(refusal(() => fromFhir(bundle))).toEqual({
      expression: `${path}.extension[${i}].valueCoding.code`,
      diagnostics: `${path}.extension[${i}].valueCoding.code: is required: the municipality-code extension carries the municipality's code in valueCoding`,
    });
  });

  it.each(['turvakielto', 'OTHER'])(
    'a security label %s of the FI Base security-label CodeSystem is refused, not read as no turvakielto',
    (code) => {
      const system = 'https://hl7.fi/fhir/finnish-base-profiles/CodeSystem/fi-base-security-label-cs';
      const { bundle, path } = changed<Patient>(suvi, 'tyokyky-patient', (p) => {
        p.meta!.security = [{ system, code }];
      });
      expect(refusal(() => fromFhir(bundle))).toEqual({
        expression: `${path}.meta.security[0]`,
        diagnostics: `${path}.meta.security[0]: a label of ${system} the reader cannot map: it reads TURVAKIELTO (turvakielto)`,
      });
    },
  );

  it('TURVAKIELTO itself reads as turvakielto', () => {
    const record = structuredClone(suvi);
    record.client.nonDisclosure = true;
    expect(fromFhir(toFhir(record))).toEqual(record);
  });
});

describe('what the profiles allow and the domain cannot hold is refused, or dropped and listed', () => {
  const refused: [string, string, (r: never) => void, string, string][] = [
    [
      'ServiceRequest.occurrenceDateTime',
      'tyokyky-referral',
      (r: ServiceRequest) => {
        r.occurrenceDateTime = '2026-05-01';
      },
      'occurrenceDateTime',
      'when the service is to be given (occurrence[x])',
    ],
    [
      'ServiceRequest.performer',
      'tyokyky-referral',
      (r: ServiceRequest) => {
        r.performer = [{ display: 'Sosiaalipalvelut' }];
      },
      'performer[0]',
      'whom the referral is addressed to (performer)',
    ],
    [
      'ServiceRequest.priority stat',
      'tyokyky-referral',
      (r: ServiceRequest) => {
        r.priority = 'stat';
      },
      'priority',
      'an urgent referral (priority other than routine)',
    ],
    [
      'ServiceRequest.reasonReference',
      'tyokyky-referral',
      (r: ServiceRequest) => {
        r.reasonReference = [{ display: 'x' }];
      },
      'reasonReference[0]',
      'reasons given as references (reasonReference; the domain reads the triggers in reasonCode)',
    ],
    [
      'CarePlan activity scheduledTiming.event',
      'tyokyky-support-plan',
      (r: CarePlan) => {
        r.activity![0]!.detail!.scheduledTiming!.event = ['2026-04-07'];
      },
      'activity[0].detail.scheduledTiming.event[0]',
      "an activity's dates (Timing.event; the domain's schedule is days a week between bounds)",
    ],
  ];

  it.each(refused)('%s is refused at the element', (_, profile, change, element, what) => {
    const { bundle, path } = changed(suvi, profile, change as (r: Resource) => void);
    expect(refusal(() => fromFhir(bundle))).toEqual({
      expression: `${path}.${element}`,
      diagnostics: `${path}.${element}: ${what} ${UNHELD}`,
    });
  });

  it.each([
    [
      'measure',
      { measure: { text: 'x' }, dueDate: '2026-12-31' },
      'target[0].measure',
      'what a goal target measures (measure)',
    ],
    [
      'detailQuantity',
      { detailQuantity: { value: 3 } },
      'target[0].detailQuantity',
      'the value a goal targets (detail[x]; the domain holds a due date)',
    ],
    [
      'dueDuration',
      { dueDuration: { value: 3, unit: 'mo' } },
      'target[0].dueDuration',
      'a goal due within a duration (dueDuration; the domain holds a due date)',
    ],
  ])('Goal.target with %s is refused at the element', (_, target, element, what) => {
    const { bundle } = changed<Goal>(suvi, 'tyokyky-goal', (g) => {
      g.target = [target];
    });
    const at = `${entryOf(bundle, 'tyokyky-support-plan').path}.goal[0].${element}`;
    expect(refusal(() => fromFhir(bundle))).toEqual({
      expression: at,
      diagnostics: `${at}: ${what} ${UNHELD}`,
    });
  });

  describe("a score's date is its assessment's", () => {
    function scoreDated(value: unknown) {
      const bundle = toFhir(suvi);
      const assessment = entryOf<Observation>(bundle, 'tyokyky-work-ability-assessment');
      const score = entryOf<Observation>(bundle, 'tyokyky-work-ability-score');
      (score.resource as { effectiveDateTime: unknown }).effectiveDateTime = value;
      const i = assessment.resource.hasMember!.findIndex((m) => m.reference === score.entry.fullUrl);
      return { bundle, at: `${assessment.path}.hasMember[${i}].effectiveDateTime` };
    }

    it('a score of another day than its assessment is refused', () => {
      const { bundle, at } = scoreDated('2020-01-01');
      expect(refusal(() => fromFhir(bundle))).toEqual({
        expression: at,
        diagnostics: `${at}: a score of another day than its assessment; an assessment's scores are of its day (effectiveDateTime)`,
      });
    });

    it.each([
      ['a score date that is no date (not quoted)', 'Virtanen'],
      ['a partial dateTime, a valid FHIR dateTime of no day', '2026-02'],
      ['a year alone', '2026'],
    ])('%s is refused: the domain holds a day', (_, value) => {
      const { bundle, at } = scoreDated(value);
      const r = refusal(() => fromFhir(bundle));
      expect(r).toEqual({ expression: at, diagnostics: `${at}: is not a date to the day` });
      expect(JSON.stringify(r)).not.toContain(value);
    });

    it('the same day written as a dateTime in Finland reads as before', () => {
      const { bundle } = scoreDated(`${suvi.assessments![0]!.date}T10:00:00+02:00`);
      expect(fromFhir(bundle)).toEqual(suvi);
    });
  });

  it('an assessment component the domain does not hold is refused at the component', () => {
    const { bundle, resource, path } = changed<Observation>(suvi, 'tyokyky-work-ability-assessment', (o) => {
      o.component!.push({
        code: { coding: [{ system: 'http://example.org', code: 'x' }] },
        valueString: 'y',
      });
    });
    const at = `${path}.component[${resource.component!.length - 1}]`;
    expect(refusal(() => fromFhir(bundle))).toEqual({
      expression: at,
      diagnostics: `${at}: a component the domain's assessment does not hold: it reads phase, client-situation, trigger, rehabilitation-need and assessment-mismatch of ${canonical}/CodeSystem/work-ability-observation`,
    });
  });

  // The elements the reader knowingly drops: the record reads back as it was, without them.
  const dropped: [string, string, (r: never) => void][] = [
    [
      'CarePlan.description',
      'tyokyky-support-plan',
      (r: CarePlan) => {
        r.description = 'kuvaus';
      },
    ],
    [
      'CarePlan.note',
      'tyokyky-support-plan',
      (r: CarePlan) => {
        r.note = [{ text: 'muistiinpano' }];
      },
    ],
    [
      'CarePlan.addresses',
      'tyokyky-support-plan',
      (r: CarePlan) => {
        r.addresses = [{ display: 'x' }];
      },
    ],
    [
      'CarePlan.replaces',
      'tyokyky-support-plan',
      (r: CarePlan) => {
        r.replaces = [{ reference: 'CarePlan/old' }];
      },
    ],
    [
      'CarePlan.activity.progress',
      'tyokyky-support-plan',
      (r: CarePlan) => {
        r.activity![0]!.progress = [{ text: 'edistyi' }];
      },
    ],
    [
      'CarePlan.activity.detail.location',
      'tyokyky-support-plan',
      (r: CarePlan) => {
        r.activity![0]!.detail!.location = { display: 'Työpaja' };
      },
    ],
    [
      'CarePlan.activity.detail.goal',
      'tyokyky-support-plan',
      (r: CarePlan) => {
        r.activity![0]!.detail!.goal = [r.goal![0]!];
      },
    ],
    [
      'CarePlan.activity.detail.scheduledTiming.repeat.dayOfWeek',
      'tyokyky-support-plan',
      (r: CarePlan) => {
        r.activity![0]!.detail!.scheduledTiming!.repeat!.dayOfWeek = ['mon', 'tue'];
      },
    ],
    [
      'Goal.statusReason',
      'tyokyky-goal',
      (r: Goal) => {
        r.statusReason = 'keskeytyi';
      },
    ],
    [
      'Patient.link',
      'tyokyky-patient',
      (r: Patient) => {
        r.link = [
          { other: { display: 'toinen' }, type: 'seealso' },
          { other: { reference: 'Patient/abc' }, type: 'refer' },
        ];
      },
    ],
    [
      'CareTeam.managingOrganization',
      'tyokyky-responsible-worker-team',
      (r: CareTeam) => {
        r.managingOrganization = [{ display: 'x' }];
      },
    ],
    [
      'CareTeam.participant.onBehalfOf',
      'tyokyky-responsible-worker-team',
      (r: CareTeam) => {
        r.participant![0]!.onBehalfOf = { display: 'x' };
      },
    ],
  ];

  it.each(dropped)('%s is dropped: the record reads back without it', (_, profile, change) => {
    const { bundle } = changed(suvi, profile, change as (r: Resource) => void);
    expect(fromFhir(bundle)).toEqual(suvi);
  });

  it('dayOfWeek of an activity other than rehabilitative work activity is dropped too', () => {
    const { bundle } = changed<CarePlan>(sirpa, 'tyokyky-support-plan', (p) => {
      const a = p.activity!.find((x) => x.detail?.code?.coding?.[0]?.code !== 'rehabilitative-work-activity');
      a!.detail!.scheduledTiming!.repeat!.dayOfWeek = ['mon', 'tue', 'wed', 'thu', 'fri'];
    });
    expect(fromFhir(bundle)).toEqual(sirpa);
  });

  it("the reader's table lists what it drops, and docs/sdk.md names each", () => {
    const TYPE = { client: 'Patient', plan: 'CarePlan', team: 'CareTeam', goal: 'Goal' } as Record<
      string,
      string
    >;
    const listed = Object.entries(ELEMENTS).flatMap(([kind, rows]) =>
      rows!.filter((e) => e.held === 'dropped').map((e) => `${TYPE[kind] ?? kind}.${e.path}`),
    );
    expect(listed.sort()).toEqual(dropped.map(([name]) => name).sort());
    const docs = readFileSync(new URL('../../docs/sdk.md', import.meta.url), 'utf8');
    for (const name of listed) expect(docs, name).toContain(`\`${name}\``);
  });
});

describe('consentForDisclosure refuses malformed JSON and a consent lacking a party or data class', () => {
  const consent = () => entryOf<Consent>(toFhir(suvi), 'tyokyky-consent').resource;
  const MALFORMED = {
    expression: 'Consent',
    diagnostics:
      'Consent: Consent is not well-formed FHIR JSON where the mapping reads it; validate it first (the validator names the element)',
  };

  it.each([
    ['null', () => null],
    ['provision.actor {}', () => ({ ...consent(), provision: { ...consent().provision, actor: {} } })],
    ['extension "x"', () => ({ ...consent(), extension: 'x' })],
    ['period.start 5', () => ({ ...consent(), provision: { ...consent().provision, period: { start: 5 } } })],
  ])('%s is a 422 naming the Consent, never a TypeError', (_, make) => {
    expect(refusal(() => consentForDisclosure(make() as unknown as Consent))).toEqual(MALFORMED);
  });

  it('a consent naming no receiving party is refused at provision.actor', () => {
    const c = consent();
    c.provision!.actor = [];
    expect(refusal(() => consentForDisclosure(c))).toEqual({
      expression: 'Consent.provision.actor',
      diagnostics: 'is required: a consent names at least one receiving party',
    });
  });

  it('a consent naming no data class is refused at provision.code', () => {
    const c = consent();
    // biome-ignore lint/performance/noDelete: the test removes the element
    delete c.provision!.code;
    expect(refusal(() => consentForDisclosure(c))).toEqual({
      expression: 'Consent.provision.code',
      diagnostics: 'is required: a consent names at least one data class',
    });
  });
});

describe('a referral whose supportingInfo names no Consent says so', () => {
  it('a urn:uuid reference to the Consent without type is refused naming tyk-ref-1', () => {
    const { bundle, path } = changed<ServiceRequest>(suvi, 'tyokyky-referral', (s) => {
      s.supportingInfo = s.supportingInfo!.map((x) => ({ reference: x.reference }));
    });
    expect(refusal(() => fromFhir(bundle))).toEqual({
      expression: `${path}.supportingInfo`,
      diagnostics: `${path}.supportingInfo: tyk-ref-1: no supportingInfo references a Consent (type 'Consent', or a Consent/<id> reference); a urn:uuid reference names its type`,
    });
  });
});

describe('read back for a view (`unheld`): what is refused as input is read without it and reported', () => {
  /** `fromFhir` of `bundle` in read-back mode: the object read and what it was read without. */
  function readBack(bundle: Bundle) {
    const found: { expression: string; diagnostics: string }[] = [];
    const record = fromFhir(bundle, { validate: false, unheld: (u) => found.push(u) });
    return { record, found };
  }
  const LEFT_OUT =
    'has no domain field: read back without it, the object does not say all the resource says (docs/sdk.md)';

  it("a Goal target's measure: the plan is read with its goal, the measure reported at its path", () => {
    const { bundle } = changed<Goal>(suvi, 'tyokyky-goal', (g) => {
      g.target = [{ measure: { text: 'päivärytmi' }, dueDate: suvi.plans![0]!.goals[0]!.dueDate }];
    });
    const at = `${entryOf(bundle, 'tyokyky-support-plan').path}.goal[0].target[0].measure`;
    const { record, found } = readBack(bundle);
    expect(record).toEqual(suvi);
    expect(found).toEqual([
      { expression: at, diagnostics: `${at}: what a goal target measures (measure) ${LEFT_OUT}` },
    ]);
    expect(JSON.stringify(found)).not.toContain('päivärytmi');
  });

  it('every refused element is reported, each at its path; a dropped one is not', () => {
    const { bundle, path } = changed<ServiceRequest>(suvi, 'tyokyky-referral', (s) => {
      s.performer = [{ display: 'Sosiaalipalvelut' }, { display: 'Kela' }];
      s.occurrenceDateTime = '2026-05-01';
    });
    const { found } = readBack(bundle);
    expect(found).toEqual(
      [
        ['occurrenceDateTime', 'when the service is to be given (occurrence[x])'],
        ['performer[0]', 'whom the referral is addressed to (performer)'],
        ['performer[1]', 'whom the referral is addressed to (performer)'],
      ].map(([element, what]) => ({
        expression: `${path}.${element}`,
        diagnostics: `${path}.${element}: ${what} ${LEFT_OUT}`,
      })),
    );
    const plan = changed<CarePlan>(suvi, 'tyokyky-support-plan', (c) => {
      c.note = [{ text: 'muistiinpano' }];
    });
    expect(readBack(plan.bundle).found).toEqual([]);
  });

  it('a modifier extension and implicitRules are reported, not refused (the view says so)', () => {
    const { bundle, path } = changed<Consent>(suvi, 'tyokyky-consent', (c) => {
      c.implicitRules = 'https://ehr.example.fi/rules';
      c.provision!.actor![0]!.modifierExtension = [
        { url: 'https://ehr.example.fi/fhir/StructureDefinition/cancelled', valueBoolean: true },
      ];
    });
    const { record, found } = readBack(bundle);
    expect(record).toEqual(suvi);
    expect(found).toEqual([
      {
        expression: `${path}.implicitRules`,
        diagnostics: `${path}.implicitRules: rules the reader does not know (implicitRules): read back without them, the object may not say what the resource means (docs/sdk.md)`,
      },
      {
        expression: `${path}.provision.actor[0].modifierExtension[0]`,
        diagnostics: `${path}.provision.actor[0].modifierExtension[0]: a modifier extension the reader does not understand: read back without it, the object may not say what the resource means (docs/sdk.md)`,
      },
    ]);
  });

  it('without `unheld` the same resources are refused as before; any other refusal stands in read-back mode', () => {
    const { bundle, path } = changed<Patient>(suvi, 'tyokyky-patient', (p) => {
      p.link = [{ other: { reference: 'Patient/xyz' }, type: 'replaced-by' }];
    });
    expect(refusal(() => fromFhir(bundle)).expression).toBe(`${path}.link[0]`);
    expect(readBack(bundle).found.map((f) => f.expression)).toEqual([`${path}.link[0]`]);
    const withdrawn = changed<Consent>(suvi, 'tyokyky-consent', (c) => {
      c.status = 'inactive';
      c.extension = [...(c.extension ?? []), { url: WITHDRAWAL, valueDate: '2026-03-01' }];
    });
    expect(refusal(() => readBack(withdrawn.bundle)).expression).toMatch(/\.valueDateTime$/);
  });
});
