/**
 * Runtime validation of domain objects for untyped callers: the JSON Schemas (ajv) first, then the
 * business rules a schema cannot state. Every problem becomes an OperationOutcome issue whose
 * expression names the field (e.g. `SupportPlan.activities[0].daysPerWeek`) and whose diagnostics
 * name the rule.
 */
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { FhirError, issue } from '../shared/outcome.ts';
import { consentNotYetGiven, withdrawalNotYetMade } from './rules/consent.ts';
import { checkResponsibleWorkers, checkTeamPeriods } from './rules/handover.ts';
import type { HandoverRequest } from './rules/handover.ts';
import { isFutureBirthDate, maskHetus, parseHetu } from './rules/hetu.ts';
import { type RelatedObjects, checkLinkedClients, checkRelatedObjects, linksOf } from './rules/links.ts';
import { checkClientActivities, checkPlanActivities, checkPlanActivity } from './rules/plan.ts';
import { checkReferral } from './rules/referral.ts';
import {
  AssessmentSchema,
  ClientSchema,
  ConsentSchema,
  HandoverRequestSchema,
  OrganizationSchema,
  ProfessionalSchema,
  RecordSchema,
  ReferralSchema,
  SelfAssessmentSchema,
  SupportPlanSchema,
  TeamSchema,
} from './schemas.ts';
import type { DomainKind, DomainTypes, WorkAbilityRecord } from './types.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** The FHIR-style type name used in error expressions for each kind. */
export const KIND_LABEL: Record<DomainKind | 'record' | 'handover', string> = {
  client: 'Client',
  organization: 'Organization',
  professional: 'Professional',
  assessment: 'Assessment',
  selfAssessment: 'SelfAssessment',
  consent: 'Consent',
  plan: 'SupportPlan',
  referral: 'Referral',
  team: 'ResponsibleWorkerTeam',
  record: 'WorkAbilityRecord',
  handover: 'HandoverRequest',
};

/** The domain kinds, in the order the SDK lists them. */
export const DOMAIN_KINDS: readonly DomainKind[] = [
  'client',
  'organization',
  'professional',
  'assessment',
  'selfAssessment',
  'consent',
  'plan',
  'referral',
  'team',
];

/** `kind`, when it is one of the domain kinds; a TypeError naming them otherwise (a JavaScript caller's mistake). */
export function checkDomainKind(kind: unknown): DomainKind {
  if (typeof kind === 'string' && (DOMAIN_KINDS as readonly string[]).includes(kind))
    return kind as DomainKind;
  // Not quoted: a string that is no kind may be client data (a HETU, a name); any other is its type.
  const got =
    typeof kind === 'string'
      ? 'a string that is none of them (not quoted: it may be client data)'
      : kind === null
        ? 'null'
        : typeof kind === 'undefined'
          ? 'undefined'
          : `${/^[aeiou]/.test(typeof kind) ? 'an' : 'a'} ${typeof kind}`;
  throw new TypeError(`kind must be one of ${DOMAIN_KINDS.join(', ')}; got ${got}`);
}

export const SCHEMAS: Record<DomainKind | 'record' | 'handover', TSchema> = {
  client: ClientSchema,
  organization: OrganizationSchema,
  professional: ProfessionalSchema,
  assessment: AssessmentSchema,
  selfAssessment: SelfAssessmentSchema,
  consent: ConsentSchema,
  plan: SupportPlanSchema,
  referral: ReferralSchema,
  team: TeamSchema,
  record: RecordSchema,
  handover: HandoverRequestSchema,
};

/** Invalid domain input: `field` is the first offending field; `outcome` lists every problem. */
export class DomainValidationError extends FhirError {
  readonly field: string;
  constructor(issues: OperationOutcomeIssue[]) {
    super(400, issues);
    this.name = 'DomainValidationError';
    this.field = issues[0]?.expression?.[0] ?? '';
  }
}

// verbose: a pattern error reads its schema's `patternText` (what the pattern asks, in words), and
// any error its schema's `rule` (the business rule the schema states part of: `tyk-hetu-1`, `tyk-was-1`).
const ajv = addFormats(new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true }));
ajv.addKeyword('kind').addKeyword('modifier').addKeyword('patternText').addKeyword('rule');
const compiled = new Map<string, ValidateFunction>();
function validatorFor(kind: DomainKind | 'record' | 'handover'): ValidateFunction {
  let fn = compiled.get(kind);
  if (!fn) {
    fn = ajv.compile(SCHEMAS[kind]);
    compiled.set(kind, fn);
  }
  return fn;
}

