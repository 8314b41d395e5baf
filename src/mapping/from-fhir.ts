/**
 * FHIR resources of our profiles → domain objects. A transaction Bundle (ours, or what a Kanta-style
 * store returns) becomes a WorkAbilityRecord; a single resource becomes `{ kind, value }`. Resources
 * that do not declare one of our profiles are refused with an error naming the element.
 */
import type {
  Bundle,
  CarePlan,
  CareTeam,
  Coding,
  Consent,
  Goal,
  Identifier,
  Observation,
  Organization,
  Patient,
  PractitionerRole,
  QuestionnaireResponse,
  Reference,
  Resource,
  ServiceRequest,
  TimingRepeat,
} from '@medplum/fhirtypes';
import type {
  Activity,
  Assessment,
  Client,
  Consent as DomainConsent,
  Goal as DomainGoal,
  DomainKind,
  Organization as DomainOrganization,
  DomainTypes,
  Professional,
  Referral,
  ResponsibleWorkerTeam,
  SelfAssessment,
  SupportPlan,
  WorkAbilityRecord,
} from '../domain/index.ts';
import {
  DomainValidationError,
  RWA_BOUND_DATE,
  RWA_DAYS_PER_WEEK,
  calendarDay,
  checkPlanActivities,
  domainIssues,
  finnishDay,
  finnishDayOf,
  parseHetu,
  recordIssues,
} from '../domain/index.ts';
import { FhirError, issue } from '../shared/outcome.ts';
import { FINISHED_RESPONSE_STATUSES, type FhirKind, MAP, codeSystemUrl, profileUrl } from './config.ts';
import { consentRuleDefect, withdrawalDay } from './consent-reader.ts';
import {
  type IdentityOptions,
  carriedUuid,
  derivesBusinessId,
  localIdOf,
  localIdSystem,
} from './identity.ts';
import { checkMappingOptions } from './options.ts';
import { namesOwnClient, referencedType, typeOfReference } from './own-client.ts';
import { OUR_TYPES, codeText, isKnownType, quotedTarget } from './quote.ts';
import { extensionName, secondIndex, secondOne } from './repeats.ts';
import { codeFrom } from './terminology.ts';
import { unheldElement, unheldElements } from './unheld.ts';
import { wellFormed } from './well-formed.ts';

/** A Work Ability Score read on its own (outside its assessment). */
export interface ScoreReading {
  id: string;
  clientId: string;
  date: string;
  method: 'self-reported' | 'professional';
  score: number;
}

export type DomainObject =
  | { [K in DomainKind]: { kind: K; value: DomainTypes[K] } }[DomainKind]
  | { kind: 'score'; value: ScoreReading }
  | { kind: 'goal'; value: DomainGoal & { planId?: string } };

declare const RECORD_BUNDLE: unique symbol;
declare const OBJECT_BUNDLE: unique symbol;
/**
 * A Bundle `toFhir` wrote: a client's record, which `fromFhir` reads back as a `WorkAbilityRecord`. The
 * mark is for the type checker only; any Bundle with its client reads as a record.
 */
export type RecordBundle = Bundle & { readonly [RECORD_BUNDLE]: true };
/**
 * A Bundle of one object without its client (`workAbility.<kind>().toBundle()`), which `fromFhirObject`
 * reads back as `{ kind, value }`. The mark is for the type checker only.
 */
export type ObjectBundle<K extends DomainKind = DomainKind> = Bundle & { readonly [OBJECT_BUNDLE]: K };

export interface FromFhirOptions extends IdentityOptions {
  /** Finds the resource a reference points to (a Bundle supplies its own entries). */
  resolve?: (reference: Reference) => Resource | undefined;
  /** Validate the produced domain objects; on by default. */
  validate?: boolean;
  /**
   * Read stored data back (for a view) rather than as input: an element the domain cannot hold and
   * refuses as input (`ELEMENTS` in unheld.ts), a `modifierExtension` or `implicitRules` is no refusal —
   * the object is read without it and `unheld` is told its element (`expression`, as a refusal names
   * it) and what the object lacks (`diagnostics`, no value quoted). An object read so may not say all
   * the resource says: show it with what `unheld` was told, never write it back. Every other refusal
   * stands.
   */
  unheld?: (found: { expression: string; diagnostics: string }) => void;
}

const KIND_BY_PROFILE = new Map(
  Object.keys(MAP.kinds).map((k) => [profileUrl(k as FhirKind), k as FhirKind]),
);

function fail(path: string, message: string): never {
  throw FhirError.unprocessable(issue('error', 'invalid', `${path}: ${message}`, path));
}

/** `type` with its article, as an error names it ("an Organization", "a Patient"). */
function withArticle(type: string): string {
  return `${/^[AEIOU]/.test(type) ? 'an' : 'a'} ${type}`;
}

/** A reference to `named` where `expected` belongs, as an error says it (`named` quoted only if known). */
function refersTo(named: unknown, expected: string): string {
  const what = isKnownType(named) ? withArticle(named) : 'a resource type none of our profiles is on';
  return `refers to ${what}, expected ${withArticle(expected)}`;
}

/**
 * Which of our profiles a resource declares, or an error saying it is not ours. `path` names the
 * resource (its type, when it stands alone); a resource type none of our profiles is on is not quoted.
 */
export function kindOf(resource: Resource, path?: string): FhirKind {
  if (!isKnownType(resource.resourceType))
    return fail(
      path === undefined ? 'resourceType' : `${path}.resourceType`,
      `not a tyokyky resource: the resource type is none of those our profiles are on (${OUR_TYPES.join(', ')})`,
    );
  const at = path ?? resource.resourceType;
  // A malformed meta.profile (not a list of strings) declares none of our profiles.
  const declared: unknown = resource.meta?.profile;
  const profiles = Array.isArray(declared) ? declared.filter((p): p is string => typeof p === 'string') : [];
  for (const p of profiles) {
    const kind = KIND_BY_PROFILE.get(p.split('|')[0]!);
    if (kind && MAP.kinds[kind].resourceType === resource.resourceType) return kind;
  }
  return fail(
    `${at}.meta.profile`,
    `${resource.resourceType} is not a tyokyky resource: meta.profile must name one of our profiles (${
      [...KIND_BY_PROFILE.entries()]
        .filter(([, k]) => MAP.kinds[k].resourceType === resource.resourceType)
        .map(([u]) => u)
        .join(', ') || 'none for this resource type'
    })`,
  );
}

/**
 * The statuses a reader accepts for a kind of record (`what` says which, as an error names it; `rule`,
 * the profile invariant stating the same, starts the error).
 */
interface HeldStatuses {
  what: string;
  accepted: readonly string[];
  rule?: string;
}

// The domain keeps no status for these records (a plan's is PLAN_STATUS, a team's end TEAM_ENDED): one
// entered in error, withdrawn, cancelled, not yet made or of unknown state is refused, since read as
// live data it would be written back as active or final. Each table lists what still holds the record.

