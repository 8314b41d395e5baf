/** Domain objects → FHIR resources of our profiles, and a record → a transaction Bundle. */
import type {
  CarePlan,
  CarePlanActivity,
  CareTeam,
  Consent,
  Extension,
  Goal,
  Observation,
  ObservationComponent,
  Organization,
  Patient,
  PractitionerRole,
  QuestionnaireResponse,
  Reference,
  Resource,
  ServiceRequest,
  Timing,
} from '@medplum/fhirtypes';
import {
  type Activity,
  type Assessment,
  type Client,
  type Consent as DomainConsent,
  type DomainKind,
  type Organization as DomainOrganization,
  type DomainTypes,
  type Professional,
  type Referral,
  type ResponsibleWorkerTeam,
  type SelfAssessment,
  type SupportPlan,
  type WorkAbilityRecord,
  checkDomainKind,
  interpretWorkAbilityScore,
  parseHetu,
  validateDomain,
  validateRecord,
} from '../domain/index.ts';
import { transactionBundle } from './bundle.ts';
import { CREATING_APPLICATION_TYPES, type FhirKind, MAP, profileUrl } from './config.ts';
import type { RecordBundle } from './from-fhir.ts';
import { type IdentityOptions, carriedId, goalKey, identifiers, reference, scoreKey } from './identity.ts';
import { type Row, label, narrative, yesNo } from './narrative.ts';
import { DEFAULT_APPLICATION, type MappingOptions, checkMappingOptions } from './options.ts';
import { type Language, coding, concept, displayOf } from './terminology.ts';

interface Ctx {
  opts: IdentityOptions;
  lang: Language;
  creatingApplication: Extension;
  /**
   * Organisations by the consent party they act as, the first of each party: the record's, or for an
   * object mapped alone those `related` gives (none without them: the actor shows the party's name).
   */
  partyOrganizations: Map<string, string> | undefined;
  /** Professionals' names by id, for narratives the client reads: the record's, or `related`'s. */
  professionalNames: Map<string, string> | undefined;
}

function context(opts: MappingOptions = {}, record?: WorkAbilityRecord): Ctx {
  checkMappingOptions(opts);
  const app = opts.application ?? DEFAULT_APPLICATION;
  const extension: Extension[] = [
    { url: 'name', valueString: app.name },
    { url: 'applicationId', valueString: app.applicationId },
  ];
  // A record names its own; an object alone, what its caller relates it to (as a record would hold them).
  const organizations = record ? record.organizations : opts.related?.organizations;
  const professionals = record ? record.professionals : opts.related?.professionals;
  let partyOrganizations: Map<string, string> | undefined;
  if (organizations) {
    partyOrganizations = new Map();
    for (const o of organizations)
      if (o.party && !partyOrganizations.has(o.party)) partyOrganizations.set(o.party, o.id);
  }
  return {
    opts: { localIdSystemBase: opts.localIdSystemBase, uuidMemo: new Map() },
    lang: opts.language ?? 'fi',
    creatingApplication: { url: MAP.extensions.creatingApplication, extension },
    partyOrganizations,
    professionalNames:
      professionals &&
      new Map(professionals.flatMap((p) => (p.name === undefined ? [] : [[p.id, p.name] as const]))),
  };
}

/** The Kanta common elements: profile, language, narrative, identifiers, creating application (where Kanta allows it). */
function common(
  kind: FhirKind,
  id: string,
  ctx: Ctx,
  titleKey: string,
  rows: Row[],
  extra: Extension[] = [],
) {
  const app = CREATING_APPLICATION_TYPES.has(MAP.kinds[kind].resourceType) ? [ctx.creatingApplication] : [];
  const extension = [...app, ...extra];
  return {
    meta: { profile: [profileUrl(kind)] },
    language: ctx.lang,
    text: narrative(titleKey, rows, ctx.lang),
    ...(extension.length ? { extension } : {}),
    identifier: identifiers(kind, id, ctx.opts),
  };
}

function ref(kind: FhirKind, id: string, ctx: Ctx): Reference<any> {
  return reference(kind, id, ctx.opts);
}

function show(csId: string, code: string, ctx: Ctx): string {
  return displayOf(csId, code, ctx.lang);
}

