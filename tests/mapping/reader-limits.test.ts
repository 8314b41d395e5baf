// What fromFhir and consentForDisclosure read and refuse at the edges of what the domain holds: the
// client a score or goal belongs to, what the profiles allow but the domain cannot hold, states the
// domain cannot write back, and refusals that quote no client data.
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
import type { WorkAbilityRecord } from '../../src/domain/index.ts';
import { canonical, consentForDisclosure, fromFhir, toFhir } from '../../src/mapping/index.ts';
import { isUrnUuid } from '../../src/shared/references.ts';
import { projectErrors } from './project-errors.ts';
import { entryOf, refusal } from './reader-helpers.ts';

const errorsOf = projectErrors();

const OTHER_CLIENT = {
  reference: 'Patient/someone-else',
  type: 'Patient' as const,
  identifier: { system: `${canonical}/sid/local/client`, value: 'someone-else' },
};

describe('consentForDisclosure refuses what fromFhir refuses', () => {
  it('a consent withdrawn on a day still to come is not in force for disclosure either (consent-withdrawn)', () => {
    const consent = entryOf<Consent>(toFhir(suvi), 'tyokyky-consent').resource;
    consent.status = 'inactive';
    consent.extension = [
      ...(consent.extension ?? []),
      { url: `${canonical}/StructureDefinition/consent-withdrawal-date`, valueDateTime: '2099-01-01' },
    ];
    expect(errorsOf(consent)).toEqual([]);
    expect(refusal(() => consentForDisclosure(consent))).toEqual({
      expression: `Consent.extension('${canonical}/StructureDefinition/consent-withdrawal-date')`,
      diagnostics:
        'consent-withdrawn: 2099-01-01 is in the future; a consent is withdrawn on or before today',
    });
  });
});

describe('a score or goal belongs to the client of what holds it', () => {
  it("a score Observation of another Patient is refused at hasMember[i].subject, not read as this client's", () => {
    const bundle = toFhir(suvi);
    const assessment = entryOf<Observation>(bundle, 'tyokyky-work-ability-assessment');
    const score = entryOf<Observation>(bundle, 'tyokyky-work-ability-score', 1);
    score.resource.subject = OTHER_CLIENT;
    const i = assessment.resource.hasMember!.findIndex((m) => m.reference === score.entry.fullUrl);
    expect(refusal(() => fromFhir(bundle))).toEqual({
      expression: `${assessment.path}.hasMember[${i}].subject`,
      diagnostics: `${assessment.path}.hasMember[${i}].subject: a score of another client than the assessment's subject`,
    });
  });

  it('a second score with the same method is refused at hasMember[i].method, not put over the first', () => {
    const bundle = toFhir(suvi);
    const assessment = entryOf<Observation>(bundle, 'tyokyky-work-ability-assessment');
    const [first, second] = [0, 1].map(
      (n) => entryOf<Observation>(bundle, 'tyokyky-work-ability-score', n).resource,
    );
    second!.method = structuredClone(first!.method);
    second!.performer = [structuredClone(second!.subject!) as never];
    expect(errorsOf(bundle)).toEqual([]);
    const method = first!.method!.coding![0]!.code;
    expect(refusal(() => fromFhir(bundle))).toEqual({
      expression: `${assessment.path}.hasMember[1].method`,
      diagnostics: `${assessment.path}.hasMember[1].method: a second ${method} score; an assessment holds one score per method`,
    });
  });

  it("a Goal of another Patient is refused at goal[i].subject, not read as the plan's", () => {
    const bundle = toFhir(suvi);
    const plan = entryOf<CarePlan>(bundle, 'tyokyky-support-plan');
    entryOf<Goal>(bundle, 'tyokyky-goal', 1).resource.subject = OTHER_CLIENT;
    expect(refusal(() => fromFhir(bundle))).toEqual({
      expression: `${plan.path}.goal[1].subject`,
      diagnostics: `${plan.path}.goal[1].subject: a goal of another client than the plan's subject`,
    });
  });
});