/**
 * ServiceRequest.status: the domain keeps no referral status and writes every referral active, so a
 * referral on hold or served would be written back open again: only an active one is read.
 */
const REFERRAL_STATUS: HeldStatuses = {
  what: 'a referral the domain holds',
  accepted: [MAP.referral.status],
};

/** Observation.status: a result that stands (amended and corrected results are final too). */
const RESULT_STATUS = ['final', 'amended', 'corrected'];
const ASSESSMENT_STATUS: HeldStatuses = {
  what: 'an assessment the domain holds',
  accepted: RESULT_STATUS,
};
const SCORE_STATUS: HeldStatuses = { what: 'a score the domain holds', accepted: RESULT_STATUS };

/**
 * QuestionnaireResponse.status: the client's finished answers (an amended response is finished too);
 * the SDK writes every self-assessment completed, so a draft, a stopped or an entered-in-error
 * response would be written back as finished answers.
 */
const SELF_ASSESSMENT_STATUS: HeldStatuses = {
  what: 'a self-assessment the domain holds',
  accepted: FINISHED_RESPONSE_STATUSES,
};

/**
 * Goal.lifecycleStatus: the domain holds a goal open or achieved (MAP.goal.states) and writes it
 * active or completed; a goal proposed, planned, accepted or on hold would be written back active.
 * The profile refuses the same states (tyk-gol-1; tests/profiles/invariants.test.ts proves the table
 * and the invariant agree row by row), so only a resource read without validation meets this refusal.
 */
const GOAL_STATES = MAP.goal.states;
const GOAL_RULE = 'tyk-gol-1';
const GOAL_STATUS: HeldStatuses = {
  what: 'a goal the domain holds',
  accepted: [...new Set(GOAL_STATES.map((g) => g.lifecycleStatus))],
  rule: GOAL_RULE,
};
/** The goal states, as an error lists them: "active (no achievement or in-progress) and completed (achieved)". */
const GOAL_STATES_TEXT = GOAL_STATUS.accepted
  .map(
    (l) =>
      `${l} (${GOAL_STATES.filter((g) => g.lifecycleStatus === l)
        .map((g) => g.achievement ?? 'no achievement')
        .join(' or ')})`,
  )
  .join(' and ');

/** CareTeam.status → whether the team has ended (an absent status reads as active, as tyk-ctm-1 does). */
const TEAM_ENDED: Readonly<Record<string, boolean>> = {
  [MAP.team.status]: false,
  [MAP.team.endedStatus]: true,
};
const TEAM_STATUS: HeldStatuses = {
  what: 'a responsible-worker team the domain holds',
  accepted: Object.keys(TEAM_ENDED),
};

/**
 * CarePlan.activity.detail.status → the plan statuses it may appear in. An activity has no status of
 * its own: it lives and ends with its plan (MAP.planStatus.activity), so one cancelled or stopped is
 * held only in a revoked plan.
 */
const ANY_PLAN = Object.keys(MAP.planStatus.carePlan);
const ACTIVITY_STATUS: Readonly<Record<string, readonly string[]>> = {
  'not-started': ANY_PLAN,
  scheduled: ANY_PLAN,
  'in-progress': ANY_PLAN,
  'on-hold': ANY_PLAN,
  completed: ANY_PLAN,
  cancelled: ['revoked'],
  stopped: ['revoked'],
};

/** The activity statuses a plan in `planStatus` holds. */
function activityStatuses(planStatus: string): HeldStatuses {
  return {
    what: `an activity the domain holds in a plan of status ${planStatus}`,
    accepted: Object.keys(ACTIVITY_STATUS).filter((s) => ACTIVITY_STATUS[s]!.includes(planStatus)),
  };
}

const SELF_ASSESSMENT_ID =
  "tyk-sar-1: a self-assessment's one identifier is a urn:uuid: value under urn:ietf:rfc:3986, its id (a urn:oid: one is not read; docs/sdk.md)";

class Reader {
  constructor(
    readonly opts: FromFhirOptions,
    readonly path: string,
  ) {}

  idOf(kind: FhirKind, ids: Identifier[] | Identifier | undefined, path = `${this.path}.identifier`): string {
    const id = localIdOf(kind, Array.isArray(ids) ? ids : ids ? [ids] : undefined, this.opts);
    if (id !== undefined) return id;
    if (kind === 'selfAssessment') fail(path, SELF_ASSESSMENT_ID);
    return fail(path, `no local id (${localIdSystem(kind, this.opts)}) or business identifier (urn:uuid)`);
  }

  /** The domain id a reference points to: its identifier, else the resolved target's identifiers. */
  refId(kind: FhirKind, ref: Reference | undefined, path: string): string {
    if (!ref) return fail(path, 'is required');
    const expected = MAP.kinds[kind].resourceType;
    const named = ref.type ?? referencedType(ref.reference);
    if (named !== undefined && named !== expected) return fail(path, refersTo(named, expected));
    const local = ref.identifier && localIdOf(kind, [ref.identifier], this.opts);
    if (local) return local;
    const target = this.opts.resolve?.(ref);
    if (target && target.resourceType !== expected)
      return fail(path, refersTo(target.resourceType, expected));
    if (target)
      return this.idOf(kind, (target as { identifier?: Identifier[] }).identifier, `${path}.reference`);
    return fail(path, `cannot tell which ${expected} ${quotedTarget(ref)} is`);
  }

  /** The resource type `ref` names or resolves to, if it can be told. */
  typeOf(ref: Reference): string | undefined {
    return typeOfReference(ref, this.opts);
  }

  /**
   * A client reference (`path`) that must name `clientId`, the client of what holds the resource: a
   * score or goal of another client is refused (`refusal` says which), never read as this client's.
   */
  sameClient(ref: Reference | undefined, clientId: string, path: string, refusal: string): void {
    if (this.refId('client', ref, path) !== clientId) fail(path, refusal);
  }

  /** `value` of an element the profile fixes to `fixed` (CarePlan.intent, ServiceRequest.intent). */
  fixed(value: string | undefined, fixed: string, path: string): void {
    if (value === undefined) fail(path, 'is required');
    if (value !== fixed) fail(path, `${codeText(value)} is not the intent the profile fixes (${fixed})`);
  }

  code(cc: { coding?: Coding[] } | undefined, field: string, path: string): string {
    return (
      codeFrom(cc, MAP.codedFields[field]!) ?? fail(path, `no code from CodeSystem ${MAP.codedFields[field]}`)
    );
  }

  /** `value` when `table` accepts it; else a refusal naming `path`, the status element. */
  status(value: string | undefined, table: HeldStatuses, path: string): string {
    if (value === undefined) return fail(path, 'is required');
    if (!table.accepted.includes(value))
      fail(
        path,
        `${table.rule ? `${table.rule}: ` : ''}${codeText(value)} is not ${table.what}; it reads ${table.accepted.join(', ')}`,
      );
    return value;
  }

