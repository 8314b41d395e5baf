/**
 * JSON Schemas of the domain model, written with TypeBox so that each schema and its TypeScript type
 * come from one declaration (`Static<typeof Schema>` in types.ts). ajv compiles the same objects for
 * runtime validation (validate.ts). A schema that states part of a business rule (a HETU's shape, the
 * Work Ability Score's range) takes it from the rule's home and carries the rule's id as `rule`, so
 * its failures name the rule.
 */
import { type TSchema, Type } from '@sinclair/typebox';
import { LOWER_CASE_UUID } from '../shared/references.ts';
import {
  CARE_TEAM_ROLES,
  CLIENT_SITUATIONS,
  CONSENT_DATA_CLASSES,
  CONSENT_PARTIES,
  GOAL_PRIORITIES,
  ONWARD_PATHS,
  PHASES,
  PLAN_CATEGORIES,
  RESPONSIBLE_WORKER_KINDS,
  TRIGGERS,
  WORK_ABILITY_SERVICES,
} from './codes.ts';
import { HETU_SHAPE_SOURCE, HETU_SHAPE_TEXT } from './rules/hetu.ts';
import { WORK_ABILITY_SCORE_RANGE } from './rules/work-ability-score.ts';

function code<T extends readonly string[]>(list: T, description: string) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...list], description });
}

/** A local key in the vendor's system, unique per kind of record (FHIR id syntax). */
const LocalId = Type.String({
  pattern: '^[A-Za-z0-9\\-.]{1,64}$',
  description: 'local id in the source system',
});
/**
 * Free text: no leading or trailing white space, and nothing a FHIR string or the narrative's XHTML
 * cannot carry (C0 controls other than tab, line feed and carriage return, DEL, a lone surrogate, and
 * U+FFFE and U+FFFF, which are no XML 1.0 Char: the narrative would fail txt-1 instead of the field
 * being named). ajv compiles patterns with the `u` flag, so a surrogate pair is one character here.
 */
const Text = Type.String({
  minLength: 1,
  maxLength: 10000,
  pattern:
    '^(?![\\s\\S]*[\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F\\uD800-\\uDFFF\\uFFFE\\uFFFF])\\S([\\s\\S]*\\S)?$',
  patternText:
    'text without leading or trailing white space, control characters (other than tab and line breaks), lone surrogates or the noncharacters U+FFFE and U+FFFF',
});
/**
 * A UUID as `urn:uuid:` carries it: lowercase hexadecimal, no prefix (the format `uuid` would also
 * take upper case and a `urn:uuid:` prefix, which the mapping would change on the way).
 */
const Uuid = Type.String({ pattern: `^${LOWER_CASE_UUID}$` });
/**
 * A date to the day as FHIR writes it: a real calendar day (`format: 'date'`) whose year is 0001–9999
 * (FHIR's date pattern: there is no year 0000, which the format alone would take and FHIR refuse).
 */
const DateOnly = Type.String({
  format: 'date',
  pattern: '^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])$',
  patternText: 'a date YYYY-MM-DD with a year from 0001 to 9999',
  description: 'ISO date YYYY-MM-DD',
});
/** A Work Ability Score: the range is the rule's (`tyk-was-1`), and a schema failure here names it. */
const Score = Type.Integer({
  minimum: WORK_ABILITY_SCORE_RANGE.min,
  maximum: WORK_ABILITY_SCORE_RANGE.max,
  rule: 'tyk-was-1',
});
const Identifier = Type.Object(
  { system: Type.String({ pattern: '^(urn:oid:[0-2](\\.\\d+)+|https?://\\S+)$' }), value: Text },
  { additionalProperties: false },
);
const Period = Type.Object(
  { start: DateOnly, end: Type.Optional(DateOnly) },
  { additionalProperties: false },
);

const strict = { additionalProperties: false } as const;

