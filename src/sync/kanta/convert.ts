// Our self-assessment response ⇄ Kanta PHR's fiphr-sd-questionnaireresponse-r4.
import type { Extension, Patient, QuestionnaireResponse } from '@medplum/fhirtypes';
import {
  RESTRICTED_LABEL,
  fromFhir,
  isRestricted,
  isRestrictedLabel,
  profileUrl,
  toResources,
} from '../../mapping/index.ts';
import { isJsonObject } from '../../shared/json-object.ts';
import { FhirError } from '../../shared/outcome.ts';
import { phrPatientResource } from './patients.ts';
import { KANTA, type KantaOptions } from './types.ts';

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
 * A response read through the SDK as our self-assessment of `patient` (fromFhir → toResources), as
 * the SDK writes it: only what the SDK reads (the answers it knows, their date), with its narrative
 * for them in the response's language. Throws (a FhirError naming the elements) when it cannot be read.
 */
function throughSdk(
  r: QuestionnaireResponse,
  patient: Patient & { id: string },
  opts: KantaOptions,
): QuestionnaireResponse {
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

/**
 * The Kanta copy of one of our self-assessment responses, built from what is sent: the answers as
 * the SDK reads them, with the SDK's narrative of them and its language; Kanta's profile, our
 * business identifier (system and value), status and date, the configured creating application, the
 * PHR Patient as subject, author and source, and the restriction label if it carries one. Nothing
 * else travels: not the local narrative, item texts, items that are no answers of the self-assessment
 * or other extensions — free text that can name the client. Throws when the response cannot be read
 * as a self-assessment.
 */
export function toKantaResponse(
  ours: QuestionnaireResponse,
  phr: PhrPatientRef,
  opts: KantaOptions,
): QuestionnaireResponse {
  const sdk = throughSdk(ours, { ...phrPatientResource(phr.pseudonym), id: phr.remoteId }, opts);
  const patient = { reference: `Patient/${phr.remoteId}` };
  // A response restricted here goes restricted: Kanta PHR keeps it out of professionals' view.
  const security = isRestricted(ours) ? [{ ...RESTRICTED_LABEL }] : undefined;
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
