/**
 * How a target tells a fault: an error's signature, and whether an answer or an OperationOutcome
 * quotes client data that a mutation planted (names and namespaces may be quoted).
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import { MARKERS, type Planted, plantedAt } from './mutate.ts';

export function signatureOf(err: unknown): string {
  const e = err instanceof Error ? err : new Error(String(err));
  const line = (e.message.split('\n')[0] ?? '').replace(MARKERS, '<m>').replace(/\d+/g, 'N');
  return `${e.name}: ${line.slice(0, 160)}`;
}

/**
 * Members whose values name things rather than describe the client (namespaces, canonical URLs,
 * resource and element names, language codes, logical ids): a refusal may quote them.
 */
const NAMES_NOT_DATA = new Set([
  'system',
  'url',
  'resourceType',
  'profile',
  'questionnaire',
  'type',
  'language',
  'linkId',
  'id',
  'fullUrl',
]);

/**
 * A literal reference (`Type/id`, maybe versioned) names a logical id, a `urn:uuid:` one a Bundle's
 * placeholder; a conditional one (`Patient?identifier=…`) may hold an identifier.
 */
const LITERAL_REFERENCE =
  /^([A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}(\/_history\/[A-Za-z0-9\-.]{1,64})?|urn:uuid:\S+)$/;

/** The SDK's domain objects point at each other by the vendor's local ids (`clientId`, `teamId`, …). */
const DOMAIN_ID = /^[a-z]+Id$/;

const isData = ({ member, value }: Planted) =>
  !NAMES_NOT_DATA.has(member) &&
  !DOMAIN_ID.test(member) &&
  !(member === 'reference' && LITERAL_REFERENCE.test(value));

/**
 * The first issue quoting a value planted in a member that holds client data, as a signature (the
 * member, the issue's code and its words with quotes folded); undefined when none does.
 */
export function quotingIssue(oo: OperationOutcome, input: unknown): string | undefined {
  const planted = plantedAt(input);
  for (const i of oo.issue ?? []) {
    for (const m of JSON.stringify(i).match(MARKERS) ?? []) {
      const at = planted.get(m);
      if (!at || !isData(at)) continue;
      const member = at.member;
      const words = (i.diagnostics ?? '').replace(/'[^']*'|"[^"]*"|\([^)]*\)/g, '…').replace(/\d+/g, 'N');
      return `quotes the value of ${member}: ${i.code} ${words.slice(0, 120)}`;
    }
  }
  return undefined;
}

/**
 * What every answer must be: under 500, FHIR JSON; a refusal an OperationOutcome quoting no client
 * data that was sent (`sent`: the request's body, or its query as a string).
 */
export async function judgeAnswer(
  res: Response,
  sent: unknown,
  mediaType = 'application/fhir+json',
): Promise<string | undefined> {
  const type = res.headers.get('content-type') ?? '';
  const text = await res.text();
  if (res.status >= 500) return `${res.status}: ${text.slice(0, 160).replace(MARKERS, '<m>')}`;
  if (!type.startsWith(mediaType)) return `${res.status} answered as ${type || 'no type'}`;
  if (res.status < 400) return undefined;
  const body = JSON.parse(text) as OperationOutcome;
  if (body.resourceType !== 'OperationOutcome') return `${res.status} without an OperationOutcome`;
  const quoting = quotingIssue(body, sent);
  return quoting && `${res.status} ${quoting}`;
}
