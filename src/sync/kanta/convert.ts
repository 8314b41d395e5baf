// Our self-assessment response ⇄ Kanta PHR's fiphr-sd-questionnaireresponse-r4.
import type { Extension, Patient, QuestionnaireResponse } from '@medplum/fhirtypes';
import {
  FINISHED_RESPONSE_STATUSES,
  KANTA_RESTRICTED_LABEL,
  SELF_ASSESSMENT_QUESTIONNAIRE,
  fromFhir,
  isRestricted,
  isRestrictedLabel,
  profileUrl,
  toResources,
} from '../../mapping/index.ts';
import { isJsonObject } from '../../shared/json-object.ts';
import { FhirError, issue } from '../../shared/outcome.ts';
import { patientOfReferenceUnder } from '../../shared/references.ts';
import { phrPatientResource } from './patients.ts';
import { KANTA, type KantaOptions, NOT_APPLICABLE } from './types.ts';

function creatingApplication(app: KantaOptions['application']): Extension {
  return {
    url: KANTA.creatingApplication,
    extension: [
      { url: 'name', valueString: app.name },
      { url: 'applicationId', valueString: app.applicationId },
    ],
  };
}

/** The PHR Patient a Kanta copy is of: its Kanta PHR id and its pseudonym. */
export interface PhrPatientRef {
  remoteId: string;
  pseudonym: string;
}

/**
 * 422 unless `r` answers our Kykyviisari questionnaire (its canonical, a version after `|` allowed):
 * a response to any other questionnaire is no self-assessment, whatever its items' linkIds say.
 */
function assertKykyviisari(r: QuestionnaireResponse): void {
  const q: unknown = r.questionnaire;
  const ours = SELF_ASSESSMENT_QUESTIONNAIRE;
  if (typeof q === 'string' && (q === ours || q.startsWith(`${ours}|`))) return;
  const at = 'QuestionnaireResponse.questionnaire';
  throw FhirError.unprocessable(issue('error', 'invalid', `${at}: not the Kykyviisari questionnaire`, at));
}

/**
 * A response read through the SDK as our self-assessment of `patient` (fromFhir → toResources), as
 * the SDK writes it: only what the SDK reads (the answers it knows, their date), with its narrative
 * for them in the response's language. Throws (a FhirError naming the elements) when it cannot be read
 * — a response to another questionnaire than the Kykyviisari first.
 */
function throughSdk(
  r: QuestionnaireResponse,
  patient: Patient & { id: string },
  opts: KantaOptions,
): QuestionnaireResponse {
  assertKykyviisari(r);
  const reading = fromFhir(
    {
      ...r,
      meta: { profile: [profileUrl('selfAssessment')] },
      subject: { reference: `Patient/${patient.id}` },
    },
    { resolve: () => patient },
  );
  if (reading.kind !== 'selfAssessment') throw new Error(`not a self-assessment: ${reading.kind}`);
  const [qr] = toResources('selfAssessment', reading.value, {
    application: opts.application,
    language: r.language === 'sv' || r.language === 'en' ? r.language : 'fi',
  }) as QuestionnaireResponse[];
  return qr as QuestionnaireResponse;
}

const NOT_CITIZENS = `${NOT_APPLICABLE}: Kanta PHR holds citizen-produced data`;

/**
 * Why a local response is not the client's own finished answers, so it does not go to Kanta PHR
 * (settled as not applicable), or undefined when it may go: its author — and its source, when it has
 * one — must be the client's own Patient (`Patient/<clientId>`, a relative reference: here a client is
 * a local Patient), its status completed or amended. A professional's response, one whose author is
 * only a display or missing, a draft or one entered in error stays here: the Kanta copy's author is
 * the citizen, so sending it would say the citizen wrote it. The reason names the element, never its
 * value (a professional's name).
 */
