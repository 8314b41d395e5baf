/** The declarative mapping tables of mappings/, with `{canonical}` resolved from the profile package. */
import { readProjectJson } from '../shared/project-files.ts';

export type FhirKind =
  | 'client'
  | 'organization'
  | 'professional'
  | 'score'
  | 'assessment'
  | 'selfAssessment'
  | 'consent'
  | 'plan'
  | 'goal'
  | 'referral'
  | 'team';

interface SimpleCoding {
  system: string;
  code: string;
  display?: string;
}

export interface MapTable {
  kinds: Record<FhirKind, { resourceType: string; profile: string }>;
  bundleOrder: FhirKind[];
  identifiers: {
    business: string;
    uuidNamespaceName: string;
    localIdSystemBase: string;
    hetu: { system: string; use: 'official'; type: SimpleCoding };
    temporaryUse: 'temp';
  };
  extensions: Record<
    | 'creatingApplication'
    | 'consentWithdrawalDate'
    | 'consentReceivingParty'
    | 'followUpDate'
    | 'municipality',
    string
  >;
  municipalitySystem: string;
  nonDisclosure: SimpleCoding;
  recordView: { codeSystem: string; code: string };
  observationCodes: { codeSystem: string; score: string; assessment: string };
  assessmentComponents: {
    field: string;
    code: string;
    value: 'code' | 'codes' | 'boolean';
    codeSystem?: string;
  }[];
  scoreFields: Record<'selfScore' | 'professionalScore', 'self-reported' | 'professional'>;
  selfAssessment: { questionnaire: string; items: Record<string, string> };
  consent: Record<'scope' | 'category' | 'actorRole', SimpleCoding> & { policyUri: string };
  planStatus: { carePlan: Record<string, string>; activity: Record<string, string> };
  timing: { period: number; periodUnit: 'wk' };
  /** A duration in months (UCUM `mo`), as Timing.repeat.boundsDuration carries it. */
  months: { unit: string; system: string; code: string };
  plan: { intent: 'plan' };
  goal: {
    achievementSystem: string;
    /** The goal states the domain holds: `achieved` (absent, false, true) and how each is written. */
    states: { achieved?: boolean; lifecycleStatus: 'active' | 'completed'; achievement?: string }[];
    /** Goal.priority: the code system and the code of each domain priority (GOAL_PRIORITIES). */
    prioritySystem: string;
    priorities: Record<'high' | 'medium' | 'low', string>;
  };
  referral: { status: 'active'; intent: 'order' };
  team: { status: 'active'; endedStatus: 'inactive' };
  codedFields: Record<string, string>;
}

export const canonical: string = readProjectJson<{ canonical: string }>(
  'profiles/package/package.json',
).canonical;

function resolve<T>(value: T): T {
  return JSON.parse(JSON.stringify(value).replaceAll('{canonical}', canonical)) as T;
}

export const MAP: MapTable = resolve(readProjectJson<MapTable>('mappings/fhir-map.json'));

/**
 * Resource types that may carry Kanta PHR's creating-application extension, read from the context of
 * Kanta's own definition (profiles/kanta-phr/package): our profiles on these types require it.
 */
export const CREATING_APPLICATION_TYPES: ReadonlySet<string> = new Set(
  readProjectJson<{ context?: { expression: string }[] }>(
    'profiles/kanta-phr/package/StructureDefinition-fiphr-ext-creatingapplication.json',
  ).context?.map((c) => c.expression) ?? [],
);

/** The canonical of the Kykyviisari questionnaire a self-assessment response answers. */
export const SELF_ASSESSMENT_QUESTIONNAIRE: string = MAP.selfAssessment.questionnaire;
/**
 * The statuses of a QuestionnaireResponse the citizen finished: the only ones the reader takes as a
 * self-assessment (the SDK writes each one completed) and the only ones the Kanta PHR push sends.
 */
export const FINISHED_RESPONSE_STATUSES: readonly string[] = ['completed', 'amended'];

export function profileUrl(kind: FhirKind): string {
  return `${canonical}/StructureDefinition/${MAP.kinds[kind].profile}`;
}

export function codeSystemUrl(id: string): string {
  return `${canonical}/CodeSystem/${id}`;
}