  date(value: string | undefined, path: string): string {
    if (!value) return fail(path, 'is required');
    return finnishDay(value);
  }
}

/**
 * The professional among the performers: the first that is (or may be) a PractitionerRole — a
 * performer list may name the client too — with its path.
 */
function performerOf(
  r: Reader,
  performers: Reference[] | undefined,
  path: string,
): [Reference | undefined, string] {
  const list = performers ?? [];
  const i = Math.max(
    0,
    list.findIndex((p) => (r.typeOf(p) ?? 'PractitionerRole') === 'PractitionerRole'),
  );
  return [list[i], `${path}.performer[${i}]`];
}

function put<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

/**
 * With a HETU the domain keeps no birth date of its own (the HETU carries it): one that says another
 * day is an error in the record, not something to drop quietly. Neither value is quoted.
 */
function assertBirthDateFitsHetu(hetu: string, birthDate: string, path: string): void {
  const parsed = parseHetu(hetu);
  if (parsed.valid && parsed.value.birthDate !== birthDate)
    fail(path, 'is not the birth date the HETU carries (birth-date-from-hetu)');
}

/** An identifier or name still in use: not marked old, and no end to its period. */
const inUse = (x: { use?: string; period?: { end?: string } }) => x.use !== 'old' && !x.period?.end;

function readClient(p: Patient, r: Reader): Client {
  // A HETU can be replaced (a correction, a changed gender): the old one may stay, marked so.
  const ids = (p.identifier ?? []).filter(inUse);
  const hetus = new Set(ids.filter((i) => i.system === MAP.identifiers.hetu.system).map((i) => i.value));
  if (hetus.size > 1)
    fail(`${r.path}.identifier`, 'carries more than one current HETU (a replaced one has use old)');
  const [hetu] = hetus;
  const temp = ids.find(
    (i) => i.use === MAP.identifiers.temporaryUse && i.system?.startsWith('urn:oid:1.2.246.10.'),
  );
  // The name in use: official first, then any current one with a family name; never an old one.
  const current = (p.name ?? []).filter(inUse);
  const name = current.find((n) => n.use === 'official' && n.family) ?? current.find((n) => n.family);
  if (!name?.family) fail(`${r.path}.name`, 'a current name with a family name is required');
  // A string where the list belongs would be spread into its letters.
  if (name.given !== undefined && !Array.isArray(name.given))
    fail(`${r.path}.name[${p.name!.indexOf(name)}].given`, 'is not well-formed FHIR JSON: a list of strings');
  const c: Client = {
    id: r.idOf('client', p.identifier),
    name: { family: name.family, given: [...(name.given ?? [])] },
  };
  put(c, 'hetu', hetu);
  if (temp?.system && temp.value) c.temporaryId = { system: temp.system, value: temp.value };
  if (!hetu) put(c, 'birthDate', p.birthDate);
  else if (p.birthDate !== undefined) assertBirthDateFitsHetu(hetu, p.birthDate, `${r.path}.birthDate`);
  put(c, 'gender', p.gender);
  put(c, 'municipality', municipalityOf(p, r));
  if (nonDisclosureOf(p, r)) c.nonDisclosure = true;
  return c;
}

/**
 * The client's municipality: the one municipality-code extension's `valueCoding.code`, if any, of the
 * municipality code system.
 */
function municipalityOf(p: Patient, r: Reader): string | undefined {
  const isMunicipality = (e: { url: string }) => e.url === MAP.extensions.municipality;
  const second = secondIndex(p.extension, isMunicipality);
  if (second >= 0)
    fail(`${r.path}.extension[${second}]`, secondOne(extensionName(MAP.extensions.municipality)));
  const at = (p.extension ?? []).findIndex(isMunicipality);
  if (at < 0) return undefined;
  const code = p.extension![at]!.valueCoding?.code;
  if (typeof code !== 'string')
    fail(
      `${r.path}.extension[${at}].valueCoding.code`,
      `is required: the ${extensionName(MAP.extensions.municipality)} carries the municipality's code in valueCoding`,
    );
  // A code of another system (a postal code, another register) is no municipality: read as one, it
  // would be written back under the municipality system.
  if (p.extension![at]!.valueCoding?.system !== MAP.municipalitySystem)
    fail(
      `${r.path}.extension[${at}].valueCoding.system`,
      `the ${extensionName(MAP.extensions.municipality)} carries a code of ${MAP.municipalitySystem} (municipalities): a code of another system is no home municipality`,
    );
  return code;
}

/**
 * Whether the Patient carries turvakielto. Any other label of its CodeSystem is one the reader cannot
 * map (a code in another case, one FI Base may add): refused, never read as no turvakielto.
 */
function nonDisclosureOf(p: Patient, r: Reader): boolean {
  const { system, code } = MAP.nonDisclosure;
  const labels = p.meta?.security ?? [];
  const other = labels.findIndex((s) => s.system === system && s.code !== code);
  if (other >= 0)
    fail(
      `${r.path}.meta.security[${other}]`,
      `a label of ${system} the reader cannot map: it reads ${code} (turvakielto)`,
    );
  return labels.some((s) => s.system === system);
}

function readOrganization(o: Organization, r: Reader): DomainOrganization {
  // The identifiers the SDK writes for the id are the first business one and the first under the
  // local-id system (what `idOf` reads) — or, written by another sender, the local id under its own
  // system, which the business identifier derives from; any other is the organisation's own, even
  // under the local-id system.
  const ids = o.identifier ?? [];
  const businessAt = ids.findIndex((i) => i.system === MAP.identifiers.business);
  const business = ids[businessAt]?.value;
  const ours = new Set([
    businessAt,
    ids.findIndex((i) => i.system === localIdSystem('organization', r.opts)),
  ]);
  const other = ids.find((i, n) => !ours.has(n) && !derivesBusinessId(i, business));
  const out: DomainOrganization = {
    id: r.idOf('organization', o.identifier),
    name: o.name ?? fail(`${r.path}.name`, 'is required'),
  };
  if (other?.system && other.value) out.identifier = { system: other.system, value: other.value };
  const party = o.type?.map((t) => codeFrom(t, MAP.codedFields.consentParty!)).find(Boolean);
  put(out, 'party', party as DomainOrganization['party']);
  return out;
}

function readProfessional(p: PractitionerRole, r: Reader): Professional {
  const out: Professional = {
    id: r.idOf('professional', p.identifier),
    name: p.practitioner?.display ?? fail(`${r.path}.practitioner.display`, 'is required'),
    role: r.code(p.code?.[0], 'careTeamRole', `${r.path}.code[0]`) as Professional['role'],
    organizationId: r.refId('organization', p.organization, `${r.path}.organization`),
  };
  const id = p.practitioner?.identifier;
  if (id?.system && id.value) out.identifier = { system: id.system, value: id.value };
  return out;
}

