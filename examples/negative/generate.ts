/**
 * Writes examples/negative/<profile>/<case>.json: a valid package example with exactly one rule broken,
 * the issue a validator must report for it (`expected`) and, where breaking that rule genuinely
 * breaks another too, the other errors (`alsoReported`). Run after changing examples or rules:
 *   npx tsx examples/negative/generate.ts
 * The expectations below are written by hand; tests/profiles checks that the validator's errors are
 * exactly these: a new error a case does not list fails it.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const EXAMPLES = join(HERE, '..', '..', 'profiles', 'package', 'example');

type Json = Record<string, any>;
export interface Expected {
  severity: 'error';
  /** FHIRPath of the element the issue is reported on. */
  expression: string;
  /** Invariant key, for invariant rules. */
  key?: string;
  /** Text the diagnostics contain (structural rules: cardinality, binding, fixed value, type). */
  message?: string;
}
interface Case {
  profile: string;
  name: string;
  description: string;
  base: string;
  mutate(r: Json): void;
  expected: Expected;
  /**
   * The other errors breaking the rule brings with it (an element's minimum with its slice's, an
   * unknown code with the required value set it is not in, a rule that implies another); none when
   * absent.
   */
  also?: Expected[];
}

const inv = (expression: string, key: string): Expected => ({ severity: 'error', expression, key });
const msg = (expression: string, message: string): Expected => ({ severity: 'error', expression, message });
/** Cardinality issues are reported on the parent node, naming the element in the diagnostics. */
const min1 = (parent: string, element: string): Expected => msg(parent, `${element}: minimum required = 1`);
const CS = 'https://tyokyky-fhir.org/fhir/CodeSystem';
const notIn = (expression: string, valueSet: string): Expected =>
  msg(expression, `is not in the required value set 'https://tyokyky-fhir.org/fhir/ValueSet/${valueSet}'`);
/** A code our CodeSystem does not define: reported beside the required value set it is not in. */
const unknownCode = (expression: string, code: string): Expected =>
  msg(expression, `Unknown code '${code}' in the CodeSystem '${CS}/`);
/** Kanta's business identifier rule (tyk-id-1), which a missing identifier also breaks. */
const noGlobalIdentifier = (resourceType: string): Expected => inv(resourceType, 'tyk-id-1');

