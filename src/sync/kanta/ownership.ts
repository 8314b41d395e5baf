// Whose a response is. A business identifier is only a key: a response found by it on Kanta PHR (the
// push's conditional create) or here (the pull's) may be another person's. Only a response of the
// client's own PHR Patient is delivered there, and only a local response of the client pulled for
// takes a citizen's version: anything else would write one person's answers over another's.
import type { BundleEntry, QuestionnaireResponse, Reference } from '@medplum/fhirtypes';
import { patientOfReferenceUnder } from '../../shared/references.ts';
import type { KantaDeps } from './types.ts';

/**
 * Whether a response's subject names the Patient `id`, read by the one reader of a Patient reference
 * (patientOfReferenceUnder): relative (a versioned one too), or absolute under `base` only. A response
 * read on Kanta PHR is judged with Kanta PHR's own base (the remote client's); a local copy with none
 * (`undefined`): here a client is `Patient/<local id>`, and an absolute URL names another server's
 * Patient. An absolute URL under any other base is never the patient's, whatever id it ends with.
 */
export function isOfPatient(
  r: { subject?: Reference } | undefined,
  id: string,
  base: string | undefined,
): boolean {
  return patientOfReferenceUnder(r?.subject?.reference, base) === `Patient/${id}`;
}

/**
 * Whether the response a conditional create matched on Kanta PHR is of the PHR Patient `phr`: read
 * off the answer's body when it carries the response, else read there by its id; undefined when the
 * answer names none (nothing is mapped then, so nothing can be written over it later).
 */
export async function matchIsOf(
  deps: KantaDeps,
  answered: BundleEntry | undefined,
  remoteId: string | undefined,
  phr: string,
  signal?: AbortSignal,
): Promise<boolean | undefined> {
  const body = answered?.resource as QuestionnaireResponse | undefined;
  if (body?.resourceType === 'QuestionnaireResponse' && body.subject !== undefined)
    return isOfPatient(body, phr, deps.remote.baseUrl);
  if (!remoteId) return undefined;
  return isOfPatient(
    await deps.remote.read<QuestionnaireResponse>('QuestionnaireResponse', remoteId, signal),
    phr,
    deps.remote.baseUrl,
  );
}