export const HumanNameSchema = Type.Object(
  { family: Text, given: Type.Array(Text, { maxItems: 5 }) },
  strict,
);

/** *Asiakas* — the client. Identified by a HETU (*henkilötunnus*) or a temporary id (*väliaikainen tunniste*). */
export const ClientSchema = Type.Object(
  {
    id: LocalId,
    /** *Henkilötunnus*, e.g. `010181-900C`. */
    hetu: Type.Optional(
      Type.String({ pattern: `^${HETU_SHAPE_SOURCE}$`, patternText: HETU_SHAPE_TEXT, rule: 'tyk-hetu-1' }),
    ),
    /** *Väliaikainen tunniste* under the issuing organisation's OID (`urn:oid:1.2.246.10.…`). */
    temporaryId: Type.Optional(
      Type.Object(
        { system: Type.String({ pattern: '^urn:oid:1\\.2\\.246\\.10(\\.\\d+)+$' }), value: Text },
        strict,
      ),
    ),
    name: HumanNameSchema,
    /** *Syntymäaika*; only when no HETU carries it. */
    birthDate: Type.Optional(DateOnly),
    gender: Type.Optional(code(['female', 'male', 'other', 'unknown'] as const, 'administrative gender')),
    /** *Kotikunta*, the three-digit municipality code (e.g. `091` Helsinki). */
    municipality: Type.Optional(Type.String({ pattern: '^\\d{3}$' })),
    /** *Turvakielto* — non-disclosure of personal details. */
    nonDisclosure: Type.Optional(Type.Boolean()),
  },
  strict,
);

/** *Organisaatio / toimija* — an organisation or party in the network. */
export const OrganizationSchema = Type.Object(
  {
    id: LocalId,
    name: Text,
    /** e.g. the organisation's OID or *Y-tunnus* identifier. */
    identifier: Type.Optional(Identifier),
    /** The consent party this organisation acts as (*tietojen vastaanottaja*). */
    party: Type.Optional(code(CONSENT_PARTIES, 'consent party')),
  },
  strict,
);

/** *Ammattilainen ja rooli* — a professional in one role. */
export const ProfessionalSchema = Type.Object(
  {
    id: LocalId,
    name: Text,
    role: code(CARE_TEAM_ROLES, 'care-team role'),
    /** The organisation the professional works for in this role. */
    organizationId: LocalId,
    identifier: Type.Optional(Identifier),
  },
  strict,
);

/** *Työkyvyn arvio* — the professional's joint assessment with the client (HOI view). */
export const AssessmentSchema = Type.Object(
  {
    id: LocalId,
    clientId: LocalId,
    date: DateOnly,
    /** The professional who made the assessment (*arvioija*). */
    assessorId: LocalId,
    /** *Työkykypistemäärä* as the client gave it (self-reported). */
    selfScore: Type.Optional(Score),
    /** *Työkykypistemäärä* as the professional assessed it. */
    professionalScore: Type.Optional(Score),
    /** *Vaihe*. */
    phase: code(PHASES, 'phase'),
    /** *Asiakkaan tilanne*. */
    situation: code(CLIENT_SITUATIONS, 'client situation'),
    /** *Herätteet* observed. */
    triggers: Type.Array(code(TRIGGERS, 'trigger'), { uniqueItems: true }),
    /** *Kuntoutustarve*. */
    rehabilitationNeed: Type.Boolean(),
    /** Mismatch between the client's own and the medical assessment (*ristiriita arvioissa*). */
    mismatch: Type.Optional(Type.Boolean()),
    /** The Kykyviisari self-assessment this assessment used. */
    selfAssessmentId: Type.Optional(Uuid),
    note: Type.Optional(Text),
    /**
     * The business identifiers (`urn:uuid:<this>`) of score Observations that came from elsewhere: the
     * SDK's `fromFhir` sets one for a score it reads without a local id under the reader's system
     * (another sender's), and `toFhir` sends it back as that score's identifier instead of deriving a
     * new one, so the score is updated rather than duplicated. Leave them out for your own scores.
     */
    scoreIds: Type.Optional(
      Type.Object({ selfScore: Type.Optional(Uuid), professionalScore: Type.Optional(Uuid) }, strict),
    ),
  },
  strict,
);