const CS = MAP.codedFields;

function patient(c: Client, ctx: Ctx): Patient {
  const name = [...c.name.given, c.name.family].join(' ');
  const p: Patient = {
    resourceType: 'Patient',
    ...common('client', c.id, ctx, 'client', [
      ['name', name],
      ['hetu', c.hetu],
      ['temporaryId', c.temporaryId?.value],
      ['birthDate', c.birthDate],
      ['municipality', c.municipality],
      ['nonDisclosure', c.nonDisclosure ? yesNo(true, ctx.lang) : undefined],
    ]),
  };
  if (c.nonDisclosure) p.meta!.security = [{ ...MAP.nonDisclosure }];
  if (c.municipality !== undefined) {
    p.extension = [
      ...(p.extension ?? []),
      {
        url: MAP.extensions.municipality,
        valueCoding: { system: MAP.municipalitySystem, code: c.municipality },
      },
    ];
  }
  if (c.hetu !== undefined) {
    const h = MAP.identifiers.hetu;
    p.identifier!.push({ use: h.use, type: { coding: [{ ...h.type }] }, system: h.system, value: c.hetu });
  }
  if (c.temporaryId !== undefined)
    p.identifier!.push({ use: MAP.identifiers.temporaryUse, ...c.temporaryId });
  p.name = [{ family: c.name.family, ...(c.name.given.length ? { given: [...c.name.given] } : {}) }];
  if (c.gender !== undefined) p.gender = c.gender;
  const parsed = c.hetu === undefined ? undefined : parseHetu(c.hetu);
  const birthDate = c.birthDate ?? (parsed?.valid ? parsed.value.birthDate : undefined);
  if (birthDate !== undefined) p.birthDate = birthDate;
  return p;
}

function organization(o: DomainOrganization, ctx: Ctx): Organization {
  const r: Organization = {
    resourceType: 'Organization',
    ...common('organization', o.id, ctx, 'organization', [
      ['name', o.name],
      ['party', o.party && show(CS.consentParty!, o.party, ctx)],
    ]),
  };
  if (o.identifier) r.identifier!.push({ ...o.identifier });
  if (o.party) r.type = [concept(CS.consentParty!, o.party)];
  r.name = o.name;
  return r;
}

function practitionerRole(p: Professional, ctx: Ctx): PractitionerRole {
  const r: PractitionerRole = {
    resourceType: 'PractitionerRole',
    ...common('professional', p.id, ctx, 'professional', [
      ['name', p.name],
      ['role', show(CS.careTeamRole!, p.role, ctx)],
    ]),
  };
  r.practitioner = { display: p.name, ...(p.identifier ? { identifier: { ...p.identifier } } : {}) };
  r.organization = ref('organization', p.organizationId, ctx);
  r.code = [concept(CS.careTeamRole!, p.role)];
  return r;
}

/** The key of an assessment's score: the business identifier it came with (`scoreIds`), else its method's. */
function scoreKeyOf(a: Assessment, field: 'selfScore' | 'professionalScore'): string {
  const carried = a.scoreIds?.[field];
  return carried === undefined ? scoreKey(a.id, MAP.scoreFields[field]) : carriedId(carried);
}

function scoreObservation(a: Assessment, field: 'selfScore' | 'professionalScore', ctx: Ctx): Observation {
  const method = MAP.scoreFields[field];
  const score = a[field]!;
  const interpretation = interpretWorkAbilityScore(score);
  if (!interpretation.valid) throw new RangeError(interpretation.reason);
  const key = scoreKeyOf(a, field);
  return {
    resourceType: 'Observation',
    ...common('score', key, ctx, 'score', [
      ['score', String(score)],
      ['method', show(CS.method!, method, ctx)],
      ['interpretation', show(CS.interpretation!, interpretation.interpretation, ctx)],
      ['date', a.date],
    ]),
    status: 'final',
    code: { coding: [coding(MAP.observationCodes.codeSystem, MAP.observationCodes.score)] },
    subject: ref('client', a.clientId, ctx),
    effectiveDateTime: a.date,
    performer: [
      method === 'self-reported' ? ref('client', a.clientId, ctx) : ref('professional', a.assessorId, ctx),
    ],
    valueInteger: score,
    interpretation: [concept(CS.interpretation!, interpretation.interpretation)],
    method: concept(CS.method!, method),
  };
}