describe('what the profiles allow and the domain cannot hold', () => {
  it("a plan's supportingInfo may name its Consent (the profile allows it): the assessment is read, the Consent is not refused", () => {
    const bundle = toFhir(sirpa);
    const plan = entryOf<CarePlan>(bundle, 'tyokyky-support-plan').resource;
    const consent = entryOf<Consent>(bundle, 'tyokyky-consent', 1).entry;
    plan.supportingInfo = [{ reference: consent.fullUrl!, type: 'Consent' }, ...plan.supportingInfo!];
    expect(errorsOf(bundle)).toEqual([]);
    expect(fromFhir(bundle)).toEqual(sirpa);
  });

  it('a plan resting on two assessments is refused at the second (the domain holds one assessmentId)', () => {
    const bundle = toFhir(sirpa);
    const { resource: plan, path } = entryOf<CarePlan>(bundle, 'tyokyky-support-plan');
    plan.supportingInfo = [...plan.supportingInfo!, { reference: 'Observation/other', type: 'Observation' }];
    expect(refusal(() => fromFhir(bundle))).toEqual({
      expression: `${path}.supportingInfo[1]`,
      diagnostics: `${path}.supportingInfo[1]: a second assessment; a support plan rests on one (assessmentId)`,
    });
  });

  it.each([
    ['an Organization', 'tyokyky-organization'],
    ['a Patient', 'tyokyky-patient'],
  ])(
    'a CareTeam member that is %s (the profile allows it) is refused precisely: a team member is a professional',
    (type, profile) => {
      const bundle = toFhir(suvi);
      const { resource: team, path } = entryOf<CareTeam>(bundle, 'tyokyky-responsible-worker-team');
      const member = entryOf(bundle, profile).entry.fullUrl!;
      const role = { system: `${canonical}/CodeSystem/care-team-role`, code: 'kela-worker' };
      team.participant!.push({
        role: [{ coding: [role] }],
        member: { reference: member, type: type.split(' ')[1] as 'Organization' },
        period: { start: '2026-02-17' },
      });
      expect(errorsOf(bundle)).toEqual([]);
      const at = `${path}.participant[${team.participant!.length - 1}].member`;
      expect(refusal(() => fromFhir(bundle))).toEqual({
        expression: at,
        diagnostics: `${at}: a team member that is ${type} has no place in the domain, whose team members are professionals (PractitionerRole); see docs/sdk.md`,
      });
    },
  );
});

describe('what the profiles refuse, the reader refuses at the same element', () => {
  it.each([
    ['tyokyky-support-plan', 'proposal', 'plan'],
    ['tyokyky-support-plan', 'order', 'plan'],
    ['tyokyky-referral', 'proposal', 'order'],
    ['tyokyky-referral', 'plan', 'order'],
  ])('%s intent %s is refused at .intent', (profile, intent, ours) => {
    const bundle = toFhir(suvi);
    const { resource, path } = entryOf<CarePlan | ServiceRequest>(bundle, profile);
    resource.intent = intent as 'plan';
    expect(refusal(() => fromFhir(bundle))).toEqual({
      expression: `${path}.intent`,
      diagnostics: `${path}.intent: ${intent} is not the intent the profile fixes (${ours})`,
    });
  });

  it.each([
    [2, ['implementation-plan', 'activation-plan']],
    [0, []],
  ])('a plan with %i plan-category codings is refused at .category (tyk-cpl-1)', (_, codes) => {
    const bundle = toFhir(sirpa);
    const { resource: plan, path } = entryOf<CarePlan>(bundle, 'tyokyky-support-plan');
    plan.category = [
      plan.category![0]!,
      ...codes.map((code) => ({ coding: [{ system: `${canonical}/CodeSystem/plan-category`, code }] })),
    ];
    expect(refusal(() => fromFhir(bundle))).toEqual({
      expression: `${path}.category`,
      diagnostics: `${path}.category: tyk-cpl-1: a support plan carries exactly one plan-category coding, found ${codes.length}`,
    });
  });
});