/** *Kykyviisari* self-assessment answers (0–10 each). */
export const SelfAssessmentSchema = Type.Object(
  {
    /**
     * A UUID: a QuestionnaireResponse carries a single identifier, so the id is used as the business
     * identifier itself (responses filled in Omakanta arrive with one).
     */
    id: Uuid,
    clientId: LocalId,
    date: DateOnly,
    /** *Työkyky* — overall work ability. */
    overall: Score,
    /** *Mielen hyvinvointi*. */
    mentalWellbeing: Type.Optional(Score),
    /** *Osallisuus*. */
    socialParticipation: Type.Optional(Score),
    /** *Fyysinen toimintakyky*. */
    physicalFunctioning: Type.Optional(Score),
    /** *Osaaminen*. */
    competence: Type.Optional(Score),
    /** *Arjen sujuminen*. */
    everydayLife: Type.Optional(Score),
  },
  strict,
);

/** *Suostumus* (Kela Y100 style) — consent to disclose data classes to named parties. */
export const ConsentSchema = Type.Object(
  {
    id: LocalId,
    clientId: LocalId,
    /**
     * The day the consent was given and recorded (*annettu, kirjattu*): not after today
     * (`consent-given`), and the consent discloses nothing before it, whatever its period says.
     */
    date: DateOnly,
    /** *Vastaanottajat*. */
    parties: Type.Array(code(CONSENT_PARTIES, 'consent party'), { minItems: 1, uniqueItems: true }),
    /** *Tietoryhmät*. */
    dataClasses: Type.Array(code(CONSENT_DATA_CLASSES, 'data class'), { minItems: 1, uniqueItems: true }),
    /** *Voimassaolo*. */
    period: Period,
    /** *Peruttu* — the day the client withdrew the consent. */
    withdrawnOn: Type.Optional(DateOnly),
    /** The organisation that recorded the consent and keeps it (*rekisterinpitäjä*). */
    organizationId: LocalId,
  },
  strict,
);

/** *Tavoite* — a goal of a support plan. */
export const GoalSchema = Type.Object(
  {
    id: LocalId,
    description: Text,
    dueDate: Type.Optional(DateOnly),
    achieved: Type.Optional(Type.Boolean()),
    /**
     * Who set the goal (FHIR `Goal.expressedBy`): the plan's client, or a professional by id. Absent,
     * the goal says nothing of it (no default is written).
     */
    expressedBy: Type.Optional(
      Type.Union([Type.Literal('client'), Type.Object({ professionalId: LocalId }, strict)]),
    ),
    /** *Jatkopolku* — the onward path the goal aims at or led to (FHIR `Goal.outcomeCode`). */
    onwardPath: Type.Optional(code(ONWARD_PATHS, 'onward path')),
    /** *Tärkeys* — how urgent the goal is (FHIR `Goal.priority`). */
    priority: Type.Optional(code(GOAL_PRIORITIES, 'goal priority')),
  },
  strict,
);

/** *Toimenpide / palvelu* — an activity of a support plan, with its schedule. */
export const ActivitySchema = Type.Object(
  {
    service: code(WORK_ABILITY_SERVICES, 'service'),
    description: Type.Optional(Text),
    /** *Päivää viikossa*. */
    daysPerWeek: Type.Optional(Type.Integer({ minimum: 1, maximum: 7 })),
    period: Type.Optional(Period),
    /**
     * *Kesto kuukausina* — how long it runs when the schedule gives a length, not an end date (FHIR
     * `Timing.repeat.boundsDuration` in months); an alternative to `period`.
     */
    durationMonths: Type.Optional(Type.Integer({ minimum: 1, maximum: 120 })),
    /** The professional who carries it out. */
    performerId: Type.Optional(LocalId),
    /** *Jatkopolku* — where the activity led. */
    onwardPath: Type.Optional(code(ONWARD_PATHS, 'onward path')),
  },
  strict,
);

