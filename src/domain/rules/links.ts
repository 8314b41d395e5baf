/**
 * Links between domain objects: the fields of each kind that name another object by its local id.
 * One table for the record's `reference` rule (every link resolves inside the record, to the record's
 * client), the same rule for an object sent alone given the objects it names (`RelatedObjects`), and
 * the domain API's reading of those objects from its store.
 */
import type {
  Assessment,
  Consent,
  DomainKind,
  DomainTypes,
  Organization,
  Professional,
  Referral,
  ResponsibleWorkerTeam,
  SelfAssessment,
} from '../types.ts';

/**
 * Objects outside the one validated or mapped, by their local ids: what its rules read (a referral's
 * consent and requester; the client of a consent, assessment, self-assessment or team it names) and
 * what its mapping names (a consent's receiving organisations by party, a team's professionals by
 * name, as a record's own would). A record supplies its own; an object sent alone gets them from its
 * caller (the SDK option `related`, the domain API from its store). A rule whose object is not among
 * them is not applied: the receiving server still resolves the reference itself.
 */
export interface RelatedObjects {
  /**
   * Consents: what the consent rule reads of each (id, period, withdrawal; the day it was given,
   * `date`, which it is not in force before) and, when known, whose it is.
   */
  consents?: readonly (Pick<Consent, 'id' | 'period' | 'withdrawnOn'> &
    Partial<Pick<Consent, 'date'>> & { clientId?: string })[];
  /** Professionals: the role the requester rule reads; the name a team's narrative shows. */
  professionals?: readonly (Pick<Professional, 'id'> & Partial<Pick<Professional, 'role' | 'name'>>)[];
  /** Organisations: the consent party each acts as (a consent's actor names the first of each party). */
  organizations?: readonly (Pick<Organization, 'id'> & Partial<Pick<Organization, 'party'>>)[];
  /** Assessments, self-assessments and teams: whose each is. */
  assessments?: readonly Pick<Assessment, 'id' | 'clientId'>[];
  selfAssessments?: readonly Pick<SelfAssessment, 'id' | 'clientId'>[];
  teams?: readonly Pick<ResponsibleWorkerTeam, 'id' | 'clientId'>[];
  /** Referrals (a plan's `referralIds`): whose each is. */
  referrals?: readonly Pick<Referral, 'id' | 'clientId'>[];
}

const RELATED_LISTS = [
  'consents',
  'professionals',
  'organizations',
  'assessments',
  'selfAssessments',
  'teams',
  'referrals',
] as const;

/**
 * A TypeError for a JavaScript caller whose `related` is not lists (nothing could be read from it, and
 * a rule silently skipped would accept what it refuses).
 */
export function checkRelatedObjects(related: RelatedObjects): void {
  for (const key of RELATED_LISTS)
    if (related[key] !== undefined && !Array.isArray(related[key]))
      throw new TypeError(`related.${key} must be a list of domain objects, got ${typeof related[key]}`);
}

/**
 * A link field: its path (`[]` marks each item of a list, a `.` after it a field inside the item; at
 * the end, the item itself) and the kind of object it names.
 */
type LinkField = readonly [path: string, target: DomainKind];

/** Each kind's link fields, in the order the record's `reference` rule reports them. */
export const LINK_FIELDS: { readonly [K in DomainKind]: readonly LinkField[] } = {
  client: [],
  organization: [],
  professional: [['organizationId', 'organization']],
  selfAssessment: [['clientId', 'client']],
  assessment: [
    ['clientId', 'client'],
    ['assessorId', 'professional'],
    ['selfAssessmentId', 'selfAssessment'],
  ],
  consent: [
    ['clientId', 'client'],
    ['organizationId', 'organization'],
  ],
  plan: [
    ['clientId', 'client'],
    ['authorId', 'professional'],
    ['assessmentId', 'assessment'],
    ['teamId', 'team'],
    ['activities[].performerId', 'professional'],
    ['goals[].expressedBy.professionalId', 'professional'],
    ['referralIds[]', 'referral'],
  ],
  referral: [
    ['clientId', 'client'],
    ['requesterId', 'professional'],
    ['consentId', 'consent'],
  ],
  team: [
    ['clientId', 'client'],
    ['members[].professionalId', 'professional'],
  ],
};

/** One link of an object: the field (relative to the object), the kind it names and the id. */
export interface Link {
  field: string;
  target: DomainKind;
  id: string;
}

/** The links `value` (a valid object of `kind`) makes, field by field. */
export function linksOf<K extends DomainKind>(kind: K, value: DomainTypes[K]): Link[] {
  const out: Link[] = [];
  const obj = value as unknown as Record<string, unknown>;
  for (const [path, target] of LINK_FIELDS[kind]) {
    if (path.endsWith('[]')) {
      const list = path.slice(0, -2);
      ((obj[list] ?? []) as unknown[]).forEach((id, i) => {
        if (typeof id === 'string') out.push({ field: `${list}[${i}]`, target, id });
      });
      continue;
    }
    const [list, field] = path.split('[].') as [string, string | undefined];
    if (field === undefined) {
      const id = obj[list];
      if (typeof id === 'string') out.push({ field: list, target, id });
      continue;
    }
    ((obj[list] ?? []) as Record<string, unknown>[]).forEach((item, i) => {
      const id = field
        .split('.')
        .reduce<unknown>((at, name) => (at as Record<string, unknown>)?.[name], item);
      if (typeof id === 'string') out.push({ field: `${list}[${i}].${field}`, target, id });
    });
  }
  return out;
}

/** The kinds that belong to one client, and the list of `RelatedObjects` (and of a record) holding them. */
export const CLIENT_OWNED: Partial<
  Record<DomainKind, 'consents' | 'assessments' | 'selfAssessments' | 'teams' | 'referrals'>
> = {
  consent: 'consents',
  assessment: 'assessments',
  selfAssessment: 'selfAssessments',
  team: 'teams',
  referral: 'referrals',
};

/** A link refused: the field at fault (relative to the object), the rule and why (ids only). */
export interface LinkViolation {
  field: string;
  rule: 'reference';
  reason: string;
}

/**
 * `reference` for an object sent alone: what it names of its client's (a consent, assessment,
 * self-assessment or team) must be that client's, as in a record, where each names the record's own.
 * Applied to each named object `related` gives with its client; no client's id is quoted.
 */
export function checkLinkedClients<K extends DomainKind>(
  kind: K,
  value: DomainTypes[K],
  related: RelatedObjects,
): LinkViolation[] {
  const clientId = (value as { clientId?: string }).clientId;
  if (clientId === undefined) return [];
  return linksOf(kind, value).flatMap(({ field, target, id }) => {
    const list = CLIENT_OWNED[target];
    const named = list && related[list]?.find((o) => o.id === id);
    if (named?.clientId === undefined || named.clientId === clientId) return [];
    return [
      {
        field,
        rule: 'reference' as const,
        reason: `'${id}' is not among the client's ${list}: it is another client's`,
      },
    ];
  });
}