describe('a repeat the profile refuses is refused at the repeat, not read as the first', () => {
  /** suvi's record with a mismatch and a withdrawn consent, so that every element below is written. */
  const full = (): WorkAbilityRecord => {
    const r = structuredClone(suvi);
    r.assessments![0]!.mismatch = true;
    r.consents![0]!.withdrawnOn = '2026-03-01';
    return r;
  };
  const cases: [string, string, (r: Resource) => string][] = [
    ...(['phase', 'client-situation', 'rehabilitation-need', 'assessment-mismatch'] as const).map(
      (code): [string, string, (r: Resource) => string] => [
        `a second ${code} component`,
        'tyokyky-work-ability-assessment',
        (r) => {
          const o = r as Observation;
          o.component!.push(structuredClone(o.component!.find((c) => c.code.coding![0]!.code === code)!));
          return `component[${o.component!.length - 1}]: a second ${code} component; the profile allows one`;
        },
      ],
    ),
    [
      'a second answer to a self-assessment item',
      'tyokyky-self-assessment-response',
      (r) => {
        (r as QuestionnaireResponse).item![0]!.answer!.push({ valueInteger: 3 });
        return 'item[0].answer[1]: a second answer to the overall item; the profile allows one';
      },
    ],
    [
      'a second item with a linkId already answered',
      'tyokyky-self-assessment-response',
      (r) => {
        const q = r as QuestionnaireResponse;
        q.item!.push(structuredClone(q.item![0]!));
        return `item[${q.item!.length - 1}]: a second overall item; the profile allows one`;
      },
    ],
    [
      'a second follow-up date',
      'tyokyky-support-plan',
      (r) => {
        const c = r as CarePlan;
        c.extension!.push(structuredClone(c.extension!.find((e) => e.url.endsWith('/follow-up-date'))!));
        return `extension[${c.extension!.length - 1}]: a second follow-up-date extension; the profile allows one`;
      },
    ],
    [
      'a second withdrawal date',
      'tyokyky-consent',
      (r) => {
        const c = r as Consent;
        c.extension!.push(
          structuredClone(c.extension!.find((e) => e.url.endsWith('/consent-withdrawal-date'))!),
        );
        return `extension[${c.extension!.length - 1}]: a second consent-withdrawal-date extension; the profile allows one`;
      },
    ],
    [
      'a second receiving party on one actor',
      'tyokyky-consent',
      (r) => {
        const a = (r as Consent).provision!.actor![0]!;
        a.extension!.push(structuredClone(a.extension![0]!));
        return 'provision.actor[0].extension[1]: a second consent-receiving-party extension; the profile allows one';
      },
    ],
    [
      'a second municipality',
      'tyokyky-patient',
      (r) => {
        const p = r as Patient;
        p.extension!.push(structuredClone(p.extension!.find((e) => e.url.endsWith('/municipality-code'))!));
        return `extension[${p.extension!.length - 1}]: a second municipality-code extension; the profile allows one`;
      },
    ],
    [
      'a second role of one team member',
      'tyokyky-responsible-worker-team',
      (r) => {
        (r as CareTeam).participant![0]!.role!.push({
          coding: [{ system: `${canonical}/CodeSystem/care-team-role`, code: 'doctor' }],
        });
        return 'participant[0].role[1]: a second role; the profile allows one';
      },
    ],
  ];

  it.each(cases)('%s', (_, profile, change) => {
    const bundle = toFhir(full());
    const { resource, path } = entryOf<Resource>(bundle, profile);
    const message = change(resource);
    const [element] = message.split(': ', 1);
    // The profile refuses it too (the validator names the slice or the element).
    expect(errorsOf(resource).join('\n')).toMatch(/max allowed = 1, but found 2|Only one response/);
    expect(refusal(() => fromFhir(bundle))).toEqual({
      expression: `${path}.${element}`,
      diagnostics: `${path}.${message}`,
    });
  });
});

