// Code systems too large or too external to ship (SNOMED CT, LOINC, UCUM, BCP-47, ...). We never
// reject their codes for not being listed; where the syntax is simple enough we check it lightly so
// obvious typos still surface. Two are checked fully, as the HL7 validator does: UCUM, a grammar
// that the NLM UCUM library fhirpath.js ships (ucumUtils) validates, and BCP-47, whose subtags are
// looked up in the IANA registry (bcp47.ts).
import { ucumUtils } from 'fhirpath';
import { isBcp47 } from '../../shared/bcp47.ts';

export const UCUM = 'http://unitsofmeasure.org';
export const BCP47 = 'urn:ietf:bcp:47';
export const MIME = 'urn:ietf:bcp:13';
export const CURRENCY = 'urn:iso:std:iso:4217';
export const COUNTRY = 'urn:iso:std:iso:3166';

/** A syntax check for a system whose full content we do not hold; true when the code looks valid. */
export type SyntaxCheck = (code: string) => boolean;

// RFC 2045/6838 media type: type/subtype strictly (tokens), then parameters. A parameter value is
// anything without `;` or white space, or a quoted string: FHIR itself writes URIs unquoted
// (`application/fhir+json;canonicalization=http://hl7.org/fhir/canonicalization/json#document`).
const token = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const mime = new RegExp(`^${token}/${token}(?:[ \\t]*;[ \\t]*${token}=(?:[^;\\s"]+|"[^"]*"))*$`);

interface UcumValidator {
  validateUnitString(code: string): { status: string };
}
const ucum = ucumUtils as unknown as UcumValidator;

/** A UCUM unit expression (case-sensitive UCUM, annotations like {beats} included). */
function isUcum(code: string): boolean {
  // UCUM has no whitespace; the library would trim it, or log and report an "error" for it.
  if (!/^[!-~]+$/.test(code)) return false;
  // Otherwise only a definite "invalid" rejects; an internal "error" of the library is not evidence.
  return ucum.validateUnitString(code).status !== 'invalid';
}

export const syntaxChecks: Record<string, SyntaxCheck> = {
  [UCUM]: isUcum,
  [BCP47]: isBcp47,
  // CapabilityStatement.format takes "xml | json | ttl | mime type" under the same binding; the spec's
  // own examples use the short forms.
  [MIME]: (c) => mime.test(c) || c === 'xml' || c === 'json' || c === 'ttl',
  [CURRENCY]: (c) => /^[A-Z]{3}$/.test(c),
  [COUNTRY]: (c) => /^(?:[A-Z]{2}|[A-Z]{3}|\d{3})$/.test(c),
};

export const syntaxName: Record<string, string> = {
  [UCUM]: 'UCUM unit',
  [BCP47]: 'BCP-47 language tag',
  [MIME]: 'MIME type',
  [CURRENCY]: 'ISO 4217 currency code',
  [COUNTRY]: 'ISO 3166 country code',
};

/**
 * Code systems the HL7 validator's terminology server (tx.fhir.org) holds and no package we load
 * defines: too large or too external to ship (SNOMED CT, LOINC, ICD-10 and its national variants,
 * ATC ...), or defined by the syntax or registry checked above. A code in one is not refused, and the
 * system is not reported as unknown: the HL7 validator checks such a code there and says nothing of a
 * valid one. HL7 Terminology (`terminology.hl7.org`) is one too: our R4 copy lacks systems it added since.
 */
const SERVER_SYSTEMS = new Set([
  UCUM,
  BCP47,
  MIME,
  CURRENCY,
  COUNTRY,
  'http://loinc.org',
  'http://www.whocc.no/atc',
  'http://www.nlm.nih.gov/research/umls/rxnorm',
  'http://hl7.org/fhir/sid/ndc',
  'http://hl7.org/fhir/sid/cvx',
  'http://www.ama-assn.org/go/cpt',
  'http://nucc.org/provider-taxonomy',
  'http://unstats.un.org/unsd/methods/m49/m49.htm',
  'http://fdasis.nlm.nih.gov',
  'http://www.genenames.org',
  'http://varnomen.hgvs.org',
  'http://dicom.nema.org/resources/ontology/DCM',
  'https://www.iana.org/time-zones',
  'urn:oid:2.16.840.1.113883.6.238',
]);
const SERVER_PREFIXES = [
  'http://snomed.info/',
  'http://hl7.org/fhir/sid/icd-',
  'http://id.who.int/icd/',
  'urn:iso:std:iso:3166',
  'urn:iso:std:iso:11073',
  'http://terminology.hl7.org/CodeSystem/',
];

/**
 * Finnish national code systems on THL's code server (koodistopalvelu), named by OID: FI Base, Kanta
 * and our profiles use them throughout, and no FHIR package carries their content.
 */
const THL_CODE_SERVER = 'urn:oid:1.2.246.537.';

/**
 * How a code in a system we do not hold is reported ("A definition for CodeSystem … could not be
 * found"): a warning, as the HL7 validator gives it for a system its terminology server does not know;
 * information for THL's (the HL7 validator warns, not knowing them either, but a Finnish resource uses
 * them as a matter of course: pointed out, not warned about); nothing for the systems that server holds.
 */
export function unheldSystem(
  system: string,
): { severity: 'warning' | 'information'; note?: string } | undefined {
  if (SERVER_SYSTEMS.has(system) || SERVER_PREFIXES.some((p) => system.startsWith(p))) return undefined;
  if (system.startsWith(THL_CODE_SERVER))
    return {
      severity: 'information',
      note: "a code system of THL's national code server, which no loaded package defines",
    };
  return { severity: 'warning' };
}