/** *Työkyvyn tuen suunnitelma / aktivointisuunnitelma / toteuttamissuunnitelma*. */
export const SupportPlanSchema = Type.Object(
  {
    id: LocalId,
    clientId: LocalId,
    category: code(PLAN_CATEGORIES, 'plan category'),
    status: code(['draft', 'active', 'completed', 'revoked'] as const, 'plan status'),
    /** *Laadittu*. */
    created: DateOnly,
    period: Period,
    /** The professional who drew up the plan. */
    authorId: LocalId,
    title: Type.Optional(Text),
    goals: Type.Array(GoalSchema, { minItems: 1 }),
    activities: Type.Array(ActivitySchema),
    /** *Seurantapäivä* — next follow-up. */
    followUpDate: Type.Optional(DateOnly),
    /** The assessment the plan rests on. */
    assessmentId: Type.Optional(LocalId),
    /** The responsible-worker team carrying the plan. */
    teamId: Type.Optional(LocalId),
    /** The referrals that are part of the plan (its activities given as references, after the others). */
    referralIds: Type.Optional(Type.Array(LocalId, { minItems: 1, uniqueItems: true })),
  },
  strict,
);

/** *Lähete* — referral to a work-ability support service, with the client's consent attached. */
export const ReferralSchema = Type.Object(
  {
    id: LocalId,
    clientId: LocalId,
    service: code(WORK_ABILITY_SERVICES, 'service'),
    /** *Lähettäjä* — the referring professional. */
    requesterId: LocalId,
    date: DateOnly,
    /** *Lähetteen syyt* (triggers). */
    reasons: Type.Array(code(TRIGGERS, 'trigger'), { uniqueItems: true }),
    /** *Suostumus* attached to the referral. */
    consentId: LocalId,
    note: Type.Optional(Text),
  },
  strict,
);

/** A member of the responsible-worker team, in one role for one period. */
export const TeamMemberSchema = Type.Object(
  { professionalId: LocalId, role: code(CARE_TEAM_ROLES, 'care-team role'), period: Period },
  strict,
);

/** *Vastuutyöntekijä(tiimi)* — the team around the client; ended periods keep the handover history. */
export const TeamSchema = Type.Object(
  {
    id: LocalId,
    clientId: LocalId,
    name: Type.Optional(Text),
    members: Type.Array(TeamMemberSchema, { minItems: 1 }),
    /** The day the client relationship ended (*asiakkuus päättyi*): every member's period ends by then. */
    ended: Type.Optional(DateOnly),
  },
  strict,
);

/** A handover to the next responsible worker (`handOver`), as the domain API receives it. */
export const HandoverRequestSchema = Type.Object(
  {
    professionalId: LocalId,
    role: code(RESPONSIBLE_WORKER_KINDS, 'responsible-worker kind'),
    date: DateOnly,
    from: Type.Optional(LocalId),
  },
  strict,
);

function optionalList<T extends TSchema>(item: T) {
  return Type.Optional(Type.Array(item, { minItems: 1 }));
}

/** *Asiakkuus* — everything about one client that travels as one transaction Bundle. */
export const RecordSchema = Type.Object(
  {
    client: ClientSchema,
    organizations: optionalList(OrganizationSchema),
    professionals: optionalList(ProfessionalSchema),
    selfAssessments: optionalList(SelfAssessmentSchema),
    assessments: optionalList(AssessmentSchema),
    consents: optionalList(ConsentSchema),
    plans: optionalList(SupportPlanSchema),
    referrals: optionalList(ReferralSchema),
    teams: optionalList(TeamSchema),
  },
  strict,
);