function scoreFieldsOf(a: Assessment): ('selfScore' | 'professionalScore')[] {
  return (['selfScore', 'professionalScore'] as const).filter((f) => a[f] !== undefined);
}

function assessmentObservation(a: Assessment, ctx: Ctx): Observation {
  const component: ObservationComponent[] = [];
  for (const c of MAP.assessmentComponents) {
    const code = { coding: [coding(MAP.observationCodes.codeSystem, c.code)] };
    const value = (a as unknown as Record<string, unknown>)[c.field];
    if (value === undefined) continue;
    if (c.value === 'boolean') component.push({ code, valueBoolean: value as boolean });
    else if (c.value === 'code')
      component.push({ code, valueCodeableConcept: concept(c.codeSystem!, value as string) });
    else
      for (const v of value as string[])
        component.push({ code, valueCodeableConcept: concept(c.codeSystem!, v) });
  }
  const o: Observation = {
    resourceType: 'Observation',
    ...common('assessment', a.id, ctx, 'assessment', [
      ['date', a.date],
      ['phase', show(CS.phase!, a.phase, ctx)],
      ['situation', show(CS.situation!, a.situation, ctx)],
      ['triggers', a.triggers.map((t) => show(CS.trigger!, t, ctx)).join(', ')],
      ['rehabilitationNeed', yesNo(a.rehabilitationNeed, ctx.lang)],
      ['mismatch', a.mismatch === undefined ? undefined : yesNo(a.mismatch, ctx.lang)],
      [
        'score',
        scoreFieldsOf(a)
          .map((f) => `${a[f]} (${show(CS.method!, MAP.scoreFields[f], ctx)})`)
          .join(', '),
      ],
      ['note', a.note],
    ]),
    status: 'final',
    category: [{ coding: [coding(MAP.recordView.codeSystem, MAP.recordView.code)] }],
    code: { coding: [coding(MAP.observationCodes.codeSystem, MAP.observationCodes.assessment)] },
    subject: ref('client', a.clientId, ctx),
    effectiveDateTime: a.date,
    performer: [ref('professional', a.assessorId, ctx)],
    component,
  };
  const members = scoreFieldsOf(a).map((f) => ref('score', scoreKeyOf(a, f), ctx));
  if (members.length) o.hasMember = members;
  if (a.selfAssessmentId !== undefined) o.derivedFrom = [ref('selfAssessment', a.selfAssessmentId, ctx)];
  if (a.note !== undefined) o.note = [{ text: a.note }];
  return o;
}

const SELF_FIELDS = Object.entries(MAP.selfAssessment.items) as [keyof SelfAssessment, string][];

function questionnaireResponse(s: SelfAssessment, ctx: Ctx): QuestionnaireResponse {
  return {
    resourceType: 'QuestionnaireResponse',
    ...common('selfAssessment', s.id, ctx, 'selfAssessment', [
      ['date', s.date],
      ...SELF_FIELDS.map(([f]) => [f, s[f] === undefined ? undefined : String(s[f])] as Row),
    ]),
    identifier: identifiers('selfAssessment', s.id, ctx.opts)[0],
    questionnaire: MAP.selfAssessment.questionnaire,
    status: 'completed',
    subject: ref('client', s.clientId, ctx),
    authored: s.date,
    author: ref('client', s.clientId, ctx),
    // No item.text: it would have to repeat the Questionnaire's own text word for word (in Finnish);
    // the narrative carries the labels in the record's language.
    item: SELF_FIELDS.filter(([f]) => s[f] !== undefined).map(([f, linkId]) => ({
      linkId,
      answer: [{ valueInteger: s[f] as number }],
    })),
  };
}