describe('states the domain cannot write back are refused, not reopened', () => {
  /** sirpa's Bundle, its first Goal changed by `change`, and the plan's path. */
  function sirpaGoal(change: (g: Goal) => void) {
    const bundle = toFhir(sirpa);
    change(entryOf<Goal>(bundle, 'tyokyky-goal').resource);
    return { bundle, plan: entryOf<CarePlan>(bundle, 'tyokyky-support-plan').path };
  }
  const achievement = (code: string) => ({
    coding: [{ system: 'http://terminology.hl7.org/CodeSystem/goal-achievement', code }],
  });

  it.each([
    ['completed', 'not-achieved'],
    ['completed', undefined],
    ['active', 'achieved'],
    ['active', 'not-achieved'],
  ])('a Goal %s with achievement %s is refused at achievementStatus', (lifecycle, code) => {
    const { bundle, plan } = sirpaGoal((g) => {
      g.lifecycleStatus = lifecycle as 'active';
      if (code) g.achievementStatus = achievement(code);
      // biome-ignore lint/performance/noDelete: the test removes the element
      else delete g.achievementStatus;
    });
    const at = `${plan}.goal[0].achievementStatus`;
    expect(refusal(() => fromFhir(bundle))).toEqual({
      expression: at,
      diagnostics: `${at}: tyk-gol-1: ${code ?? 'none'} in ${lifecycle === 'active' ? 'an' : 'a'} ${lifecycle} goal is not a goal state the domain holds; it reads active (no achievement or in-progress) and completed (achieved)`,
    });
  });

  it.each(['proposed', 'planned', 'accepted', 'on-hold'])(
    'a Goal in lifecycleStatus %s (written back active) is refused',
    (status) => {
      const { bundle, plan } = sirpaGoal((g) => {
        g.lifecycleStatus = status as 'active';
      });
      const at = `${plan}.goal[0].lifecycleStatus`;
      expect(refusal(() => fromFhir(bundle))).toEqual({
        expression: at,
        diagnostics: `${at}: tyk-gol-1: ${status} is not a goal the domain holds; it reads active, completed`,
      });
    },
  );

  it.each(['completed', 'on-hold'])('a referral in status %s (written back active) is refused', (status) => {
    const bundle = toFhir(suvi);
    const { resource, path } = entryOf<ServiceRequest>(bundle, 'tyokyky-referral');
    resource.status = status as 'active';
    expect(refusal(() => fromFhir(bundle))).toEqual({
      expression: `${path}.status`,
      diagnostics: `${path}.status: ${status} is not a referral the domain holds; it reads active`,
    });
    // The profile allows it: an EHR completes a served referral and revokes a withdrawn one (R4's
    // request statuses); only the SDK, which would write it back active, refuses it.
    expect(errorsOf(resource)).toEqual([]);
  });

  it('the goal states the SDK writes read back as they were', () => {
    expect(fromFhir(toFhir(sirpa))).toEqual(sirpa);
    expect(fromFhir(toFhir(suvi))).toEqual(suvi);
  });
});

describe('refusals quote no client data', () => {
  const consent = () => entryOf<Consent>(toFhir(suvi), 'tyokyky-consent').resource;

  it('a reference known only by its display is refused without quoting the display', () => {
    const c = consent();
    c.patient = { display: 'Suvi Virtanen, Mannerheimintie 1 A 2' };
    const r = refusal(() => fromFhir(c));
    expect(r).toEqual({
      expression: 'Consent.patient',
      diagnostics: 'Consent.patient: cannot tell which Patient it is',
    });
    expect(JSON.stringify(r)).not.toContain('Mannerheimintie');
  });

  it('a conditional reference (it may hold a HETU) is not quoted; a literal Type/id or urn:uuid one is', () => {
    const c = consent();
    c.patient = { reference: 'Patient?identifier=urn:oid:1.2.246.21|010181-900C' };
    expect(refusal(() => fromFhir(c)).diagnostics).toBe('Consent.patient: cannot tell which Patient it is');
    c.patient = { reference: 'Patient/p-17' };
    expect(refusal(() => fromFhir(c)).diagnostics).toBe(
      "Consent.patient: cannot tell which Patient 'Patient/p-17' is",
    );
    const uuid = 'urn:uuid:0b9c3c1e-3f1d-5a6e-8d2b-1c2d3e4f5a6b';
    c.patient = { reference: uuid };
    expect(refusal(() => fromFhir(c)).diagnostics).toBe(
      `Consent.patient: cannot tell which Patient '${uuid}' is`,
    );
  });
});

