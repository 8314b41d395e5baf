// Codes a CodeSystem defines by rule rather than by listing them, as the HL7 validator's
// ValueSetValidator.findSpecialConcept reads them.
import { COUNTRY, syntaxChecks } from './external.ts';

const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';

/**
 * Whether `code` is a concept of `system` by rule: in v2-0203 (identifier types), `NN` followed by an
 * ISO 3166 country code is the national identifier of that country (`NNFIN`, FI Base's HETU type).
 * HL7 looks the country code up in `urn:iso:std:iso:3166`; of that system we hold its syntax only
 * (R4 lists no alpha-3 codes), so the country part is judged by shape: two or three capitals, or
 * three digits.
 */
export function isSpecialConcept(system: string, code: string): boolean {
  if (system !== V2_0203 || !code.startsWith('NN') || code.length <= 3) return false;
  return syntaxChecks[COUNTRY](code.slice(2));
}