function readScore(o: Observation, r: Reader): ScoreReading {
  r.status(o.status, SCORE_STATUS, `${r.path}.status`);
  return {
    id: r.idOf('score', o.identifier),
    clientId: r.refId('client', o.subject, `${r.path}.subject`),
    date: scoreDay(o.effectiveDateTime, `${r.path}.effectiveDateTime`),
    method: r.code(o.method, 'method', `${r.path}.method`) as ScoreReading['method'],
    score: o.valueInteger ?? fail(`${r.path}.valueInteger`, 'is required'),
  };
}

/** A score's day: it is compared with its assessment's, so one that is no day is refused (not quoted). */
function scoreDay(value: string | undefined, path: string): string {
  if (value === undefined) return fail(path, 'is required');
  return calendarDay(value) ?? fail(path, 'is not a date to the day');
}

/**
 * The assessment's scores (`hasMember`) into `a`: each of the assessment's client, at most one per
 * method (the domain's selfScore and professionalScore); anything else is refused at its element.
 */
function readScores(o: Observation, a: Record<string, unknown>, r: Reader): void {
  const methods = new Set<string>();
  for (const [i, member] of (o.hasMember ?? []).entries()) {
    const at = `${r.path}.hasMember[${i}]`;
    const target = r.opts.resolve?.(member);
    if (!target)
      fail(
        at,
        'the score Observation cannot be found: read the Bundle the assessment came in, or pass a resolver',
      );
    assertHeld(target, 'score', at, r.opts);
    const score = readScore(target as Observation, new Reader(r.opts, at));
    if (score.clientId !== a.clientId)
      fail(`${at}.subject`, "a score of another client than the assessment's subject");
    // An assessment date that is no day is the domain validation's to refuse, at the assessment.
    if (score.date !== a.date && calendarDay(a.date as string) !== undefined)
      fail(
        `${at}.effectiveDateTime`,
        "a score of another day than its assessment; an assessment's scores are of its day (effectiveDateTime)",
      );
    if (methods.has(score.method))
      fail(`${at}.method`, `a second ${score.method} score; an assessment holds one score per method`);
    methods.add(score.method);
    const field = (Object.entries(MAP.scoreFields).find(([, m]) => m === score.method) ?? [])[0]!;
    a[field] = score.score;
    // A score without a local id under the reader's system keeps its business identifier to go back with.
    const carried = carriedUuid(score.id);
    if (carried !== undefined) a.scoreIds = { ...(a.scoreIds as object), [field]: carried };
  }
}

function readAssessment(o: Observation, r: Reader): Assessment {
  r.status(o.status, ASSESSMENT_STATUS, `${r.path}.status`);
  const a: Record<string, unknown> = {
    id: r.idOf('assessment', o.identifier),
    clientId: r.refId('client', o.subject, `${r.path}.subject`),
    date: r.date(o.effectiveDateTime, `${r.path}.effectiveDateTime`),
    assessorId: r.refId('professional', ...performerOf(r, o.performer, r.path)),
  };
  readComponents(o, a, r);
  readScores(o, a, r);
  if (o.derivedFrom?.[0])
    a.selfAssessmentId = r.refId('selfAssessment', o.derivedFrom[0], `${r.path}.derivedFrom[0]`);
  if (o.note?.[0]?.text) a.note = o.note[0].text;
  return a as Assessment;
}

/** Whether an assessment component is the one of code `code` (work-ability-observation). */
const isComponent = (comp: NonNullable<Observation['component']>[number], code: string) =>
  comp.code.coding?.some((x) => x.code === code && x.system?.endsWith(`/${MAP.observationCodes.codeSystem}`));

/** The components the domain's assessment reads, as a refusal of another lists them. */
const COMPONENTS_TEXT = `${MAP.assessmentComponents
  .map((c) => c.code)
  .join(', ')
  .replace(/, ([^,]*)$/, ' and $1')} of ${codeSystemUrl(MAP.observationCodes.codeSystem)}`;

/**
 * The assessment's components into `a`: each repeat the profile allows once read once, the triggers
 * all; a component of any other code (the profile's slicing is open) is refused, never dropped.
 */
function readComponents(o: Observation, a: Record<string, unknown>, r: Reader): void {
  const other = (o.component ?? []).findIndex(
    (comp) => !MAP.assessmentComponents.some((c) => isComponent(comp, c.code)),
  );
  if (other >= 0)
    fail(
      `${r.path}.component[${other}]`,
      `a component the domain's assessment does not hold: it reads ${COMPONENTS_TEXT}`,
    );
  for (const c of MAP.assessmentComponents) {
    const found = (o.component ?? [])
      .map((comp, i) => ({ comp, i }))
      .filter(({ comp }) => isComponent(comp, c.code));
    const at = (i: number) => `${r.path}.component[${i}]`;
    if (c.value !== 'codes' && found.length > 1) fail(at(found[1]!.i), secondOne(`${c.code} component`));
    if (c.value === 'codes') {
      a[c.field] = found.map(
        ({ comp, i }) =>
          codeFrom(comp.valueCodeableConcept, c.codeSystem!) ??
          fail(`${at(i)}.valueCodeableConcept`, `no code from ${c.codeSystem}`),
      );
    } else if (found.length) {
      const { comp, i } = found[0]!;
      a[c.field] =
        c.value === 'boolean'
          ? (comp.valueBoolean ?? fail(`${at(i)}.valueBoolean`, 'is required'))
          : (codeFrom(comp.valueCodeableConcept, c.codeSystem!) ??
            fail(`${at(i)}.valueCodeableConcept`, `no code from ${c.codeSystem}`));
    }
  }
}

function readSelfAssessment(q: QuestionnaireResponse, r: Reader): SelfAssessment {
  r.status(q.status, SELF_ASSESSMENT_STATUS, `${r.path}.status`);
  const s: Record<string, unknown> = {
    id: r.idOf('selfAssessment', q.identifier),
    clientId: r.refId('client', q.subject, `${r.path}.subject`),
    date: r.date(q.authored, `${r.path}.authored`),
  };
  for (const [field, linkId] of Object.entries(MAP.selfAssessment.items)) {
    const i = (q.item ?? []).findIndex((it) => it.linkId === linkId);
    if (i < 0) continue;
    const again = secondIndex(q.item, (it) => it.linkId === linkId);
    if (again >= 0) fail(`${r.path}.item[${again}]`, secondOne(`${linkId} item`));
    if ((q.item![i]!.answer?.length ?? 0) > 1)
      fail(`${r.path}.item[${i}].answer[1]`, secondOne(`answer to the ${linkId} item`));
    s[field] =
      q.item![i]!.answer?.[0]?.valueInteger ??
      fail(`${r.path}.item[${i}].answer[0].valueInteger`, 'is required');
  }
  return s as SelfAssessment;
}