function consent(c: DomainConsent, ctx: Ctx): Consent {
  const extra: Extension[] = c.withdrawnOn
    ? [{ url: MAP.extensions.consentWithdrawalDate, valueDateTime: c.withdrawnOn }]
    : [];
  const k = MAP.consent;
  return {
    resourceType: 'Consent',
    ...common(
      'consent',
      c.id,
      ctx,
      'consent',
      [
        ['date', c.date],
        ['parties', c.parties.map((p) => show(CS.consentParty!, p, ctx)).join(', ')],
        ['dataClasses', c.dataClasses.map((d) => show(CS.dataClass!, d, ctx)).join(', ')],
        ['period', `${c.period.start}–${c.period.end ?? ''}`],
        ['withdrawnOn', c.withdrawnOn],
      ],
      extra,
    ),
    status: c.withdrawnOn ? 'inactive' : 'active',
    scope: { coding: [{ ...k.scope }] },
    category: [{ coding: [{ ...k.category }] }],
    patient: ref('client', c.clientId, ctx),
    dateTime: c.date,
    // The domain's consent is the client's own (Must Support in the profile; the reader reads it so).
    performer: [ref('client', c.clientId, ctx)],
    organization: [ref('organization', c.organizationId, ctx)],
    policy: [{ uri: k.policyUri }],
    provision: {
      type: 'permit',
      period: { ...c.period },
      actor: c.parties.map((p) => {
        const org = ctx.partyOrganizations?.get(p);
        return {
          extension: [
            { url: MAP.extensions.consentReceivingParty, valueCodeableConcept: concept(CS.consentParty!, p) },
          ],
          role: { coding: [{ ...k.actorRole }] },
          reference: org
            ? ref('organization', org, ctx)
            : { display: displayOf(CS.consentParty!, p, ctx.lang) },
        };
      }),
      code: c.dataClasses.map((d) => concept(CS.dataClass!, d)),
    },
  };
}

function goalResource(plan: SupportPlan, index: number, ctx: Ctx): Goal {
  const g = plan.goals[index]!;
  // The one state of MAP.goal.states that `achieved` names (the reader reads these back, and only these).
  const state = MAP.goal.states.find((s) => s.achieved === g.achieved)!;
  const r: Goal = {
    resourceType: 'Goal',
    ...common('goal', goalKey(plan.id, g.id), ctx, 'goal', [
      ['goal', g.description],
      ['dueDate', g.dueDate],
      ['achieved', g.achieved === undefined ? undefined : yesNo(g.achieved, ctx.lang)],
      ['onwardPath', g.onwardPath && show(CS.onwardPath!, g.onwardPath, ctx)],
      ['priority', g.priority && label(`priority.${g.priority}`, ctx.lang)],
    ]),
    lifecycleStatus: state.lifecycleStatus,
    description: { text: g.description },
    subject: ref('client', plan.clientId, ctx),
    startDate: plan.created,
  };
  if (state.achievement !== undefined)
    r.achievementStatus = { coding: [{ system: MAP.goal.achievementSystem, code: state.achievement }] };
  if (g.dueDate !== undefined) r.target = [{ dueDate: g.dueDate }];
  if (plan.assessmentId !== undefined) r.addresses = [ref('assessment', plan.assessmentId, ctx)];
  if (g.expressedBy !== undefined)
    r.expressedBy =
      g.expressedBy === 'client'
        ? ref('client', plan.clientId, ctx)
        : ref('professional', g.expressedBy.professionalId, ctx);
  if (g.onwardPath !== undefined) r.outcomeCode = [concept(CS.onwardPath!, g.onwardPath)];
  if (g.priority !== undefined)
    r.priority = { coding: [{ system: MAP.goal.prioritySystem, code: MAP.goal.priorities[g.priority] }] };
  return r;
}

/**
 * An activity as the plan's narrative lists it: its service and description (two activities of one
 * service differ by it), then days a week, bounds and onward path.
 */
function activityText(a: Activity, ctx: Ctx): string {
  const details = [
    a.daysPerWeek ? `${a.daysPerWeek} ${label('daysPerWeek', ctx.lang)}` : undefined,
    a.period ? `${a.period.start}–${a.period.end ?? ''}` : undefined,
    a.durationMonths === undefined ? undefined : `${a.durationMonths} ${label('months', ctx.lang)}`,
    a.onwardPath && `${label('onwardPath', ctx.lang)}: ${show(CS.onwardPath!, a.onwardPath, ctx)}`,
  ].filter((d) => d !== undefined);
  const what = show(CS.service!, a.service, ctx) + (a.description ? ` – ${a.description}` : '');
  return what + (details.length ? ` (${details.join(', ')})` : '');
}

