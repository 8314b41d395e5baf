// Whose a response is. A business identifier is only a key: a response found by it on Kanta PHR (the
// push's conditional create) or here (the pull's) may be another person's. Only a response of the
// client's own PHR Patient is delivered there, and only a local response of the client pulled for
// takes a citizen's version: anything else would write one person's answers over another's.
import type { BundleEntry, QuestionnaireResponse, Reference } from '@medplum/fhirtypes';
import type { KantaDeps } from './types.ts';

/** Whether a response's subject is `Patient/<id>` (relative, or an absolute URL ending so). */
export function isOfPatient(r: { subject?: Reference } | undefined, id: string): boolean {
  const ref: unknown = r?.subject?.reference;
  return typeof ref === 'string' && (ref === `Patient/${id}` || ref.endsWith(`/Patient/${id}`));
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
    return isOfPatient(body, phr);
  if (!remoteId) return undefined;
  return isOfPatient(
    await deps.remote.read<QuestionnaireResponse>('QuestionnaireResponse', remoteId, signal),
    phr,
  );
}