function readConsent(c: Consent, r: Reader): DomainConsent {
  const p = `${r.path}.provision`;
  const out: DomainConsent = {
    id: r.idOf('consent', c.identifier),
    clientId: r.refId('client', c.patient, `${r.path}.patient`),
    date: r.date(c.dateTime, `${r.path}.dateTime`),
    parties: (c.provision?.actor ?? []).map((a, i) => {
      const ext = a.extension?.find((e) => e.url === MAP.extensions.consentReceivingParty);
      return r.code(
        ext?.valueCodeableConcept,
        'consentParty',
        `${p}.actor[${i}].extension('${MAP.extensions.consentReceivingParty}')`,
      );
    }) as DomainConsent['parties'],
    dataClasses: (c.provision?.code ?? []).map((cc, i) =>
      r.code(cc, 'dataClass', `${p}.code[${i}]`),
    ) as DomainConsent['dataClasses'],
    period: { start: r.date(c.provision?.period?.start, `${p}.period.start`) },
    organizationId: r.refId('organization', c.organization?.[0], `${r.path}.organization[0]`),
  };
  put(out.period, 'end', finnishDayOf(c.provision?.period?.end));
  // What the reader does not read a resource with was checked already (assertHeld).
  const defect = consentRuleDefect(c);
  if (defect) fail(`${r.path}.${defect.element}`, defect.message);
  put(out, 'withdrawnOn', withdrawalDay(c));
  return out;
}

const PLAN_STATUS = Object.fromEntries(Object.entries(MAP.planStatus.carePlan).map(([d, f]) => [f, d]));

function readGoal(g: Goal, r: Reader): DomainGoal & { planId?: string } {
  const achieved = goalAchieved(g, r);
  const key = r.idOf('goal', g.identifier);
  const dot = key.lastIndexOf('/');
  const out: DomainGoal & { planId?: string } = {
    id: dot >= 0 ? key.slice(dot + 1) : key,
    description: g.description?.text ?? fail(`${r.path}.description.text`, 'is required'),
  };
  put(out, 'dueDate', g.target?.[0]?.dueDate);
  put(out, 'achieved', achieved);
  put(out, 'expressedBy', goalSetter(g, r));
  put(out, 'onwardPath', goalOnwardPath(g, r));
  put(out, 'priority', goalPriority(g, r));
  if (dot >= 0) out.planId = key.slice(0, dot);
  return out;
}

/**
 * Goal.expressedBy: the goal's own client (Goal.subject) or a professional. Anyone else is refused
 * (unheld.ts); read back for a view, it is left out.
 */
function goalSetter(g: Goal, r: Reader): DomainGoal['expressedBy'] {
  const by = g.expressedBy;
  if (!by) return undefined;
  if (namesOwnClient('goal', g, by, r.opts)) return 'client';
  if (r.typeOf(by) !== MAP.kinds.professional.resourceType) return undefined;
  return { professionalId: r.refId('professional', by, `${r.path}.expressedBy`) };
}

/** Goal.outcomeCode: the one onward path of the goal, from the onward-path CodeSystem. */
function goalOnwardPath(g: Goal, r: Reader): DomainGoal['onwardPath'] {
  const codes = g.outcomeCode ?? [];
  if (codes.length > 1)
    fail(`${r.path}.outcomeCode[1]`, 'a second onward path: a goal holds one (onwardPath)');
  if (!codes[0]) return undefined;
  return r.code(codes[0], 'onwardPath', `${r.path}.outcomeCode[0]`) as DomainGoal['onwardPath'];
}

const PRIORITY_OF = new Map(Object.entries(MAP.goal.priorities).map(([domain, code]) => [code, domain]));

/** Goal.priority: a code of the goal-priority CodeSystem (MAP.goal.priorities). */
function goalPriority(g: Goal, r: Reader): DomainGoal['priority'] {
  if (!g.priority) return undefined;
  const code = g.priority.coding?.find(
    (c) => c.system === MAP.goal.prioritySystem && PRIORITY_OF.has(c.code!),
  )?.code;
  if (code === undefined)
    return fail(
      `${r.path}.priority`,
      `no code from ${MAP.goal.prioritySystem} (${[...PRIORITY_OF.keys()].join(', ')})`,
    );
  return PRIORITY_OF.get(code) as DomainGoal['priority'];
}

/**
 * `achieved` of the goal state (MAP.goal.states) that the Goal's lifecycle and achievement status are;
 * any other pair (completed but not achieved, achieved but still active…) is refused, since the domain
 * would write it back as another state.
 */
function goalAchieved(g: Goal, r: Reader): boolean | undefined {
  const lifecycle = r.status(g.lifecycleStatus, GOAL_STATUS, `${r.path}.lifecycleStatus`);
  const path = `${r.path}.achievementStatus`;
  const achievement =
    g.achievementStatus === undefined
      ? undefined
      : (g.achievementStatus.coding?.find((c) => c.system === MAP.goal.achievementSystem)?.code ??
        fail(path, `${GOAL_RULE}: no code from ${MAP.goal.achievementSystem}`));
  const state = GOAL_STATES.find((s) => s.lifecycleStatus === lifecycle && s.achievement === achievement);
  if (!state)
    fail(
      path,
      `${GOAL_RULE}: ${achievement === undefined ? 'none' : codeText(achievement)} in ${/^[aeiou]/.test(lifecycle) ? 'an' : 'a'} ${lifecycle} goal is not a goal state the domain holds; it reads ${GOAL_STATES_TEXT}`,
    );
  return state.achieved;
}

/**
 * An activity's schedule: a weekly frequency is `daysPerWeek`, bounds are a `period` or a duration
 * in months. Any other frequency or duration unit, and a `frequencyMax`, have no domain field: refused
 * rather than misread. Rehabilitative work activity names at most four days of the week (tyk-rwa-1)
 * and runs between dates to the day (tyk-rwa-2), as the profile says.
 */
function readSchedule(a: Activity, repeat: TimingRepeat | undefined, path: string): void {
  if (!repeat) return;
  if (repeat.frequencyMax !== undefined)
    fail(`${path}.frequencyMax`, 'a range of days a week has no domain field (daysPerWeek is one number)');
  if (repeat.frequency !== undefined) {
    if (repeat.period !== MAP.timing.period || repeat.periodUnit !== MAP.timing.periodUnit)
      fail(
        path,
        `only a weekly frequency (period ${MAP.timing.period}, periodUnit '${MAP.timing.periodUnit}') maps to daysPerWeek`,
      );
    a.daysPerWeek = repeat.frequency;
  }
  const rehabilitativeWork = a.service === 'rehabilitative-work-activity';
  if (rehabilitativeWork && (repeat.dayOfWeek?.length ?? 0) > RWA_DAYS_PER_WEEK.max)
    fail(
      `${path}.dayOfWeek`,
      `tyk-rwa-1: rehabilitative work activity is ${RWA_DAYS_PER_WEEK.min}–${RWA_DAYS_PER_WEEK.max} days a week`,
    );
  if (repeat.boundsPeriod?.start) {
    const { start, end } = repeat.boundsPeriod;
    if (
      rehabilitativeWork &&
      (!RWA_BOUND_DATE.test(start) || (end !== undefined && !RWA_BOUND_DATE.test(end)))
    )
      fail(
        `${path}.boundsPeriod`,
        'tyk-rwa-2: rehabilitative work activity runs between dates to the day (YYYY-MM-DD)',
      );
    a.period = { start: finnishDay(start) };
    put(a.period, 'end', finnishDayOf(end));
  }
  const duration = repeat.boundsDuration;
  if (duration) {
    if (
      duration.code !== MAP.months.code ||
      duration.system !== MAP.months.system ||
      !Number.isInteger(duration.value)
    )
      fail(
        `${path}.boundsDuration`,
        `only a whole number of months (${MAP.months.system}#${MAP.months.code}) maps to durationMonths`,
      );
    a.durationMonths = duration.value;
  }
}