const cases: Case[] = [
  // Patient
  {
    profile: 'tyokyky-patient',
    name: 'hetu-wrong-check-character',
    base: 'Patient-maija',
    description: 'HETU 030879-904Y: check character should be X',
    mutate: (r) => {
      r.identifier[0].value = '030879-904Y';
    },
    expected: inv('Patient.identifier[0]', 'tyk-hetu-1'),
  },
  {
    profile: 'tyokyky-patient',
    name: 'hetu-future-birth-date',
    base: 'Patient-maija',
    description: 'HETU 010199A9023: a well-formed code of someone born on 1 Jan 2099, which is never issued',
    mutate: (r) => {
      r.identifier[0].value = '010199A9023';
    },
    expected: inv('Patient.identifier[0]', 'tyk-hetu-1'),
  },
  {
    profile: 'tyokyky-patient',
    name: 'hetu-unknown-century-sign',
    base: 'Patient-maija',
    description: 'HETU with century sign Z, which does not exist',
    mutate: (r) => {
      r.identifier[0].value = '030879Z904X';
    },
    expected: inv('Patient.identifier[0]', 'tyk-hetu-1'),
  },
  {
    profile: 'tyokyky-patient',
    name: 'hetu-impossible-date',
    base: 'Patient-maija',
    description: 'HETU dated 29 February 1979 (not a leap year), check character correct',
    mutate: (r) => {
      r.identifier[0].value = '290279-904T';
    },
    expected: inv('Patient.identifier[0]', 'tyk-hetu-1'),
  },
  {
    profile: 'tyokyky-patient',
    name: 'hetu-individual-number-001',
    base: 'Patient-maija',
    description: 'HETU individual number 001 is never issued (002-899, 900-999 test)',
    mutate: (r) => {
      r.identifier[0].value = '030879-001T';
    },
    expected: inv('Patient.identifier[0]', 'tyk-hetu-1'),
  },
  {
    profile: 'tyokyky-patient',
    name: 'missing-language',
    base: 'Patient-maija',
    description: 'Kanta: language is mandatory',
    mutate: (r) => {
      delete r.language;
    },
    expected: min1('Patient', 'Patient.language'),
  },
  {
    profile: 'tyokyky-work-ability-score',
    name: 'missing-creating-application',
    base: 'Observation-suvi-work-ability-score',
    description:
      "Kanta: the creating-application extension (Kanta's fiphr-ext-creatingapplication) is mandatory",
    mutate: (r) => {
      delete r.extension;
    },
    expected: min1('Observation', 'Observation.extension:creatingApplication'),
    // Without the slice's extension the profile's extension minimum (1) fails too.
    also: [msg('Observation', 'Observation.extension: minimum required = 1')],
  },
  {
    profile: 'tyokyky-work-ability-score',
    name: 'business-identifier-not-global',
    base: 'Observation-suvi-work-ability-score',
    description:
      'Kanta: a globally unique business identifier is mandatory; a local one (and an upper-case urn:uuid) is not',
    mutate: (r) => {
      r.identifier = [
        { system: 'urn:oid:1.2.246.10.1234567.10.1', value: 'WAS-0001' },
        {
          system: 'urn:ietf:rfc:3986',
          value: r.identifier[0].value.toUpperCase().replace('URN:UUID:', 'urn:uuid:'),
        },
      ];
    },
    expected: inv('Observation', 'tyk-id-1'),
  },
  {
    profile: 'tyokyky-patient',
    name: 'no-global-identifier',
    base: 'Patient-suvi',
    description:
      'Kanta: a client with only a temporary identifier has no globally unique one (no HETU, no urn:uuid)',
    mutate: (r) => {
      // Suvi without her HETU and her urn:uuid: the temporary identifier is left.
      r.identifier = r.identifier.filter(
        (i: Json) => i.system !== 'urn:oid:1.2.246.21' && i.system !== 'urn:ietf:rfc:3986',
      );
      if (r.identifier.length !== 1 || r.identifier[0].use !== 'temp')
        throw new Error('suvi: no temporary id');
    },
    expected: inv('Patient', 'tyk-id-1'),
  },
  {
    profile: 'tyokyky-work-ability-score',
    name: 'missing-application-id',
    base: 'Observation-suvi-work-ability-score',
    description: 'Kanta: the creating application carries the applicationId Kela assigned',
    mutate: (r) => {
      r.extension[0].extension = r.extension[0].extension.filter((e: Json) => e.url !== 'applicationId');
    },
    expected: min1('Observation.extension[0]', 'Extension.extension:applicationId'),
  },
  {
    profile: 'tyokyky-patient',
    name: 'creating-application-on-patient',
    base: 'Patient-maija',
    description: "Kanta's creating-application extension is not allowed on Patient (its context)",
    mutate: (r) => {
      r.extension = [
        ...(r.extension ?? []),
        {
          url: 'http://phr.kanta.fi/StructureDefinition/fiphr-ext-creatingapplication',
          extension: [
            { url: 'name', valueString: 'x' },
            { url: 'applicationId', valueString: 'y' },
          ],
        },
      ];
    },
    expected: msg('Patient.extension[0]', 'is not allowed to be used at this point'),
  },
  // Work Ability Score
  {
    profile: 'tyokyky-work-ability-score',
    name: 'score-11',
    base: 'Observation-suvi-work-ability-score',
    description: 'WAS 11 is above the scale',
    mutate: (r) => {
      r.valueInteger = 11;
      delete r.interpretation;
    },
    expected: inv('Observation', 'tyk-was-1'),
  },
  {
    profile: 'tyokyky-work-ability-score',
    name: 'score-negative',
    base: 'Observation-suvi-work-ability-score',
    description: 'WAS -1 is below the scale',
    mutate: (r) => {
      r.valueInteger = -1;
    },
    expected: inv('Observation', 'tyk-was-1'),
  },
  {
    profile: 'tyokyky-work-ability-score',
    name: 'score-6-without-interpretation',
    base: 'Observation-suvi-work-ability-score',
    description: 'WAS 6 must carry needs-further-assessment',
    mutate: (r) => {
      delete r.interpretation;
    },
    expected: inv('Observation', 'tyk-was-2'),
  },
  {
    profile: 'tyokyky-work-ability-score',
    name: 'score-7-wrong-interpretation',
    base: 'Observation-suvi-work-ability-score',
    description: 'WAS 7 interpreted as no-further-assessment',
    mutate: (r) => {
      r.valueInteger = 7;
      r.interpretation = [
        { coding: [{ system: `${CS}/work-ability-interpretation`, code: 'no-further-assessment' }] },
      ];
    },
    expected: inv('Observation', 'tyk-was-2'),
    // no-further-assessment at 7 is also a contradiction (tyk-was-3).
    also: [inv('Observation', 'tyk-was-3')],
  },
  {
    profile: 'tyokyky-work-ability-score',
    name: 'score-8-needs-further-assessment',
    base: 'Observation-suvi-work-ability-score',
    description: 'WAS 8 interpreted as needing further assessment: the interpretation contradicts the score',
    mutate: (r) => {
      r.valueInteger = 8;
      r.interpretation = [
        { coding: [{ system: `${CS}/work-ability-interpretation`, code: 'needs-further-assessment' }] },
      ];
    },
    expected: inv('Observation', 'tyk-was-3'),
  },
  {
    profile: 'tyokyky-work-ability-score',
    name: 'score-6-interpreted-both-ways',
    base: 'Observation-suvi-work-ability-score',
    description: 'WAS 6 carrying both needs-further-assessment and no-further-assessment',
    mutate: (r) => {
      r.valueInteger = 6;
      r.interpretation = [
        { coding: [{ system: `${CS}/work-ability-interpretation`, code: 'needs-further-assessment' }] },
        { coding: [{ system: `${CS}/work-ability-interpretation`, code: 'no-further-assessment' }] },
      ];
    },
    expected: inv('Observation', 'tyk-was-3'),
  },
  {
    profile: 'tyokyky-work-ability-score',
    name: 'missing-method',
    base: 'Observation-suvi-work-ability-score',
    description: 'self-reported vs professional is required',
    mutate: (r) => {
      delete r.method;
    },
    expected: min1('Observation', 'Observation.method'),
  },
  {
    profile: 'tyokyky-work-ability-score',
    name: 'missing-effective',
    base: 'Observation-suvi-work-ability-score',
    description: 'effective[x] is required',
    mutate: (r) => {
      delete r.effectiveDateTime;
    },
    expected: min1('Observation', 'Observation.effective[x]'),
  },
  // Work-ability assessment
  {
    profile: 'tyokyky-work-ability-assessment',
    name: 'missing-hoi-category',
    base: 'Observation-suvi-assessment',
    description: 'the HOI record view category is replaced by another category',
    mutate: (r) => {
      r.category = [
        {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'survey' }],
        },
      ];
    },
    expected: min1('Observation', 'Observation.category:recordView'),
  },
  {
    profile: 'tyokyky-work-ability-assessment',
    name: 'component-code-matching-two-slices',
    base: 'Observation-maija-assessment',
    description:
      'one component whose code carries both the rehabilitation-need and the assessment-mismatch codings matches two sibling slices',
    mutate: (r) => {
      const need = r.component.find((c: Json) => c.code.coding[0].code === 'rehabilitation-need');
      const mismatch = r.component.find((c: Json) => c.code.coding[0].code === 'assessment-mismatch');
      need.code.coding.push(...mismatch.code.coding);
      r.component = r.component.filter((c: Json) => c !== mismatch);
    },
    expected: msg('Observation.component[2]', 'this element matches more than one slice'),
  },
  {
    profile: 'tyokyky-work-ability-assessment',
    name: 'missing-phase',
    base: 'Observation-suvi-assessment',
    description: 'the phase component is required',
    mutate: (r) => {
      r.component = r.component.filter((c: Json) => c.code.coding[0].code !== 'phase');
    },
    expected: min1('Observation', 'Observation.component:phase'),
  },
  {
    profile: 'tyokyky-work-ability-assessment',
    name: 'unknown-trigger',
    base: 'Observation-suvi-assessment',
    description: "trigger 'bad-luck' is not in work-ability-trigger",
    mutate: (r) => {
      r.component.find((c: Json) => c.code.coding[0].code === 'trigger').valueCodeableConcept.coding[0].code =
        'bad-luck';
    },
    expected: notIn('Observation.component[3].value.ofType(CodeableConcept)', 'work-ability-trigger'),
    also: [unknownCode('Observation.component[3].value.ofType(CodeableConcept)', 'bad-luck')],
  },
  {
    profile: 'tyokyky-work-ability-assessment',
    name: 'missing-performer',
    base: 'Observation-suvi-assessment',
    description: 'performer is required',
    mutate: (r) => {
      delete r.performer;
    },
    expected: min1('Observation', 'Observation.performer'),
  },
  // Self-assessment Questionnaire
  {
    profile: 'tyokyky-self-assessment',
    name: 'missing-everyday-life',
    base: 'Questionnaire-kykyviisari',
    description: 'the everyday-life domain item is required',
    mutate: (r) => {
      r.item = r.item.filter((i: Json) => i.linkId !== 'everyday-life');
    },
    expected: min1('Questionnaire', 'Questionnaire.item:everydayLife'),
    // Five items where the slices add up to six: the item element's own minimum fails too.
    also: [msg('Questionnaire', 'Questionnaire.item: minimum required = 6')],
  },
  {
    profile: 'tyokyky-self-assessment',
    name: 'overall-as-string',
    base: 'Questionnaire-kykyviisari',
    description: 'the overall item must be an integer item',
    mutate: (r) => {
      r.item[0].type = 'string';
    },
    expected: msg('Questionnaire.item[0].type', 'integer'),
  },
  {
    profile: 'tyokyky-self-assessment',
    name: 'competence-as-decimal',
    base: 'Questionnaire-kykyviisari',
    description: 'the competence item must be an integer item',
    mutate: (r) => {
      r.item.find((i: Json) => i.linkId === 'competence').type = 'decimal';
    },
    expected: msg('Questionnaire.item[4].type', 'integer'),
  },
  {
    profile: 'tyokyky-self-assessment',
    name: 'missing-status',
    base: 'Questionnaire-kykyviisari',
    description: 'status is required (R4)',
    mutate: (r) => {
      delete r.status;
    },
    expected: min1('Questionnaire', 'Questionnaire.status'),
  },
  // Self-assessment response
  {
    profile: 'tyokyky-self-assessment-response',
    name: 'overall-as-string',
    base: 'QuestionnaireResponse-suvi-self-assessment',
    description: 'answers are integers',
    mutate: (r) => {
      r.item[0].answer[0] = { valueString: 'kuusi' };
    },
    expected: msg(
      'QuestionnaireResponse.item[0].answer[0].valueString',
      "the type 'string' is not allowed here",
    ),
    // The Questionnaire's integer item: the response check reports the same answer.
    also: [msg('QuestionnaireResponse.item[0].answer[0]', 'Answer value must be of type integer')],
  },
  {
    profile: 'tyokyky-self-assessment-response',
    name: 'missing-overall',
    base: 'QuestionnaireResponse-suvi-self-assessment',
    description: 'the overall answer is required',
    mutate: (r) => {
      r.item = r.item.filter((i: Json) => i.linkId !== 'overall');
    },
    expected: min1('QuestionnaireResponse', 'QuestionnaireResponse.item:overall'),
    // The Questionnaire marks the item required: the response check reports the same absence.
    also: [msg('QuestionnaireResponse', "No response found for required item with id = 'overall'")],
  },
  {
    profile: 'tyokyky-self-assessment-response',
    name: 'missing-subject',
    base: 'QuestionnaireResponse-suvi-self-assessment',
    description: 'subject is required',
    mutate: (r) => {
      delete r.subject;
    },
    expected: min1('QuestionnaireResponse', 'QuestionnaireResponse.subject'),
  },
  {
    profile: 'tyokyky-self-assessment-response',
    name: 'missing-identifier',
    base: 'QuestionnaireResponse-suvi-self-assessment',
    description: 'Kanta: business identifier is required',
    mutate: (r) => {
      delete r.identifier;
    },
    expected: min1('QuestionnaireResponse', 'QuestionnaireResponse.identifier'),
    also: [noGlobalIdentifier('QuestionnaireResponse')],
  },
  // Consent
  {
    profile: 'tyokyky-consent',
    name: 'active-with-withdrawal-date',
    base: 'Consent-suvi-consent',
    description:
      'a withdrawal date on a consent still active: withdrawal is status inactive and the date together',
    mutate: (r) => {
      r.extension = [
        {
          url: 'https://tyokyky-fhir.org/fhir/StructureDefinition/consent-withdrawal-date',
          valueDateTime: '2026-03-01',
        },
      ];
    },
    expected: inv('Consent', 'tyk-con-1'),
  },
  {
    profile: 'tyokyky-consent',
    name: 'permit-for-access-only',
    base: 'Consent-maija-consent',
    description: 'a permit whose actions leave out disclosure (access only) is no disclosure permit',
    mutate: (r) => {
      r.provision.action = [
        { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'access' }] },
      ];
    },
    expected: inv('Consent', 'tyk-con-3'),
  },
  {
    profile: 'tyokyky-consent',
    name: 'withdrawn-without-date',
    base: 'Consent-suvi-consent',
    description: 'inactive (withdrawn) consent without the withdrawal date',
    mutate: (r) => {
      r.status = 'inactive';
    },
    expected: inv('Consent', 'tyk-con-1'),
  },
  {
    profile: 'tyokyky-consent',
    name: 'withdrawn-before-given',
    base: 'Consent-suvi-consent',
    description: 'withdrawn on a date before the consent was given',
    mutate: (r) => {
      r.status = 'inactive';
      r.extension = [
        ...(r.extension ?? []),
        {
          url: 'https://tyokyky-fhir.org/fhir/StructureDefinition/consent-withdrawal-date',
          valueDateTime: '2020-01-01',
        },
      ];
    },
    expected: inv('Consent', 'tyk-con-2'),
  },
  {
    profile: 'tyokyky-consent',
    name: 'deny-provision',
    base: 'Consent-suvi-consent',
    description: 'the provision must be a permit',
    mutate: (r) => {
      r.provision.type = 'deny';
    },
    expected: msg('Consent.provision.type', 'permit'),
    // A deny provision narrows the permit as nothing the disclosure rule reads (tyk-con-3).
    also: [inv('Consent', 'tyk-con-3')],
  },
  {
    profile: 'tyokyky-consent',
    name: 'actor-without-party',
    base: 'Consent-suvi-consent',
    description: 'each receiving party carries a consent-party code',
    mutate: (r) => {
      delete r.provision.actor[0].extension;
    },
    expected: min1('Consent.provision.actor[0]', 'Consent.provision.actor.extension:receivingParty'),
    // The slice's minimum leaves the sliced extension element below its own minimum too.
    also: [msg('Consent.provision.actor[0]', 'Consent.provision.actor.extension: minimum required = 1')],
  },
  {
    profile: 'tyokyky-consent',
    name: 'unknown-data-class',
    base: 'Consent-suvi-consent',
    description: "data class 'everything' is not in consent-data-class",
    mutate: (r) => {
      r.provision.code[0].coding[0].code = 'everything';
    },
    expected: notIn('Consent.provision.code[0]', 'consent-data-class'),
    also: [unknownCode('Consent.provision.code[0]', 'everything')],
  },
  {
    profile: 'tyokyky-consent',
    name: 'missing-period',
    base: 'Consent-suvi-consent',
    description: 'the validity period is required',
    mutate: (r) => {
      delete r.provision.period;
    },
    expected: min1('Consent.provision', 'Consent.provision.period'),
  },
  // Support plan
  {
    profile: 'tyokyky-support-plan',
    name: 'rwa-5-days-a-week',
    base: 'CarePlan-suvi-activation-plan',
    description: 'rehabilitative work activity 5 days a week',
    mutate: (r) => {
      r.activity[0].detail.scheduledTiming.repeat.frequency = 5;
    },
    expected: inv('CarePlan.activity[0]', 'tyk-rwa-1'),
    // A single activity of five days is also more than four in all.
    also: [inv('CarePlan.activity[0]', 'tyk-rwa-3')],
  },
  {
    profile: 'tyokyky-support-plan',
    name: 'rwa-no-weekly-schedule',
    base: 'CarePlan-suvi-activation-plan',
    description: 'rehabilitative work activity without days a week',
    mutate: (r) => {
      const rep = r.activity[0].detail.scheduledTiming.repeat;
      delete rep.frequency;
      delete rep.period;
      delete rep.periodUnit;
      delete rep.dayOfWeek;
    },
    expected: inv('CarePlan.activity[0]', 'tyk-rwa-1'),
  },
  {
    profile: 'tyokyky-support-plan',
    name: 'rwa-2-months',
    base: 'CarePlan-suvi-activation-plan',
    description: 'rehabilitative work activity for two months',
    mutate: (r) => {
      r.activity[0].detail.scheduledTiming.repeat.boundsPeriod.end = '2026-03-31';
    },
    expected: inv('CarePlan.activity[0]', 'tyk-rwa-2'),
  },
  {
    profile: 'tyokyky-support-plan',
    name: 'rwa-30-months',
    base: 'CarePlan-sirpa-implementation-plan',
    description: 'rehabilitative work activity for 30 months',
    mutate: (r) => {
      r.activity[0].detail.scheduledTiming.repeat.boundsDuration.value = 30;
    },
    expected: inv('CarePlan.activity[0]', 'tyk-rwa-2'),
  },
  {
    profile: 'tyokyky-support-plan',
    name: 'rwa-frequency-max-6',
    base: 'CarePlan-suvi-activation-plan',
    description: 'rehabilitative work activity 2 to 6 days a week: frequencyMax is capped at 4 too',
    mutate: (r) => {
      r.activity[0].detail.scheduledTiming.repeat.frequencyMax = 6;
    },
    expected: inv('CarePlan.activity[0]', 'tyk-rwa-1'),
    // Six days of a single activity are also more than four in all.
    also: [inv('CarePlan.activity[0]', 'tyk-rwa-3')],
  },
  {
    profile: 'tyokyky-support-plan',
    name: 'rwa-five-days-of-the-week',
    base: 'CarePlan-suvi-activation-plan',
    description: 'rehabilitative work activity twice a week but on five named days of the week',
    mutate: (r) => {
      r.activity[0].detail.scheduledTiming.repeat.dayOfWeek = ['mon', 'tue', 'wed', 'thu', 'fri'];
    },
    expected: inv('CarePlan.activity[0]', 'tyk-rwa-1'),
  },
  {
    profile: 'tyokyky-support-plan',
    name: 'rwa-bounds-years-only',
    base: 'CarePlan-suvi-activation-plan',
    description:
      'rehabilitative work activity bounded by years (2026..2028): the bounds are dates to the day',
    mutate: (r) => {
      r.activity[0].detail.scheduledTiming.repeat.boundsPeriod = { start: '2026', end: '2028' };
    },
    expected: inv('CarePlan.activity[0]', 'tyk-rwa-2'),
  },
  {
    profile: 'tyokyky-support-plan',
    name: 'rwa-two-four-day-activities-at-once',
    base: 'CarePlan-sirpa-implementation-plan',
    description: "Sirpa's two rehabilitative work activities at four days a week each: eight days at once",
    mutate: (r) => {
      for (const a of r.activity) a.detail.scheduledTiming.repeat.frequency = 4;
    },
    expected: inv('CarePlan.activity[0]', 'tyk-rwa-3'),
    // Both activities start on the same day: each sees eight days in all.
    also: [inv('CarePlan.activity[1]', 'tyk-rwa-3')],
  },
  {
    profile: 'tyokyky-support-plan',
    name: 'category-matching-two-slices',
    base: 'CarePlan-maija-plan',
    description:
      'one category carrying both the HOI record-view coding and the plan-category coding matches two sibling slices',
    mutate: (r) => {
      r.category = [{ coding: [...r.category[0].coding, ...r.category[1].coding] }];
    },
    expected: msg('CarePlan.category[0]', 'this element matches more than one slice'),
  },
  {
    profile: 'tyokyky-support-plan',
    name: 'two-plan-categories',
    base: 'CarePlan-suvi-activation-plan',
    description: 'a plan is of exactly one plan category',
    mutate: (r) => {
      r.category.push({ coding: [{ system: `${CS}/plan-category`, code: 'implementation-plan' }] });
    },
    expected: inv('CarePlan', 'tyk-cpl-1'),
  },
  {
    profile: 'tyokyky-support-plan',
    name: 'missing-hoi-category',
    base: 'CarePlan-maija-plan',
    description: 'the HOI record view category is required',
    mutate: (r) => {
      r.category = r.category.filter((c: Json) => c.coding[0].code !== 'HOI');
    },
    expected: min1('CarePlan', 'CarePlan.category:recordView'),
  },
  {
    profile: 'tyokyky-support-plan',
    name: 'missing-goal',
    base: 'CarePlan-maija-plan',
    description: 'a plan has at least one goal',
    mutate: (r) => {
      delete r.goal;
    },
    expected: min1('CarePlan', 'CarePlan.goal'),
  },
  // Goal
  {
    profile: 'tyokyky-goal',
    name: 'client-hetu-as-only-identifier',
    base: 'Goal-maija-goal',
    description: "the client's HETU is no business identifier of a Goal (only of the Patient)",
    mutate: (r) => {
      r.identifier = [{ system: 'urn:oid:1.2.246.21', value: '030879-904X' }];
    },
    expected: inv('Goal', 'tyk-id-1'),
  },
  {
    profile: 'tyokyky-goal',
    name: 'missing-description-text',
    base: 'Goal-suvi-goal',
    description: 'the goal is described in text',
    mutate: (r) => {
      r.description = { coding: [{ system: `${CS}/onward-path`, code: 'work-trial' }] };
    },
    expected: min1('Goal.description', 'Goal.description.text'),
  },
  {
    profile: 'tyokyky-goal',
    name: 'missing-start',
    base: 'Goal-suvi-goal',
    description: 'start date is required',
    mutate: (r) => {
      delete r.startDate;
    },
    expected: min1('Goal', 'Goal.start[x]'),
  },
  {
    profile: 'tyokyky-goal',
    name: 'missing-identifier',
    base: 'Goal-maija-goal',
    description: 'Kanta: business identifier is required',
    mutate: (r) => {
      delete r.identifier;
    },
    expected: min1('Goal', 'Goal.identifier'),
    also: [noGlobalIdentifier('Goal')],
  },
  {
    profile: 'tyokyky-goal',
    name: 'missing-text',
    base: 'Goal-maija-goal',
    description: 'Kanta: narrative is required',
    mutate: (r) => {
      delete r.text;
    },
    expected: min1('Goal', 'Goal.text'),
  },
  {
    profile: 'tyokyky-goal',
    name: 'on-hold',
    base: 'Goal-maija-goal',
    description: 'a goal on hold is no goal state the plan records (it would read back as active)',
    mutate: (r) => {
      r.lifecycleStatus = 'on-hold';
    },
    expected: inv('Goal', 'tyk-gol-1'),
  },
  {
    profile: 'tyokyky-goal',
    name: 'cancelled',
    base: 'Goal-suvi-goal',
    description: 'a cancelled goal is no goal state the plan records',
    mutate: (r) => {
      r.lifecycleStatus = 'cancelled';
    },
    expected: inv('Goal', 'tyk-gol-1'),
  },
  {
    profile: 'tyokyky-goal',
    name: 'completed-not-achieved',
    base: 'Goal-suvi-goal',
    description: 'a completed goal is an achieved one: completed with achievementStatus not-achieved',
    mutate: (r) => {
      r.lifecycleStatus = 'completed';
      r.achievementStatus.coding[0].code = 'not-achieved';
    },
    expected: inv('Goal', 'tyk-gol-1'),
  },
  {
    profile: 'tyokyky-goal',
    name: 'completed-without-achievement',
    base: 'Goal-maija-goal',
    description: 'a completed goal carries achievementStatus achieved',
    mutate: (r) => {
      r.lifecycleStatus = 'completed';
    },
    expected: inv('Goal', 'tyk-gol-1'),
  },
  {
    profile: 'tyokyky-goal',
    name: 'achieved-while-active',
    base: 'Goal-suvi-goal',
    description: 'an achieved goal is completed, not active',
    mutate: (r) => {
      r.achievementStatus.coding[0].code = 'achieved';
    },
    expected: inv('Goal', 'tyk-gol-1'),
  },
  // Referral
  {
    profile: 'tyokyky-referral',
    name: 'without-consent',
    base: 'ServiceRequest-suvi-referral',
    description: 'referral without the consent attached',
    mutate: (r) => {
      r.supportingInfo = r.supportingInfo.filter((s: Json) => !String(s.reference).startsWith('Consent/'));
    },
    expected: inv('ServiceRequest', 'tyk-ref-1'),
  },
  {
    profile: 'tyokyky-referral',
    name: 'unknown-service',
    base: 'ServiceRequest-maija-referral',
    description: "service 'spa-holiday' is not a work-ability service",
    mutate: (r) => {
      r.code.coding[0].code = 'spa-holiday';
    },
    expected: notIn('ServiceRequest.code', 'work-ability-service'),
    also: [unknownCode('ServiceRequest.code', 'spa-holiday')],
  },
  {
    profile: 'tyokyky-referral',
    name: 'missing-requester',
    base: 'ServiceRequest-maija-referral',
    description: 'the referring professional is required',
    mutate: (r) => {
      delete r.requester;
    },
    expected: min1('ServiceRequest', 'ServiceRequest.requester'),
  },
  {
    profile: 'tyokyky-referral',
    name: 'intent-proposal',
    base: 'ServiceRequest-maija-referral',
    description: 'a referral is an order',
    mutate: (r) => {
      r.intent = 'proposal';
    },
    expected: msg('ServiceRequest.intent', 'order'),
  },
  {
    profile: 'tyokyky-referral',
    name: 'reason-not-a-trigger',
    base: 'ServiceRequest-suvi-referral',
    description: "reason 'boredom' is not a trigger",
    mutate: (r) => {
      r.reasonCode[0].coding[0].code = 'boredom';
    },
    expected: notIn('ServiceRequest.reasonCode[0]', 'work-ability-trigger'),
    also: [unknownCode('ServiceRequest.reasonCode[0]', 'boredom')],
  },
  // Responsible-worker team
  {
    profile: 'tyokyky-responsible-worker-team',
    name: 'no-current-responsible-worker',
    base: 'CareTeam-maija-team',
    description: 'the only responsible worker period has ended',
    mutate: (r) => {
      r.participant[0].period.end = '2026-03-01';
    },
    expected: inv('CareTeam', 'tyk-ctm-1'),
  },
  {
    profile: 'tyokyky-responsible-worker-team',
    name: 'ended-team-with-open-period',
    base: 'CareTeam-suvi-team',
    description: "the client relationship ended (inactive) while the own worker's period is still open",
    mutate: (r) => {
      r.status = 'inactive';
      r.period.end = '2026-06-30';
    },
    expected: inv('CareTeam', 'tyk-ctm-2'),
  },
  {
    profile: 'tyokyky-responsible-worker-team',
    name: 'ended-team-without-end-day',
    base: 'CareTeam-suvi-team',
    description: 'the client relationship ended (inactive) but the team carries no period.end',
    mutate: (r) => {
      r.status = 'inactive';
      for (const p of r.participant) p.period.end ??= '2026-06-30';
    },
    expected: inv('CareTeam', 'tyk-ctm-2'),
  },
  {
    profile: 'tyokyky-responsible-worker-team',
    name: 'ended-team-period-runs-past-end',
    base: 'CareTeam-suvi-team',
    description: "the team ended on 30 June 2026 but a participant's period runs to 2099",
    mutate: (r) => {
      r.status = 'inactive';
      r.period.end = '2026-06-30';
      for (const p of r.participant) p.period.end ??= '2099-12-31';
    },
    expected: inv('CareTeam', 'tyk-ctm-2'),
  },
  {
    profile: 'tyokyky-responsible-worker-team',
    name: 'participant-with-two-roles',
    base: 'CareTeam-suvi-team',
    description: 'a participant carries one role (the SDK and tyk-ctm-1 read that one)',
    mutate: (r) => {
      r.participant[1].role.unshift({
        coding: [{ system: `${CS}/care-team-role`, code: 'job-coach' }],
      });
    },
    expected: msg('CareTeam.participant[1].role', 'CareTeam.participant.role: max allowed = 1'),
    // tyk-ctm-1 reads a participant's one role: with two, the team's responsible worker is not one.
    also: [inv('CareTeam', 'tyk-ctm-1')],
  },
  {
    profile: 'tyokyky-responsible-worker-team',
    name: 'participant-without-period',
    base: 'CareTeam-suvi-team',
    description: 'every participant has a period',
    mutate: (r) => {
      delete r.participant[3].period;
    },
    expected: min1('CareTeam.participant[3]', 'CareTeam.participant.period'),
  },
  {
    profile: 'tyokyky-responsible-worker-team',
    name: 'unknown-role',
    base: 'CareTeam-suvi-team',
    description: "role 'janitor' is not a care-team role",
    mutate: (r) => {
      r.participant[3].role[0].coding[0].code = 'janitor';
    },
    expected: notIn('CareTeam.participant[3].role[0]', 'care-team-role'),
    also: [unknownCode('CareTeam.participant[3].role[0]', 'janitor')],
  },
  {
    profile: 'tyokyky-responsible-worker-team',
    name: 'missing-subject',
    base: 'CareTeam-maija-team',
    description: 'the team is for one client',
    mutate: (r) => {
      delete r.subject;
    },
    expected: min1('CareTeam', 'CareTeam.subject'),
  },
  // PractitionerRole
  {
    profile: 'tyokyky-practitioner-role',
    name: 'missing-code',
    base: 'PractitionerRole-social-worker-laine',
    description: 'the role code is required',
    mutate: (r) => {
      delete r.code;
    },
    expected: min1('PractitionerRole', 'PractitionerRole.code'),
  },
  {
    profile: 'tyokyky-practitioner-role',
    name: 'missing-organization',
    base: 'PractitionerRole-coordinator-nieminen',
    description: 'the organisation is required',
    mutate: (r) => {
      delete r.organization;
    },
    expected: min1('PractitionerRole', 'PractitionerRole.organization'),
  },
  {
    profile: 'tyokyky-practitioner-role',
    name: 'missing-practitioner',
    base: 'PractitionerRole-coordinator-nieminen',
    description: 'the practitioner is required',
    mutate: (r) => {
      delete r.practitioner;
    },
    expected: min1('PractitionerRole', 'PractitionerRole.practitioner'),
  },
  {
    profile: 'tyokyky-practitioner-role',
    name: 'missing-identifier',
    base: 'PractitionerRole-coordinator-nieminen',
    description: 'Kanta: business identifier is required',
    mutate: (r) => {
      delete r.identifier;
    },
    expected: min1('PractitionerRole', 'PractitionerRole.identifier'),
    also: [noGlobalIdentifier('PractitionerRole')],
  },
  // Organization
  {
    profile: 'tyokyky-organization',
    name: 'missing-name',
    base: 'Organization-kela',
    description: 'name is required',
    mutate: (r) => {
      delete r.name;
    },
    expected: min1('Organization', 'Organization.name'),
  },
  {
    profile: 'tyokyky-organization',
    name: 'missing-identifier',
    base: 'Organization-kela',
    description: 'Kanta: business identifier is required',
    mutate: (r) => {
      delete r.identifier;
    },
    expected: min1('Organization', 'Organization.identifier'),
    also: [noGlobalIdentifier('Organization')],
  },
  {
    profile: 'tyokyky-organization',
    name: 'missing-language',
    base: 'Organization-kela',
    description: 'Kanta: language is required',
    mutate: (r) => {
      delete r.language;
    },
    expected: min1('Organization', 'Organization.language'),
  },
  {
    profile: 'tyokyky-organization',
    name: 'missing-text',
    base: 'Organization-helsinki-sote',
    description: 'Kanta: narrative is required',
    mutate: (r) => {
      delete r.text;
    },
    expected: min1('Organization', 'Organization.text'),
  },
];

/** A base example: in package/example, or — a definition such as our Questionnaire — in the package root. */
function baseFile(base: string): string {
  const example = join(EXAMPLES, `${base}.json`);
  return existsSync(example) ? example : join(EXAMPLES, '..', `${base}.json`);
}

export function generate(): number {
  const profiles = [...new Set(cases.map((c) => c.profile))];
  for (const p of profiles) rmSync(join(HERE, p), { recursive: true, force: true });
  for (const c of cases) {
    const base = baseFile(c.base);
    const resource = JSON.parse(readFileSync(base, 'utf8')) as Json;
    resource.id = `negative-${c.name}`;
    c.mutate(resource);
    mkdirSync(join(HERE, c.profile), { recursive: true });
    const file = {
      description: c.description,
      derivedFrom: relative(join(HERE, '..', '..'), base),
      expected: c.expected,
      ...(c.also ? { alsoReported: c.also } : {}),
      resource,
    };
    writeFileSync(join(HERE, c.profile, `${c.name}.json`), `${JSON.stringify(file, null, 2)}\n`);
  }
  return cases.length;
}

if (process.argv[1] && process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`wrote ${generate()} negative examples`);
}
