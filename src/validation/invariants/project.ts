// Native evaluation of our own profiles' invariants that sit on hot paths: tyk-hetu-1 takes
// fhirpath.js about a millisecond per HETU (regex, substrings, iif), and the Work Ability Score
// rules run on every validated score (a tenth of a facade create's CPU in fhirpath.js). Each is
// keyed by the exact published text: if a profile's expression changes, its fast path no longer
// applies and fhirpath.js evaluates the new text (slower, never wrong). The FSH stays the one
// statement of each rule; tests/validation/invariants.test.ts checks both evaluations agree.
import type { FastPath } from './native.ts';

const CHECK_CHARS = '0123456789ABCDEFHJKLMNPRSTUVWXY';
const HETU = /^(0[1-9]|[12][0-9]|3[01])(0[1-9]|1[0-2])[0-9]{2}[-+A-FU-Y][0-9]{3}[0-9A-FHJ-NPR-Y]$/;

export const TYK_HETU_1 =
  "system = 'urn:oid:1.2.246.21' implies (value.matches('^(0[1-9]|[12][0-9]|3[01])(0[1-9]|1[0-2])[0-9]{2}[-+A-FU-Y][0-9]{3}[0-9A-FHJ-NPR-Y]$') and value.substring(7, 3).toInteger() >= 2 and '0123456789ABCDEFHJKLMNPRSTUVWXY'.substring((value.substring(0, 6) + value.substring(7, 3)).toInteger() mod 31, 1) = value.substring(10, 1) and value.substring(0, 2).toInteger() <= iif(value.substring(2, 2) = '02', iif(value.substring(4, 2).toInteger() mod 4 = 0 and (value.substring(4, 2) != '00' or 'ABCDEF'.contains(value.substring(6, 1))), 29, 28), iif(value.substring(2, 2) in ('04' | '06' | '09' | '11'), 30, 31)))";

/** tyk-hetu-1 for an identifier whose system and value are plain strings; anything else → fhirpath.js. */
const tykHetu1: FastPath = (node) => {
  if (typeof node !== 'object' || node === null) return undefined;
  const { system, value } = node as { system?: unknown; value?: unknown };
  if (typeof system !== 'string' || typeof value !== 'string') return undefined;
  if (system !== 'urn:oid:1.2.246.21') return true;
  if (!HETU.test(value)) return false;
  if (Number(value.slice(7, 10)) < 2) return false;
  if (CHECK_CHARS[Number(value.slice(0, 6) + value.slice(7, 10)) % 31] !== value[10]) return false;
  const day = Number(value.slice(0, 2));
  const month = value.slice(2, 4);
  const yy = value.slice(4, 6);
  const leap = Number(yy) % 4 === 0 && (yy !== '00' || 'ABCDEF'.includes(value[6]));
  const max = month === '02' ? (leap ? 29 : 28) : ['04', '06', '09', '11'].includes(month) ? 30 : 31;
  return day <= max;
};

export const TYK_WAS_1 = 'value.ofType(integer).all($this >= 0 and $this <= 10)';
export const TYK_WAS_2 =
  "value.ofType(integer).where($this <= 7).exists() implies interpretation.coding.where(system = 'https://tyokyky-fhir.org/fhir/CodeSystem/work-ability-interpretation' and code = 'needs-further-assessment').exists()";

/** An Observation whose value[x] is absent or a plain valueInteger; anything else → fhirpath.js. */
function integerValue(node: unknown): { value?: number } | undefined {
  if (typeof node !== 'object' || node === null) return undefined;
  const o = node as Record<string, unknown>;
  if (o._valueInteger !== undefined) return undefined;
  const v = o.valueInteger;
  if (v !== undefined && !Number.isInteger(v)) return undefined;
  return { value: v as number | undefined };
}

const tykWas1: FastPath = (node) => {
  const v = integerValue(node);
  if (!v) return undefined;
  return v.value === undefined || (v.value >= 0 && v.value <= 10);
};

const tykWas2: FastPath = (node) => {
  const v = integerValue(node);
  if (!v) return undefined;
  if (v.value === undefined || v.value > 7) return true;
  const codings = (node as { interpretation?: unknown }).interpretation;
  if (codings !== undefined && !Array.isArray(codings)) return undefined;
  for (const concept of codings ?? []) {
    const coding = (concept as { coding?: unknown })?.coding;
    if (coding !== undefined && !Array.isArray(coding)) return undefined;
    for (const c of coding ?? []) {
      const { system, code } = (c ?? {}) as { system?: unknown; code?: unknown };
      if (
        system === 'https://tyokyky-fhir.org/fhir/CodeSystem/work-ability-interpretation' &&
        code === 'needs-further-assessment'
      )
        return true;
    }
  }
  return false;
};

/** Fast paths keyed by the exact expression text. */
export const expressionFastPaths: Record<string, FastPath> = {
  [TYK_HETU_1]: tykHetu1,
  [TYK_WAS_1]: tykWas1,
  [TYK_WAS_2]: tykWas2,
};