/**
 * The plan's one plan-category code: tyk-cpl-1 counts the plan-category codings of all categories, and
 * the reader counts them the same way rather than read the first of several.
 */
function planCategory(c: CarePlan, r: Reader): SupportPlan['category'] {
  const system = codeSystemUrl(MAP.codedFields.planCategory!);
  const holding = (c.category ?? []).filter((cc) => cc?.coding?.some((x) => x?.system === system));
  const count = holding.reduce((n, cc) => n + cc.coding!.filter((x) => x?.system === system).length, 0);
  if (count !== 1)
    fail(
      `${r.path}.category`,
      `tyk-cpl-1: a support plan carries exactly one plan-category coding, found ${count}`,
    );
  return r.code(holding[0], 'planCategory', `${r.path}.category`) as SupportPlan['category'];
}

/** The plan's Goals, each of the plan's client (`clientId`). */
function readPlanGoals(c: CarePlan, clientId: string, r: Reader): SupportPlan['goals'] {
  return (c.goal ?? []).map((g, i) => {
    const at = `${r.path}.goal[${i}]`;
    const target = r.opts.resolve?.(g);
    if (!target)
      return fail(at, 'the Goal cannot be found: read the Bundle the plan came in, or pass a resolver');
    assertHeld(target, 'goal', at, r.opts);
    const { planId: _, ...goal } = readGoal(target as Goal, new Reader(r.opts, at));
    r.sameClient(
      (target as Goal).subject,
      clientId,
      `${at}.subject`,
      "a goal of another client than the plan's subject",
    );
    return goal;
  });
}

/**
 * The assessment the plan rests on, among `supportingInfo`. The profile allows the plan's Consent there
 * too; the domain's plan holds no consent (a referral carries its own), so a Consent is passed over. The
 * domain holds one assessment (`assessmentId`): a second is refused.
 */
function planAssessment(c: CarePlan, r: Reader): string | undefined {
  let assessmentId: string | undefined;
  (c.supportingInfo ?? []).forEach((ref, i) => {
    if (r.typeOf(ref) === MAP.kinds.consent.resourceType) return;
    const at = `${r.path}.supportingInfo[${i}]`;
    if (assessmentId !== undefined)
      fail(at, 'a second assessment; a support plan rests on one (assessmentId)');
    assessmentId = r.refId('assessment', ref, at);
  });
  return assessmentId;
}

function readPlan(c: CarePlan, r: Reader): SupportPlan {
  const status = ((Object.hasOwn(PLAN_STATUS, c.status) ? PLAN_STATUS[c.status] : undefined) ??
    fail(`${r.path}.status`, `'${codeText(c.status)}' has no domain plan status`)) as SupportPlan['status'];
  r.fixed(c.intent, MAP.plan.intent, `${r.path}.intent`);
  const clientId = r.refId('client', c.subject, `${r.path}.subject`);
  const out: SupportPlan = {
    id: r.idOf('plan', c.identifier),
    clientId,
    category: planCategory(c, r),
    status,
    created: r.date(c.created, `${r.path}.created`),
    period: { start: r.date(c.period?.start, `${r.path}.period.start`) },
    authorId: r.refId('professional', c.author, `${r.path}.author`),
    goals: readPlanGoals(c, clientId, r),
    activities: [],
  };
  // An activity given only as a reference is a referral (referralIds), else refused (unheld.ts); read
  // back for a view, the latter is left out. The detail activities keep their indices in refusals.
  const held = (c.activity ?? []).flatMap((act, i) => (act.detail || !act.reference ? [i] : []));
  out.activities = held.map((i) => readActivity(c.activity![i]!, status, r, `${r.path}.activity[${i}]`));
  const [together] = checkPlanActivities(out.activities);
  if (together) fail(`${r.path}.activity[${held[together.index]}]`, `${together.rule}: ${together.reason}`);
  put(out.period, 'end', finnishDayOf(c.period?.end));
  put(out, 'title', c.title);
  const isFollowUp = (e: { url: string }) => e.url === MAP.extensions.followUpDate;
  const second = secondIndex(c.extension, isFollowUp);
  if (second >= 0)
    fail(`${r.path}.extension[${second}]`, secondOne(extensionName(MAP.extensions.followUpDate)));
  const followUp = c.extension?.find(isFollowUp)?.valueDate;
  put(out, 'followUpDate', followUp);
  put(out, 'assessmentId', planAssessment(c, r));
  if (c.careTeam?.[0]) out.teamId = r.refId('team', c.careTeam[0], `${r.path}.careTeam[0]`);
  const referralIds = planReferrals(c, r);
  if (referralIds.length) out.referralIds = referralIds;
  return out;
}

/** The referrals among the plan's activities given as references (any other is unheld.ts's). */
function planReferrals(c: CarePlan, r: Reader): string[] {
  const expected = MAP.kinds.referral.resourceType;
  return (c.activity ?? []).flatMap((act, i) =>
    !act.detail && act.reference && r.typeOf(act.reference) === expected
      ? [r.refId('referral', act.reference, `${r.path}.activity[${i}].reference`)]
      : [],
  );
}

/** One activity of a plan in `planStatus` (`path` names it). */
function readActivity(
  act: NonNullable<CarePlan['activity']>[number],
  planStatus: string,
  r: Reader,
  path: string,
): Activity {
  const d = act.detail;
  r.status(d?.status, activityStatuses(planStatus), `${path}.detail.status`);
  const a: Activity = { service: r.code(d?.code, 'service', `${path}.detail.code`) as Activity['service'] };
  put(a, 'description', d?.description);
  readSchedule(a, d?.scheduledTiming?.repeat, `${path}.detail.scheduledTiming.repeat`);
  if (d?.performer?.length)
    a.performerId = r.refId('professional', ...performerOf(r, d.performer, `${path}.detail`));
  const onward = act.outcomeCodeableConcept?.[0];
  if (onward)
    a.onwardPath = r.code(
      onward,
      'onwardPath',
      `${path}.outcomeCodeableConcept[0]`,
    ) as Activity['onwardPath'];
  return a;
}