describe('refusals quote a type only when it is one the reader knows, and never a HETU', () => {
  const NAME = 'Suvi Virtanen 010181-900C';
  const referral = () => entryOf<ServiceRequest>(toFhir(suvi), 'tyokyky-referral').resource;
  const quotesNothing = (r: { expression: string; diagnostics: string }) => {
    expect(JSON.stringify(r)).not.toContain('Suvi');
    expect(JSON.stringify(r)).not.toContain('010181-900C');
  };

  it('a resourceType that is none of our types is not quoted, at the top or in a Bundle', () => {
    const top = refusal(() => fromFhir({ resourceType: NAME } as unknown as Resource));
    quotesNothing(top);
    expect(top).toEqual({
      expression: 'resourceType',
      diagnostics: `resourceType: not a tyokyky resource: the resource type is none of those our profiles are on (CarePlan, CareTeam, Consent, Goal, Observation, Organization, Patient, PractitionerRole, QuestionnaireResponse, ServiceRequest)`,
    });
    const inBundle = refusal(() =>
      fromFhir({
        resourceType: 'Bundle',
        type: 'collection',
        entry: [{ resource: { resourceType: NAME } }],
      } as unknown as Bundle),
    );
    quotesNothing(inBundle);
    expect(inBundle.expression).toBe('Bundle.entry[0].resource.resourceType');
    // One of ours is still named.
    expect(refusal(() => fromFhir({ resourceType: 'Patient' })).diagnostics).toContain(
      'Patient is not a tyokyky resource',
    );
  });

  it('a Reference.type, a literal reference or a resolved target of no type we know is not quoted', () => {
    const r1 = referral();
    r1.subject = { type: NAME as 'Patient', reference: 'Patient?identifier=urn:oid:1.2.246.21|010181-900C' };
    const typed = refusal(() => fromFhir(r1));
    quotesNothing(typed);
    expect(typed).toEqual({
      expression: 'ServiceRequest.subject',
      diagnostics:
        'ServiceRequest.subject: refers to a resource type none of our profiles is on, expected a Patient',
    });
    const r2 = referral();
    r2.subject = { reference: 'Virtanen/x' };
    expect(refusal(() => fromFhir(r2)).diagnostics).toBe(
      'ServiceRequest.subject: refers to a resource type none of our profiles is on, expected a Patient',
    );
    const r3 = referral();
    r3.subject = { reference: 'urn:uuid:0b9c3c1e-3f1d-5a6e-8d2b-1c2d3e4f5a6b' };
    const resolved = refusal(() =>
      fromFhir(r3, { resolve: () => ({ resourceType: NAME }) as unknown as Resource }),
    );
    quotesNothing(resolved);
    // A type we know is named as before.
    const r4 = referral();
    r4.subject = { type: 'Organization', reference: 'Organization/o1' };
    expect(refusal(() => fromFhir(r4)).diagnostics).toBe(
      'ServiceRequest.subject: refers to an Organization, expected a Patient',
    );
  });

  it('a literal reference whose id is a HETU is quoted with the HETU masked', () => {
    const r = referral();
    r.subject = { reference: 'Patient/010181-900C' };
    const refused = refusal(() => fromFhir(r));
    quotesNothing(refused);
    expect(refused.diagnostics).toBe("ServiceRequest.subject: cannot tell which Patient 'Patient/[HETU]' is");
  });

  it("a consent's status that is no code is not quoted", () => {
    const c = entryOf<Consent>(toFhir(suvi), 'tyokyky-consent').resource;
    (c as { status: string }).status = NAME;
    const refused = refusal(() => fromFhir(c));
    quotesNothing(refused);
    expect(refused.diagnostics).toBe(
      "Consent.status: a consent in status 'the value given' is neither in force nor withdrawn",
    );
  });
});