/** The plan's narrative rows: what the client reads of the plan in Omakanta. */
function planRows(p: SupportPlan, ctx: Ctx): Row[] {
  return [
    ['title', p.title],
    ['category', show(CS.planCategory!, p.category, ctx)],
    ['status', label(`status.${p.status}`, ctx.lang)],
    ['period', `${p.period.start}–${p.period.end ?? ''}`],
    ['goals', p.goals.map((g) => g.description).join('; ')],
    ['activities', p.activities.map((a) => activityText(a, ctx)).join('; ')],
    ['followUpDate', p.followUpDate],
  ];
}

function carePlan(p: SupportPlan, ctx: Ctx): CarePlan {
  const extra: Extension[] = p.followUpDate
    ? [{ url: MAP.extensions.followUpDate, valueDate: p.followUpDate }]
    : [];
  const activity: CarePlanActivity[] = p.activities.map((a) => {
    const detail: CarePlanActivity['detail'] = {
      code: concept(CS.service!, a.service),
      status: MAP.planStatus.activity[p.status] as 'in-progress',
    };
    if (a.description !== undefined) detail.description = a.description;
    if (a.daysPerWeek !== undefined || a.period !== undefined || a.durationMonths !== undefined) {
      const repeat: NonNullable<Timing['repeat']> = {};
      if (a.period !== undefined) repeat.boundsPeriod = { ...a.period };
      else if (a.durationMonths !== undefined)
        repeat.boundsDuration = { ...MAP.months, value: a.durationMonths };
      if (a.daysPerWeek !== undefined) Object.assign(repeat, { frequency: a.daysPerWeek, ...MAP.timing });
      detail.scheduledTiming = { repeat };
    }
    if (a.performerId !== undefined) detail.performer = [ref('professional', a.performerId, ctx)];
    const act: CarePlanActivity = { detail };
    if (a.onwardPath !== undefined) act.outcomeCodeableConcept = [concept(CS.onwardPath!, a.onwardPath)];
    return act;
  });
  for (const id of p.referralIds ?? []) activity.push({ reference: ref('referral', id, ctx) });
  const r: CarePlan = {
    resourceType: 'CarePlan',
    ...common('plan', p.id, ctx, 'plan', planRows(p, ctx), extra),
    status: MAP.planStatus.carePlan[p.status] as CarePlan['status'],
    intent: MAP.plan.intent,
    category: [
      { coding: [coding(MAP.recordView.codeSystem, MAP.recordView.code)] },
      concept(CS.planCategory!, p.category),
    ],
    subject: ref('client', p.clientId, ctx),
    period: { ...p.period },
    created: p.created,
    author: ref('professional', p.authorId, ctx),
    goal: p.goals.map((g) => ref('goal', goalKey(p.id, g.id), ctx)),
  };
  if (p.title !== undefined) r.title = p.title;
  if (p.teamId !== undefined) r.careTeam = [ref('team', p.teamId, ctx)];
  if (p.assessmentId !== undefined) r.supportingInfo = [ref('assessment', p.assessmentId, ctx)];
  if (activity.length) r.activity = activity;
  return r;
}

function serviceRequest(s: Referral, ctx: Ctx): ServiceRequest {
  const r: ServiceRequest = {
    resourceType: 'ServiceRequest',
    ...common('referral', s.id, ctx, 'referral', [
      ['service', show(CS.service!, s.service, ctx)],
      ['date', s.date],
      ['reasons', s.reasons.map((t) => show(CS.trigger!, t, ctx)).join(', ')],
      ['note', s.note],
    ]),
    status: MAP.referral.status,
    intent: MAP.referral.intent,
    code: concept(CS.service!, s.service),
    subject: ref('client', s.clientId, ctx),
    authoredOn: s.date,
    requester: ref('professional', s.requesterId, ctx),
    supportingInfo: [ref('consent', s.consentId, ctx)],
  };
  if (s.reasons.length) r.reasonCode = s.reasons.map((t) => concept(CS.trigger!, t));
  if (s.note !== undefined) r.note = [{ text: s.note }];
  return r;
}

