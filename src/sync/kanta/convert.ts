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

/**
 * The Kanta copy of one of our self-assessment responses: Kanta's profile, our business identifier,
 * language and narrative, the configured creating application, the PHR Patient as subject, author
 * and source, and the restriction label if it carries one. Nothing else about the client travels.
 */
export function toKantaResponse(
  ours: QuestionnaireResponse,
  phrPatientId: string,
  opts: KantaOptions,
): QuestionnaireResponse {
  const patient = { reference: `Patient/${phrPatientId}` };
  const others = (ours.extension ?? []).filter((e) => e.url !== KANTA.creatingApplication);
  // A response restricted here goes restricted: Kanta PHR keeps it out of professionals' view.
  const security = isRestricted(ours) ? [{ ...RESTRICTED_LABEL }] : undefined;
  return {
    resourceType: 'QuestionnaireResponse',
    meta: { profile: [KANTA.responseProfile], ...(security ? { security } : {}) },
    language: ours.language,
    text: ours.text,
    extension: [creatingApplication(opts.application), ...others],
    identifier: ours.identifier,
    questionnaire: ours.questionnaire,
    status: ours.status,
    subject: patient,
    authored: ours.authored,
    author: patient,
    source: patient,
    item: ours.item,
  };
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
  const reading = fromFhir(
    {
      ...remote,
      meta: { profile: [profileUrl('selfAssessment')] },
      subject: { reference: `Patient/${local.id}` },
    },
    { resolve: () => local },
  );
  if (reading.kind !== 'selfAssessment') throw new Error(`not a self-assessment: ${reading.kind}`);
  const [qr] = toResources('selfAssessment', reading.value, {
    application: opts.application,
    language: remote.language === 'sv' || remote.language === 'en' ? remote.language : 'fi',
  }) as QuestionnaireResponse[];
  const ref = { reference: `Patient/${local.id}` };
  return { ...qr, subject: ref, author: ref };
}