describe('one urn:uuid format (isUrnUuid, R4: lower-case hexadecimal) in the reader and the validator', () => {
  const lower = 'urn:uuid:0b9c3c1e-3f1d-5a6e-8d2b-1c2d3e4f5a6b';
  // [value, a urn:uuid by R4's rule]
  const cases: Array<[string, boolean]> = [
    [lower, true],
    [`urn:uuid:${lower.slice(9).toUpperCase()}`, false],
    [lower.toUpperCase(), false],
    ['urn:uuid:0B9C3C1E-3f1d-5a6e-8d2b-1c2d3e4f5a6b', false],
    ['URN:UUID:0b9c3c1e-3f1d-5a6e-8d2b-1c2d3e4f5a6b', false],
    ['urn:uuid:0b9c3c1e3f1d5a6e8d2b1c2d3e4f5a6b', false],
    ['urn:uuid:0b9c3c1e-3f1d-5a6e-8d2b-1c2d3e4f5a6', false],
    ['urn:uuid:0b9c3c1e-3f1d-5a6e-8d2b-1c2d3e4f5a6b7', false],
    ['urn:uuid:0g9c3c1e-3f1d-5a6e-8d2b-1c2d3e4f5a6b', false],
    ['0b9c3c1e-3f1d-5a6e-8d2b-1c2d3e4f5a6b', false],
  ];

  it.each(cases)('%s → %s: the reader quotes it exactly when the validator accepts it', (value, valid) => {
    expect(isUrnUuid(value)).toBe(valid);
    const c = entryOf<Consent>(toFhir(suvi), 'tyokyky-consent').resource;
    c.patient = { reference: value };
    expect(refusal(() => fromFhir(c)).diagnostics).toBe(
      `Consent.patient: cannot tell which Patient ${valid ? `'${value}'` : 'it'} is`,
    );
    // The validator's check of a uri (Consent.policy.uri): a urn:uuid: value that is not one is an error.
    const policy = { ...c, policy: [{ uri: value }] };
    const invalid = `Consent.policy[0].uri: Consent.policy.uri: '${value}' is not a valid urn:uuid (a UUID in lowercase hexadecimal) (from ${canonical}/StructureDefinition/tyokyky-consent)`;
    expect(errorsOf(policy).includes(invalid)).toBe(value.startsWith('urn:uuid:') && !valid);
  });
});

describe('an organisation identifier is kept', () => {
  it.each([
    [undefined, `${canonical}/sid/local/organization`],
    ['https://ehr.example.fi/sid/local', 'https://ehr.example.fi/sid/local/organization'],
  ])('under the local-id system itself (base %s)', (localIdSystemBase, system) => {
    const record: WorkAbilityRecord = structuredClone(suvi);
    record.organizations![0]!.identifier = { system, value: 'abc' };
    const opts = { localIdSystemBase };
    expect(fromFhir(toFhir(record, opts), opts)).toEqual(record);
  });
});

describe("an organisation's own identifier is not taken for another sender's local id", () => {
  it.each([undefined, 'https://ehr-b.example.fi/sid/local'])(
    'written with another local-id system, read with %s: the urn:oid identifier is the one kept',
    (readerBase) => {
      const record: WorkAbilityRecord = structuredClone(suvi);
      const own = { system: 'urn:oid:1.2.246.10.1234', value: '1.2.246.10.1234' };
      record.organizations![0]!.identifier = own;
      const fromA = toFhir(record, { localIdSystemBase: 'https://ehr-a.example.fi/sid/local' });
      const read = fromFhir(fromA, { localIdSystemBase: readerBase });
      expect(read.organizations![0]!.identifier).toEqual(own);
      const back = toFhir(read, { localIdSystemBase: readerBase });
      const org = back.entry!.find(
        (e) => e.fullUrl === fromA.entry!.find((x) => x.resource!.resourceType === 'Organization')!.fullUrl,
      );
      expect((org!.resource as Organization).identifier).toContainEqual(own);
      expect(JSON.stringify(org!.resource)).not.toContain('ehr-a.example.fi');
    },
  );
});