export function notCitizensReason(ours: QuestionnaireResponse, clientId: string): string | undefined {
  const isClient = (ref: unknown) => patientOfReferenceUnder(ref, undefined) === `Patient/${clientId}`;
  if (!isClient(ours.author?.reference))
    return `${NOT_CITIZENS}; the response's author is not the client (QuestionnaireResponse.author)`;
  if (ours.source !== undefined && !isClient(ours.source?.reference))
    return `${NOT_CITIZENS}; the response's source is not the client (QuestionnaireResponse.source)`;
  if (!FINISHED_RESPONSE_STATUSES.includes(ours.status))
    return `${NOT_CITIZENS}; only completed or amended responses go (QuestionnaireResponse.status)`;
  return undefined;
}

/**
 * The Kanta copy of one of our self-assessment responses, built from what is sent: the answers as
 * the SDK reads them, with the SDK's narrative of them and its language; Kanta's profile, our
 * business identifier (system and value), status and date, the configured creating application, the
 * PHR Patient as subject, author and source, and the restriction label if it carries one. Nothing
 * else travels: not the local narrative, item texts, items that are no answers of the self-assessment
 * or other extensions — free text that can name the client. Throws when the response cannot be read
 * as a self-assessment. Only for a response the client wrote (notCitizensReason says none): the push
 * settles the others before it builds anything.
 */
export function toKantaResponse(
  ours: QuestionnaireResponse,
  phr: PhrPatientRef,
  opts: KantaOptions,
): QuestionnaireResponse {
  const sdk = throughSdk(ours, { ...phrPatientResource(phr.pseudonym), id: phr.remoteId }, opts);
  const patient = { reference: `Patient/${phr.remoteId}` };
  // A response restricted here goes restricted, in the coding Kanta PHR's ValueSet names: Kanta PHR
  // keeps it out of professionals' view.
  const security = isRestricted(ours) ? [{ ...KANTA_RESTRICTED_LABEL }] : undefined;
  const { system, value } = ours.identifier ?? {};
  return {
    resourceType: 'QuestionnaireResponse',
    meta: { profile: [KANTA.responseProfile], ...(security ? { security } : {}) },
    language: sdk.language,
    text: sdk.text,
    extension: [creatingApplication(opts.application)],
    identifier: { system, value },
    questionnaire: sdk.questionnaire,
    status: ours.status,
    subject: patient,
    authored: ours.authored,
    author: patient,
    source: patient,
    item: sdk.item,
  };
}

/**
 * Why a response cannot go to Kanta PHR: it is not readable as a self-assessment (the elements the
 * SDK names; never their values).
 */
export function unreadableReason(err: unknown): string {
  const paths = err instanceof FhirError ? (err.outcome.issue ?? []).flatMap((i) => i.expression ?? []) : [];
  return `not sent: not readable as a self-assessment${paths.length ? ` (${[...new Set(paths)].join(', ')})` : ''}`;
}

const RESTRICTED =
  'restricted by the citizen (meta.security v3 Confidentiality R): not shown in the professional view';
const UNREADABLE_LABELS =
  'meta.security is not a list of Codings, so a restriction by the citizen cannot be ruled out: not imported';

/** Why a response is not shown in the professional view, or undefined when it may be imported. */
export function hiddenReason(r: { meta?: { security?: unknown } }): string | undefined {
  const labels: unknown = r.meta?.security;
  if (labels === undefined) return undefined;
  // Unreadable labels could hold the citizen's restriction: a defect must not override that choice.
  if (!Array.isArray(labels) || !labels.every(isJsonObject)) return UNREADABLE_LABELS;
  return labels.some(isRestrictedLabel) ? RESTRICTED : undefined;
}

/**
 * A response the citizen filled in, read through the SDK as our self-assessment of the local client
 * (fromFhir → toResources), so it is exactly what our own profile holds; references point at the
 * local Patient.
 */
export function fromKantaResponse(
  remote: QuestionnaireResponse,
  local: Patient & { id: string },
  opts: KantaOptions,
): QuestionnaireResponse {
  const ref = { reference: `Patient/${local.id}` };
  return { ...throughSdk(remote, local, opts), subject: ref, author: ref };
}
