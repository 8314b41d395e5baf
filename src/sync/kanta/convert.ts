// Our self-assessment response ⇄ Kanta PHR's fiphr-sd-questionnaireresponse-r4.
import type { Extension, Patient, QuestionnaireResponse } from '@medplum/fhirtypes';
import { fromFhir, profileUrl, toResources } from '../../mapping/index.ts';
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
 * language and narrative, the configured creating application, and the PHR Patient as subject,
 * author and source. Nothing else about the client travels.
 */
export function toKantaResponse(
  ours: QuestionnaireResponse,
  phrPatientId: string,
  opts: KantaOptions,
): QuestionnaireResponse {
  const patient = { reference: `Patient/${phrPatientId}` };
  const others = (ours.extension ?? []).filter((e) => e.url !== KANTA.creatingApplication);
  return {
    resourceType: 'QuestionnaireResponse',
    meta: { profile: [KANTA.responseProfile] },
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

/** Whether the citizen hid the resource from professionals (v3 Confidentiality R in meta.security). */
export function isRestricted(r: { meta?: { security?: { system?: string; code?: string }[] } }): boolean {
  return (r.meta?.security ?? []).some((s) => s.system === KANTA.confidentiality && s.code === 'R');
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