function careTeam(t: ResponsibleWorkerTeam, ctx: Ctx): CareTeam {
  const r: CareTeam = {
    resourceType: 'CareTeam',
    ...common('team', t.id, ctx, 'team', [
      ['name', t.name],
      [
        'members',
        t.members
          .map(
            (m) =>
              `${show(CS.careTeamRole!, m.role, ctx)} ${ctx.professionalNames?.get(m.professionalId) ?? m.professionalId} ${m.period.start}–${m.period.end ?? ''}`,
          )
          .join('; '),
      ],
      ['ended', t.ended],
    ]),
    // An ended client relationship is an inactive team; its period runs from the first member's start.
    status: t.ended === undefined ? MAP.team.status : MAP.team.endedStatus,
    period: {
      start: t.members.map((m) => m.period.start).sort()[0] as string,
      ...(t.ended === undefined ? {} : { end: t.ended }),
    },
    subject: ref('client', t.clientId, ctx),
    participant: t.members.map((m) => ({
      role: [concept(CS.careTeamRole!, m.role)],
      member: ref('professional', m.professionalId, ctx),
      period: { ...m.period },
    })),
  };
  if (t.name !== undefined) r.name = t.name;
  return r;
}

type Mapper<K extends DomainKind> = (value: DomainTypes[K], ctx: Ctx) => Resource[];

const MAPPERS: { [K in DomainKind]: Mapper<K> } = {
  client: (v, ctx) => [patient(v, ctx)],
  organization: (v, ctx) => [organization(v, ctx)],
  professional: (v, ctx) => [practitionerRole(v, ctx)],
  assessment: (v, ctx) => [
    ...scoreFieldsOf(v).map((f) => scoreObservation(v, f, ctx)),
    assessmentObservation(v, ctx),
  ],
  selfAssessment: (v, ctx) => [questionnaireResponse(v, ctx)],
  consent: (v, ctx) => [consent(v, ctx)],
  plan: (v, ctx) => [...v.goals.map((_, i) => goalResource(v, i, ctx)), carePlan(v, ctx)],
  referral: (v, ctx) => [serviceRequest(v, ctx)],
  team: (v, ctx) => [careTeam(v, ctx)],
};

/**
 * The FHIR resources of one domain object (an assessment gives its score Observations first, a plan
 * its Goals first). Validates the input unless `validate: false` — with the rules that read
 * `opts.related` (a referral's consent and requester) when given —; invalid input throws
 * DomainValidationError naming the field, and nothing is returned.
 */
export function toResources<K extends DomainKind>(
  kind: K,
  value: DomainTypes[K],
  opts: MappingOptions = {},
): Resource[] {
  checkDomainKind(kind);
  if (opts.validate !== false) validateDomain(kind, value, opts.related);
  return MAPPERS[kind](value, context(opts));
}

const LISTS: [keyof WorkAbilityRecord, DomainKind][] = [
  ['organizations', 'organization'],
  ['professionals', 'professional'],
  ['selfAssessments', 'selfAssessment'],
  ['assessments', 'assessment'],
  ['consents', 'consent'],
  ['teams', 'team'],
  ['plans', 'plan'],
  ['referrals', 'referral'],
];

/**
 * A record → transaction Bundle: every entry has a `urn:uuid` fullUrl equal to its business
 * identifier and a conditional create on that identifier, so sending the Bundle twice creates nothing new.
 */
export function toFhir(record: WorkAbilityRecord, opts: MappingOptions = {}): RecordBundle {
  if (opts.validate !== false) validateRecord(record);
  const ctx = context(opts, record);
  const resources: Resource[] = [...MAPPERS.client(record.client, ctx)];
  for (const [list, kind] of LISTS) {
    for (const item of (record[list] ?? []) as DomainTypes[typeof kind][]) {
      resources.push(...(MAPPERS[kind] as Mapper<typeof kind>)(item, ctx));
    }
  }
  return transactionBundle(resources, { rewriteOutside: false }) as RecordBundle;
}
