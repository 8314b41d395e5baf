import type { Static } from '@sinclair/typebox';
import type {
  ActivitySchema,
  AssessmentSchema,
  ClientSchema,
  ConsentSchema,
  GoalSchema,
  HumanNameSchema,
  OrganizationSchema,
  ProfessionalSchema,
  RecordSchema,
  ReferralSchema,
  SelfAssessmentSchema,
  SupportPlanSchema,
  TeamMemberSchema,
  TeamSchema,
} from './schemas.ts';

/** Types derived from the JSON Schemas in schemas.ts (one source); see the schemas for field docs. */
export type HumanName = Static<typeof HumanNameSchema>;
/** *Asiakas*. */
export type Client = Static<typeof ClientSchema>;
/** *Organisaatio / toimija*. */
export type Organization = Static<typeof OrganizationSchema>;
/** *Ammattilainen* in one role. */
export type Professional = Static<typeof ProfessionalSchema>;
/** *Työkyvyn arvio*. */
export type Assessment = Static<typeof AssessmentSchema>;
/** *Kykyviisari* self-assessment. */
export type SelfAssessment = Static<typeof SelfAssessmentSchema>;
/** *Suostumus*. */
export type Consent = Static<typeof ConsentSchema>;
/** *Tavoite*. */
export type Goal = Static<typeof GoalSchema>;
/** *Toimenpide*. */
export type Activity = Static<typeof ActivitySchema>;
/** *Työkyvyn tuen suunnitelma*. */
export type SupportPlan = Static<typeof SupportPlanSchema>;
/** *Lähete*. */
export type Referral = Static<typeof ReferralSchema>;
/** *Tiimin jäsen*. */
export type TeamMember = Static<typeof TeamMemberSchema>;
/** *Vastuutyöntekijätiimi*. */
export type ResponsibleWorkerTeam = Static<typeof TeamSchema>;
/** *Asiakkuus* — one client's records. */
export type WorkAbilityRecord = Static<typeof RecordSchema>;

/** The kinds of domain object the SDK maps, each to one FHIR profile. */
export type DomainKind =
  | 'client'
  | 'organization'
  | 'professional'
  | 'assessment'
  | 'selfAssessment'
  | 'consent'
  | 'plan'
  | 'referral'
  | 'team';

export interface DomainTypes {
  client: Client;
  organization: Organization;
  professional: Professional;
  assessment: Assessment;
  selfAssessment: SelfAssessment;
  consent: Consent;
  plan: SupportPlan;
  referral: Referral;
  team: ResponsibleWorkerTeam;
}