function readReferral(s: ServiceRequest, r: Reader): Referral {
  r.status(s.status, REFERRAL_STATUS, `${r.path}.status`);
  r.fixed(s.intent, MAP.referral.intent, `${r.path}.intent`);
  // tyk-ref-1's test: a reference typed Consent or a literal Consent/<id> (the profile reads no Bundle).
  const consentIndex = (s.supportingInfo ?? []).findIndex(
    (x) => x.type === 'Consent' || /(^|\/)Consent\//.test(x.reference ?? ''),
  );
  if (consentIndex < 0)
    fail(
      `${r.path}.supportingInfo`,
      "tyk-ref-1: no supportingInfo references a Consent (type 'Consent', or a Consent/<id> reference); a urn:uuid reference names its type",
    );
  const out: Referral = {
    id: r.idOf('referral', s.identifier),
    clientId: r.refId('client', s.subject, `${r.path}.subject`),
    service: r.code(s.code, 'service', `${r.path}.code`) as Referral['service'],
    requesterId: r.refId('professional', s.requester, `${r.path}.requester`),
    date: r.date(s.authoredOn, `${r.path}.authoredOn`),
    reasons: (s.reasonCode ?? []).map((cc, i) =>
      r.code(cc, 'trigger', `${r.path}.reasonCode[${i}]`),
    ) as Referral['reasons'],
    consentId: r.refId('consent', s.supportingInfo?.[consentIndex], `${r.path}.supportingInfo`),
  };
  put(out, 'note', s.note?.[0]?.text);
  return out;
}

function readTeam(t: CareTeam, r: Reader): ResponsibleWorkerTeam {
  const status = r.status(t.status ?? MAP.team.status, TEAM_STATUS, `${r.path}.status`);
  const out: ResponsibleWorkerTeam = {
    id: r.idOf('team', t.identifier),
    clientId: r.refId('client', t.subject, `${r.path}.subject`),
    members: (t.participant ?? []).map((m, i) => {
      const p = `${r.path}.participant[${i}]`;
      if ((m.role?.length ?? 0) > 1) fail(`${p}.role[1]`, secondOne('role'));
      const member = {
        professionalId: teamMember(m.member, r, `${p}.member`),
        role: r.code(
          m.role?.[0],
          'careTeamRole',
          `${p}.role[0]`,
        ) as ResponsibleWorkerTeam['members'][number]['role'],
        period: { start: r.date(m.period?.start, `${p}.period.start`) } as { start: string; end?: string },
      };
      put(member.period, 'end', finnishDayOf(m.period?.end));
      return member;
    }),
  };
  put(out, 'name', t.name);
  if (TEAM_ENDED[status]) out.ended = endedDay(t, r);
  return out;
}

/**
 * The professional a team member is. The profile also allows an Organization or the Patient as a
 * member; the domain's team members are professionals, so those are refused (docs/sdk.md) rather than
 * dropped or misread.
 */
function teamMember(member: Reference | undefined, r: Reader, path: string): string {
  const type = member && r.typeOf(member);
  if (type === MAP.kinds.organization.resourceType || type === MAP.kinds.client.resourceType)
    fail(
      path,
      `a team member that is ${withArticle(type)} has no place in the domain, whose team members are professionals (PractitionerRole); see docs/sdk.md`,
    );
  return r.refId('professional', member, path);
}

/** An inactive team ended on its period's end, which it carries (tyk-ctm-2). */
function endedDay(t: CareTeam, r: Reader): string {
  if (!t.period?.end) fail(`${r.path}.period.end`, 'tyk-ctm-2: an inactive team carries the day it ended');
  return r.date(t.period.end, `${r.path}.period.end`);
}

/**
 * Refuses `resource` (of `kind`, at `path`) when it carries a modifier the reader does not understand
 * or an element the domain cannot hold (unheld.ts, the one table of them); read back (`opts.unheld`),
 * tells `opts.unheld` of each instead.
 */
function assertHeld(resource: Resource, kind: FhirKind, path: string, opts: FromFhirOptions): void {
  const { unheld } = opts;
  if (!unheld) {
    const found = unheldElement(kind, resource, opts);
    if (found) fail(`${path}.${found.element}`, found.message);
    return;
  }
  for (const found of unheldElements(kind, resource, opts)) {
    const expression = `${path}.${found.element}`;
    unheld({ expression, diagnostics: `${expression}: ${found.readBack}` });
  }
}

function readResource(resource: Resource, kind: FhirKind, r: Reader): DomainObject {
  // A consent's performer is judged against its client (unheld.ts): a client it cannot tell is named first.
  if (kind === 'consent') r.refId('client', (resource as Consent).patient, `${r.path}.patient`);
  assertHeld(resource, kind, r.path, r.opts);
  switch (kind) {
    case 'client':
      return { kind, value: readClient(resource as Patient, r) };
    case 'organization':
      return { kind, value: readOrganization(resource as Organization, r) };
    case 'professional':
      return { kind, value: readProfessional(resource as PractitionerRole, r) };
    case 'score':
      return { kind, value: readScore(resource as Observation, r) };
    case 'assessment':
      return { kind, value: readAssessment(resource as Observation, r) };
    case 'selfAssessment':
      return { kind, value: readSelfAssessment(resource as QuestionnaireResponse, r) };
    case 'consent':
      return { kind, value: readConsent(resource as Consent, r) };
    case 'goal':
      return { kind, value: readGoal(resource as Goal, r) };
    case 'plan':
      return { kind, value: readPlan(resource as CarePlan, r) };
    case 'referral':
      return { kind, value: readReferral(resource as ServiceRequest, r) };
    case 'team':
      return { kind, value: readTeam(resource as CareTeam, r) };
  }
}

const RECORD_LIST: Partial<Record<FhirKind, keyof WorkAbilityRecord>> = {
  organization: 'organizations',
  professional: 'professionals',
  selfAssessment: 'selfAssessments',
  assessment: 'assessments',
  consent: 'consents',
  plan: 'plans',
  referral: 'referrals',
  team: 'teams',
};

/** What a Bundle is read as: a client's record, the one object it holds, or whichever it is. */
type BundleAs = 'record' | 'object' | 'either';

/** Where a Bundle of one object without its client is read (a refusal of one as a record says so). */
const OBJECT_ENTRY =
  'a Bundle of one object without its client (workAbility.<kind>().toBundle(), tyokyky map --to-fhir {kind, value}) is read with fromFhirObject';

/**
 * A Bundle with its client (a Patient) as the client's record (`record`; with `either`); a Bundle of one
 * object (with its Goals or scores: what `workAbility.<kind>().toBundle()` writes) as that object
 * (`object`, a client alone too; with `either`, one without its client).
 */
