/**
 * The project's code lists, exactly as DEVELOPERS.md fixes them (CodeSystem ids and codes). The
 * domain types are built from these lists, and tests/domain/codes.test.ts checks that they equal the
 * CodeSystems in the compiled profile package, so the two cannot drift apart.
 */

/** *Työkyvyn tuen vaihe* — phase of work-ability support. */
export const PHASES = ['primary', 'secondary', 'tertiary'] as const;

/** *Asiakkaan tilanne* — the client's employment situation. */
export const CLIENT_SITUATIONS = [
  'unemployed',
  'employed-without-occupational-health',
  'employed-with-occupational-health',
] as const;

/** *Heräte* — a trigger that should alert the professional. */
export const TRIGGERS = [
  'sick-leave',
  'rejected-benefit',
  'assessment-mismatch',
  'broken-work-history',
  'untreated-illness',
  'employment-ending',
  'low-self-efficacy',
  'learning-difficulties',
  'addiction',
] as const;

/** *Rooli tiimissä* — role of a professional in the client's team. */
export const CARE_TEAM_ROLES = [
  'patient-responsible-worker',
  'own-worker',
  'te-expert',
  'kuntakokeilu-coach',
  'work-ability-coordinator',
  'job-coach',
  'public-health-nurse-unemployed',
  'doctor',
  'psychologist',
  'kela-worker',
  'physiotherapist',
  'occupational-therapist',
  'healthcare-social-counsellor',
  'substance-abuse-nurse',
  'psychiatric-nurse',
  'service-coordinator',
  'personal-instructor',
  'social-worker',
  'social-counsellor',
  'criminal-sanctions-agency-employee',
] as const;

/** *Vastuutyöntekijä* kinds — the roles that make a team member the responsible worker. */
export const RESPONSIBLE_WORKER_KINDS = [
  'patient-responsible-worker',
  'own-worker',
  'te-expert',
  'kuntakokeilu-coach',
] as const;

/** *Palvelu* — a service a referral or plan activity points to. */
export const WORK_ABILITY_SERVICES = [
  'typ',
  'work-ability-coordinator',
  'social-guidance',
  'social-work',
  'disability-services',
  'unemployed-health-check',
  'doctor-services',
  'examinations',
  'medical-rehabilitation',
  'rehabilitative-work-activity',
  'social-rehabilitation',
  'arkeen-voimaa',
  'ips-job-coaching',
  'kela-vocational-rehabilitation',
  'kela-medical-rehabilitation',
  'kela-rehabilitation-psychotherapy',
  'kela-work-trial',
  'specialised-care-rehabilitation-research',
  'pension-rehabilitation',
  'occupational-health',
  'helsinki-work-ability-support',
] as const;

/** *Tietojen vastaanottaja* — a party that may receive data under a consent. */
export const CONSENT_PARTIES = [
  'kela',
  'te-services',
  'kuntakokeilu',
  'typ',
  'unemployed-health-check',
  'other-health-care',
  'social-services',
  'occupational-health',
  'pension-institution',
] as const;

/** *Tietoryhmä* — a class of data a consent covers. */
export const CONSENT_DATA_CLASSES = [
  'identification',
  'work-ability-assessment',
  'support-plan',
  'health-data',
  'social-care-data',
  'benefits-income',
  'employment-history',
] as const;

/** *Suunnitelman tyyppi* — category of a support plan. */
export const PLAN_CATEGORIES = [
  'work-ability-support-plan',
  'activation-plan',
  'implementation-plan',
] as const;

/** *Jatkopolku* — onward path after coaching. */
export const ONWARD_PATHS = [
  'work-trial',
  'te-services',
  'paid-work',
  'pay-subsidised-work',
  'studies',
  'rehabilitation',
  'sick-leave',
  'pension',
] as const;

/** *Tärkeys* — how urgent a goal is (FHIR goal-priority: high-priority, medium-priority, low-priority). */
export const GOAL_PRIORITIES = ['high', 'medium', 'low'] as const;

/** *Arvioija* — who gave a Work Ability Score. */
export const ASSESSMENT_METHODS = ['self-reported', 'professional'] as const;

export const WORK_ABILITY_INTERPRETATIONS = ['needs-further-assessment', 'no-further-assessment'] as const;

export type Phase = (typeof PHASES)[number];
export type ClientSituation = (typeof CLIENT_SITUATIONS)[number];
export type Trigger = (typeof TRIGGERS)[number];
export type CareTeamRole = (typeof CARE_TEAM_ROLES)[number];
export type ResponsibleWorkerKind = (typeof RESPONSIBLE_WORKER_KINDS)[number];
export type WorkAbilityService = (typeof WORK_ABILITY_SERVICES)[number];
export type ConsentParty = (typeof CONSENT_PARTIES)[number];
export type ConsentDataClass = (typeof CONSENT_DATA_CLASSES)[number];
export type PlanCategory = (typeof PLAN_CATEGORIES)[number];
export type OnwardPath = (typeof ONWARD_PATHS)[number];
export type GoalPriority = (typeof GOAL_PRIORITIES)[number];
export type AssessmentMethod = (typeof ASSESSMENT_METHODS)[number];
export type WorkAbilityInterpretation = (typeof WORK_ABILITY_INTERPRETATIONS)[number];

/** CodeSystem id (DEVELOPERS.md) of each code list, for the mapping and the agreement test. */
export const CODE_SYSTEM_OF = {
  phase: ['work-ability-phase', PHASES],
  situation: ['client-situation', CLIENT_SITUATIONS],
  trigger: ['work-ability-trigger', TRIGGERS],
  careTeamRole: ['care-team-role', CARE_TEAM_ROLES],
  service: ['work-ability-service', WORK_ABILITY_SERVICES],
  consentParty: ['consent-party', CONSENT_PARTIES],
  dataClass: ['consent-data-class', CONSENT_DATA_CLASSES],
  planCategory: ['plan-category', PLAN_CATEGORIES],
  onwardPath: ['onward-path', ONWARD_PATHS],
  method: ['assessment-method', ASSESSMENT_METHODS],
  interpretation: ['work-ability-interpretation', WORK_ABILITY_INTERPRETATIONS],
} as const;

export function isResponsibleWorkerKind(role: string): role is ResponsibleWorkerKind {
  return (RESPONSIBLE_WORKER_KINDS as readonly string[]).includes(role);
}