function fieldPath(base: string, pointer: string): string {
  if (!pointer) return base;
  return (
    base +
    pointer
      .split('/')
      .slice(1)
      .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p.replace(/~1/g, '/').replace(/~0/g, '~')}`))
      .join('')
  );
}

/** What a field name looks like: a letter, then letters and digits (the schemas' fields are camelCase). */
const FIELD_NAME = /^[A-Za-z][A-Za-z0-9]{0,63}$/;

/** Whether an unknown key may be quoted: shaped as a field name, and no HETU in it (`p010105A9147`). */
const quotableKey = (key: string) => FIELD_NAME.test(key) && maskHetus(key) === key;

function ajvIssue(base: string, e: ErrorObject): OperationOutcomeIssue {
  let path = fieldPath(base, e.instancePath);
  let message = e.message ?? 'is invalid';
  if (e.keyword === 'required') path += `.${(e.params as { missingProperty: string }).missingProperty}`;
  else if (e.keyword === 'additionalProperties') {
    const key = (e.params as { additionalProperty: string }).additionalProperty;
    // A key shaped as a field name is named (a misspelt field); any other text could be client data
    // (a name, a HETU — one with a letter century sign is shaped as a field name) and is not echoed:
    // the object holding it is named instead.
    if (quotableKey(key)) {
      path += `.${key}`;
      message = 'is not a known field';
    } else message = 'has a key that is not a known field (not quoted: it is not a field name)';
  } else if (e.keyword === 'pattern' && (e.parentSchema as { patternText?: string })?.patternText) {
    message = `must be ${(e.parentSchema as { patternText: string }).patternText}`;
  } else if (e.keyword === 'enum') {
    message = `must be one of ${(e.params as { allowedValues: string[] }).allowedValues.join(', ')}`;
  }
  const code =
    e.keyword === 'required' ? 'required' : e.keyword === 'additionalProperties' ? 'structure' : 'value';
  const rule = (e.parentSchema as { rule?: string } | undefined)?.rule;
  return issue(
    'error',
    code,
    `${rule ? `${rule}: ` : ''}${path}: ${e.keyword === 'required' ? 'is required' : message} (schema ${e.keyword})`,
    path,
  );
}

/**
 * A rule violation found after the schema: expression = field, diagnostics start with the rule key.
 * Rule messages quote ids (a reference's target, an id used twice), and a vendor's id may be a HETU:
 * every HETU-shaped part of the message is masked here, once for every rule.
 */
export function ruleIssue(path: string, rule: string, message: string): OperationOutcomeIssue {
  return issue('error', 'invariant', `${rule}: ${path}: ${maskHetus(message)}`, path);
}

/** A kind's rules: `related` holds the objects outside `value` that some rules read (a referral's consent). */
type Rules<K extends DomainKind> = (
  value: DomainTypes[K],
  base: string,
  related: RelatedObjects,
) => OperationOutcomeIssue[];

function periodIssues(
  period: { start: string; end?: string } | undefined,
  path: string,
): OperationOutcomeIssue[] {
  return period?.end !== undefined && period.end < period.start
    ? [ruleIssue(`${path}.end`, 'period-order', `end ${period.end} is before start ${period.start}`)]
    : [];
}

/**
 * `unique-id`: the items of `list` (at `path`) whose id an earlier item has. Ids name what the mapping
 * derives from them (business identifiers, fullUrls), so two items with one id would become one resource.
 */
function uniqueIdIssues(
  items: readonly { id: string }[],
  path: string,
  list: string,
): OperationOutcomeIssue[] {
  const seen = new Set<string>();
  const out: OperationOutcomeIssue[] = [];
  items.forEach((item, i) => {
    if (seen.has(item.id))
      out.push(ruleIssue(`${path}[${i}].id`, 'unique-id', `id '${item.id}' is used twice in ${list}`));
    seen.add(item.id);
  });
  return out;
}

const RULES: { [K in DomainKind]: Rules<K> } = {
  client: (c, base) => {
    const out: OperationOutcomeIssue[] = [];
    // The local id travels in URLs (/api/clients/<id>), request logs and the local-id identifier: one
    // that the masker would mask (maskHetus, the one notion of a HETU in a text) is refused.
    if (maskHetus(c.id) !== c.id)
      out.push(
        ruleIssue(
          `${base}.id`,
          'local-id-not-hetu',
          'a local id must not be a HETU (ids travel in URLs and logs); give the HETU as hetu',
        ),
      );
    if (c.hetu === undefined && c.temporaryId === undefined) {
      out.push(ruleIssue(`${base}.hetu`, 'client-id', 'either hetu or temporaryId is required'));
    }
    // Nobody is born on a day still to come, whatever identifies them (the HETU's future-date); the
    // date is not quoted: it is the client's.
    if (c.birthDate !== undefined && isFutureBirthDate(c.birthDate))
      out.push(ruleIssue(`${base}.birthDate`, 'future-date', 'the birth date is in the future'));
    if (c.hetu !== undefined) {
      const r = parseHetu(c.hetu);
      if (!r.valid) {
        out.push(ruleIssue(`${base}.hetu`, 'tyk-hetu-1', r.reason));
      }
      if (c.birthDate !== undefined) {
        out.push(
          ruleIssue(
            `${base}.birthDate`,
            'birth-date-from-hetu',
            'give birthDate only without a hetu (the HETU carries it)',
          ),
        );
      }
    }
    return out;
  },
  organization: () => [],
  professional: () => [],
  assessment: () => [],
  selfAssessment: () => [],
  consent: (c, base) => {
    const out = periodIssues(c.period, `${base}.period`);
    // The profile states the same rule as tyk-con-2 (withdrawal date not before Consent.dateTime).
    if (c.withdrawnOn !== undefined && c.withdrawnOn < c.date) {
      out.push(
        ruleIssue(
          `${base}.withdrawnOn`,
          'tyk-con-2',
          `withdrawn ${c.withdrawnOn} before it was given ${c.date}`,
        ),
      );
    }
    const notYet = c.withdrawnOn === undefined ? undefined : withdrawalNotYetMade(c.withdrawnOn);
    if (notYet) out.push(ruleIssue(`${base}.withdrawnOn`, 'consent-withdrawn', notYet));
    const notGiven = consentNotYetGiven(c.date);
    if (notGiven) out.push(ruleIssue(`${base}.date`, 'consent-given', notGiven));
    return out;
  },
  plan: (p, base) => [
    ...periodIssues(p.period, `${base}.period`),
    // Each goal is a Goal resource whose identifier and fullUrl derive from the plan's id and its own.
    ...uniqueIdIssues(p.goals, `${base}.goals`, 'goals'),
    ...p.activities.flatMap((a, i) => [
      ...periodIssues(a.period, `${base}.activities[${i}].period`),
      ...(a.period && a.durationMonths !== undefined
        ? [
            ruleIssue(
              `${base}.activities[${i}].durationMonths`,
              'activity-bounds',
              'period and durationMonths are alternatives (FHIR Timing.repeat.bounds[x] holds one)',
            ),
          ]
        : []),
      ...checkPlanActivity(a).map((v) => ruleIssue(`${base}.activities[${i}].${v.field}`, v.rule, v.reason)),
    ]),
    ...checkPlanActivities(p.activities).map((v) =>
      ruleIssue(`${base}.activities[${v.index}].${v.field}`, v.rule, v.reason),
    ),
  ],
  referral: (r, base, related) =>
    checkReferral(r, related).map((v) => ruleIssue(`${base}.${v.field}`, v.rule, v.reason)),
  team: (t, base) => {
    const out = t.members.flatMap((m, i) => periodIssues(m.period, `${base}.members[${i}].period`));
    const workers = checkResponsibleWorkers(t);
    if (!workers.valid) out.push(ruleIssue(`${base}.${workers.field}`, workers.rule, workers.reason));
    for (const v of checkTeamPeriods(t))
      out.push(ruleIssue(`${base}.members[${v.index}].${v.field}`, v.rule, v.reason));
    return out;
  },
};

/**
 * All problems of a domain object of `kind`; empty when it is valid. `related` gives the objects
 * outside it that its rules read (a referral's consent and requester); a rule whose object is not
 * given is not applied.
 */
export function domainIssues<K extends DomainKind>(
  kind: K,
  value: unknown,
  base: string = KIND_LABEL[checkDomainKind(kind)],
  related: RelatedObjects = {},
): OperationOutcomeIssue[] {
  checkRelatedObjects(related);
  const fn = validatorFor(kind);
  if (!fn(value)) return (fn.errors ?? []).map((e) => ajvIssue(base, e));
  const valid = value as DomainTypes[K];
  // Alone, what it names of its client's must be that client's (a record checks the same by its lists).
  const links = checkLinkedClients(kind, valid, related);
  return [
    ...RULES[kind](valid, base, related),
    ...links.map((v) => ruleIssue(`${base}.${v.field}`, v.rule, v.reason)),
  ];
}

/** A handover request's shape (`HandoverRequest`), or DomainValidationError naming the field. */
export function validateHandoverRequest(value: unknown): HandoverRequest {
  const fn = validatorFor('handover');
  if (!fn(value))
    throw new DomainValidationError((fn.errors ?? []).map((e) => ajvIssue(KIND_LABEL.handover, e)));
  return value as HandoverRequest;
}

/**
 * Validates a domain object of `kind` and returns it typed, or throws DomainValidationError. With
 * `related` (a referral's consent and requester), the rules that read those apply too.
 */
export function validateDomain<K extends DomainKind>(
  kind: K,
  value: unknown,
  related?: RelatedObjects,
): DomainTypes[K] {
  const issues = domainIssues(kind, value, undefined, related);
  if (issues.length) throw new DomainValidationError(issues);
  return value as DomainTypes[K];
}

const RECORD_LISTS = {
  organizations: 'organization',
  professionals: 'professional',
  selfAssessments: 'selfAssessment',
  assessments: 'assessment',
  consents: 'consent',
  plans: 'plan',
  referrals: 'referral',
  teams: 'team',
} as const satisfies Partial<Record<keyof WorkAbilityRecord, DomainKind>>;

/** Problems of a whole record: each part, unique ids, and references that resolve inside the record. */
export function recordIssues(value: unknown): OperationOutcomeIssue[] {
  const fn = validatorFor('record');
  const base = KIND_LABEL.record;
  if (!fn(value)) return (fn.errors ?? []).map((e) => ajvIssue(base, e));
  const r = value as WorkAbilityRecord;
  // The record schema has already checked every part against its own schema: only the rules remain.
  // A referral's consent and requester are the record's own.
  const related: RelatedObjects = { consents: r.consents ?? [], professionals: r.professionals ?? [] };
  const out = RULES.client(r.client, `${base}.client`, related);
  const ids: Record<string, Set<string>> = {};
  for (const [list, kind] of Object.entries(RECORD_LISTS) as [keyof typeof RECORD_LISTS, DomainKind][]) {
    const items: readonly { id: string }[] = r[list] ?? [];
    items.forEach((item, i) => {
      out.push(...(RULES[kind] as Rules<DomainKind>)(item as never, `${base}.${list}[${i}]`, related));
    });
    out.push(...uniqueIdIssues(items, `${base}.${list}`, list));
    ids[kind] = new Set(items.map((item) => item.id));
  }
  // A client's rehabilitative work activity adds up across its plans (`tyk-rwa-3`, per client).
  const activityPath = (plan: number, index: number) => `${base}.plans[${plan}].activities[${index}]`;
  for (const v of checkClientActivities(r.plans ?? [], activityPath))
    out.push(ruleIssue(`${activityPath(v.plan, v.index)}.${v.field}`, v.rule, v.reason));
  for (const [list, kind] of Object.entries(RECORD_LISTS) as [keyof typeof RECORD_LISTS, DomainKind][]) {
    (r[list] ?? []).forEach((item, i) => {
      for (const { field, target, id } of linksOf(kind, item as never)) {
        const path = `${base}.${list}[${i}].${field}`;
        if (target === 'client') {
          if (id !== r.client.id)
            out.push(ruleIssue(path, 'reference', `'${id}' is not the record's client '${r.client.id}'`));
        } else if (!ids[target]!.has(id)) {
          out.push(
            ruleIssue(path, 'reference', `'${id}' is not among the record's ${RECORD_LIST_OF[target]}`),
          );
        }
      }
    });
  }
  return out;
}

const RECORD_LIST_OF = Object.fromEntries(
  Object.entries(RECORD_LISTS).map(([list, kind]) => [kind, list]),
) as Record<DomainKind, string>;

export function validateRecord(value: unknown): WorkAbilityRecord {
  const issues = recordIssues(value);
  if (issues.length) throw new DomainValidationError(issues);
  return value as WorkAbilityRecord;
}