function readBundle(bundle: Bundle, opts: FromFhirOptions, as: BundleAs): WorkAbilityRecord | DomainObject {
  const entries = bundle.entry ?? [];
  const byUrl = new Map<string, Resource>();
  for (const e of entries) {
    if (e.fullUrl && e.resource) byUrl.set(e.fullUrl, e.resource);
    if (e.resource?.id) byUrl.set(`${e.resource.resourceType}/${e.resource.id}`, e.resource);
  }
  const resolve = (ref: Reference) =>
    (ref.reference ? byUrl.get(ref.reference) : undefined) ?? opts.resolve?.(ref);
  const readerOpts = { ...opts, resolve };
  let client: Client | undefined;
  const lists: Partial<Record<keyof WorkAbilityRecord, unknown[]>> = {};
  const consumedScores = new Set<Resource>();
  const consumedGoals = new Set<Resource>();
  const loose: { kind: FhirKind; path: string; resource: Resource }[] = [];
  const objects: DomainObject[] = [];
  entries.forEach((e, i) => {
    const path = `Bundle.entry[${i}].resource`;
    if (!e.resource) fail(path, 'is required');
    const kind = kindOf(e.resource, path);
    if (kind === 'score' || kind === 'goal') {
      loose.push({ kind, path, resource: e.resource });
      return;
    }
    const r = new Reader(readerOpts, path);
    const object = wellFormed(path, e.resource.resourceType, () => readResource(e.resource!, kind, r));
    const { value } = object;
    objects.push(object);
    if (kind === 'client') {
      if (client) fail(path, 'a Bundle carries one client (Patient); found a second');
      client = value as Client;
      return;
    }
    if (kind === 'assessment')
      for (const m of (e.resource as Observation).hasMember ?? []) consumedScores.add(resolve(m)!);
    if (kind === 'plan') for (const g of (e.resource as CarePlan).goal ?? []) consumedGoals.add(resolve(g)!);
    const list = RECORD_LIST[kind]!;
    const items = lists[list] ?? [];
    items.push(value);
    lists[list] = items;
  });
  for (const l of loose) {
    if (!(l.kind === 'score' ? consumedScores : consumedGoals).has(l.resource)) {
      fail(
        l.path,
        l.kind === 'score'
          ? 'a Work Ability Score must be a hasMember of an assessment Observation in the Bundle'
          : 'a Goal must be referenced by a support plan (CarePlan.goal) in the Bundle',
      );
    }
  }
  if (as === 'object') {
    if (objects.length === 1) return objects[0]!;
    return fail(
      'Bundle.entry',
      client
        ? 'a client with its objects is a record: fromFhir reads it'
        : `holds ${objects.length} objects: fromFhirObject reads a Bundle of one object (with its Goals or scores)`,
    );
  }
  if (client) return { client, ...lists } as WorkAbilityRecord;
  if (as === 'either' && objects.length === 1) return objects[0]!;
  return fail(
    'Bundle.entry',
    as === 'record'
      ? `no client (Patient with the tyokyky-patient profile): ${OBJECT_ENTRY}`
      : `no client (Patient with the tyokyky-patient profile)${objects.length ? ', and more than one object: a Bundle is a record (with its client) or one object (with its Goals or scores)' : ''}`,
  );
}

function checked<T>(issues: ReturnType<typeof domainIssues>, value: T): T {
  if (issues.length) throw new DomainValidationError(issues);
  return value;
}

/**
 * FHIR → domain. A Bundle gives the client's WorkAbilityRecord (a Bundle without its client, a Patient,
 * is refused: `fromFhirObject` reads a Bundle of one object); a single resource gives `{ kind, value }`
 * (a plan needs its Goals and an assessment its scores: pass the Bundle or `resolve`).
 * Throws FhirError (422) naming the element for resources that are not ours or lack what the domain needs,
 * and naming the resource (or Bundle entry) for JSON that is not well-formed FHIR where it is read.
 */
export function fromFhir(input: Bundle, opts?: FromFhirOptions): WorkAbilityRecord;
export function fromFhir(input: Resource, opts?: FromFhirOptions): DomainObject;
export function fromFhir(input: Resource, opts: FromFhirOptions = {}): WorkAbilityRecord | DomainObject {
  return readFhir(input, opts, 'record');
}

/**
 * FHIR → domain for a Bundle of one object: what `workAbility.<kind>().toBundle()` and `tyokyky map
 * --to-fhir {kind, value}` write (the object with its Goals or scores, its other references
 * conditional), read back as `{ kind, value }`; a client alone too. A Bundle with a client and its
 * objects is a record, which `fromFhir` reads: refused here. Throws as `fromFhir` does.
 */
export function fromFhirObject<K extends DomainKind>(
  bundle: ObjectBundle<K>,
  opts?: FromFhirOptions,
): Extract<DomainObject, { kind: K }>;
export function fromFhirObject(bundle: Bundle, opts?: FromFhirOptions): DomainObject;
export function fromFhirObject(bundle: Bundle, opts: FromFhirOptions = {}): DomainObject {
  if ((bundle as Resource | undefined)?.resourceType !== 'Bundle' && isResource(bundle))
    return fail('resourceType', 'is not a Bundle: fromFhir reads a single resource');
  return readFhir(bundle, opts, 'object') as DomainObject;
}

/**
 * What the SDK writes, whatever it is (`tyokyky map --from-fhir` reads with it): a Bundle with its client as a record (`fromFhir`), a Bundle of
 * one object as that object (`fromFhirObject`), a single resource as `fromFhir` reads it.
 */
export function fromFhirAny(input: Resource, opts: FromFhirOptions = {}): WorkAbilityRecord | DomainObject {
  return readFhir(input, opts, 'either');
}

function isResource(input: unknown): input is Resource {
  return !!input && typeof input === 'object' && typeof (input as Resource).resourceType === 'string';
}

function readFhir(input: Resource, opts: FromFhirOptions, as: BundleAs): WorkAbilityRecord | DomainObject {
  // The local-id systems are made of the base as toFhir makes them: a base it refuses, this refuses.
  if (opts.localIdSystemBase !== undefined)
    checkMappingOptions({ localIdSystemBase: opts.localIdSystemBase });
  if (!isResource(input)) return fail('resourceType', 'input is not a FHIR resource');
  const type = input.resourceType;
  if (type === 'Bundle') {
    const read = wellFormed(type, type, () => readBundle(input as Bundle, opts, as));
    if ('kind' in read) return validated(read, opts);
    return opts.validate === false ? read : checked(recordIssues(read), read);
  }
  const kind = kindOf(input);
  return validated(
    wellFormed(type, type, () => readResource(input, kind, new Reader(opts, type))),
    opts,
  );
}

/** `result`, validated as domain input unless `validate: false` (a score or Goal read alone is not). */
function validated(result: DomainObject, opts: FromFhirOptions): DomainObject {
  if (opts.validate === false || result.kind === 'score' || result.kind === 'goal') return result;
  return checked(domainIssues(result.kind, result.value), result);
}
