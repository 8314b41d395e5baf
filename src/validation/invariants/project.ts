// Native evaluation of our own profiles' invariants that sit on hot paths: tyk-hetu-1 takes
// fhirpath.js about a millisecond per HETU, and the Work Ability Score rules run on every validated
// score. Each native path calls the domain rule (src/domain/rules), which is the one statement of the
// rule in code; the FSH expression is its statement in the profile, and
// tests/domain/hetu-invariant.test.ts proves both agree on a shared case table. A native path answers
// only the plain JSON shape (strings, a bare valueInteger) and leaves anything else to fhirpath.js.
//
// The two rule modules are imported directly, not through src/domain/index.ts: that entry also builds
// the TypeBox schemas and loads ajv, and src/mapping/index.ts adds the mapping tables and uuid — about
// 40 % of the CPU of a one-file `tyokyky validate`, none of it needed to check a HETU or a score. The
// canonical base is read from our package's manifest (as src/server/write-policy.ts does).
import {
  FURTHER_ASSESSMENT_CODE,
  HETU_SYSTEM,
  checkHetuFormat,
  contradictsScore,
  isGlobalIdentifier,
  isWorkAbilityScore,
  needsFurtherAssessment,
} from '../../domain/rules/index.ts';
import { OWN_PACKAGE, readProjectJson } from '../../shared/project-files.ts';
import type { FastPath } from './native.ts';

const { canonical } = readProjectJson<{ canonical: string }>(`${OWN_PACKAGE.relative}/package.json`);

/** The canonical base of our profiles: a constraint whose `source` starts with it is ours. */
export const PROJECT_PROFILE_BASE = `${canonical}/StructureDefinition/`;
const FURTHER_ASSESSMENT_SYSTEM = `${canonical}/CodeSystem/${FURTHER_ASSESSMENT_CODE.codeSystem}`;

/** tyk-hetu-1 on an Identifier whose system and value are plain strings. */
const tykHetu1: FastPath = (node) => {
  if (typeof node !== 'object' || node === null) return undefined;
  const { system, value } = node as { system?: unknown; value?: unknown };
  if (typeof system !== 'string' || typeof value !== 'string') return undefined;
  if (system !== HETU_SYSTEM) return true;
  return checkHetuFormat(value).valid;
};

/** An Observation whose value[x] is absent or a plain valueInteger; anything else → fhirpath.js. */
function integerValue(node: unknown): { value?: number } | undefined {
  if (typeof node !== 'object' || node === null) return undefined;
  const o = node as Record<string, unknown>;
  if (o._valueInteger !== undefined) return undefined;
  const v = o.valueInteger;
  if (v !== undefined && !Number.isInteger(v)) return undefined;
  return { value: v as number | undefined };
}

/** tyk-was-1: the score is within the Work Ability Score range. */
const tykWas1: FastPath = (node) => {
  const v = integerValue(node);
  if (!v) return undefined;
  return v.value === undefined || isWorkAbilityScore(v.value);
};

/** The codes of our interpretation CodeSystem among the interpretations; undefined for an odd shape. */
function interpretationCodes(node: unknown): string[] | undefined {
  const concepts = (node as { interpretation?: unknown }).interpretation;
  if (concepts !== undefined && !Array.isArray(concepts)) return undefined;
  const codes: string[] = [];
  for (const concept of concepts ?? []) {
    const coding = (concept as { coding?: unknown })?.coding;
    if (coding !== undefined && !Array.isArray(coding)) return undefined;
    for (const c of coding ?? []) {
      const { system, code } = (c ?? {}) as { system?: unknown; code?: unknown };
      if (system === FURTHER_ASSESSMENT_SYSTEM && typeof code === 'string') codes.push(code);
    }
  }
  return codes;
}

/** tyk-was-2: a score that needs further assessment carries that interpretation. */
const tykWas2: FastPath = (node) => {
  const v = integerValue(node);
  if (!v) return undefined;
  if (v.value === undefined || !needsFurtherAssessment(v.value)) return true;
  return interpretationCodes(node)?.includes(FURTHER_ASSESSMENT_CODE.code);
};

/** tyk-was-3: no interpretation contradicts the score. */
const tykWas3: FastPath = (node) => {
  const v = integerValue(node);
  if (!v) return undefined;
  if (v.value === undefined) return true;
  const codes = interpretationCodes(node);
  return codes && !codes.some((code) => contradictsScore(v.value as number, code));
};

/**
 * tyk-id-1 on a resource whose identifiers are plain `{system, value}` strings: some one is globally
 * unique (the domain rule), or — on a Patient only — is a HETU. Anything else (`_value` extensions,
 * odd shapes) → fhirpath.js.
 */
const tykId1: FastPath = (node) => {
  if (typeof node !== 'object' || node === null) return undefined;
  const { resourceType, identifier: raw } = node as { resourceType?: unknown; identifier?: unknown };
  if (typeof resourceType !== 'string') return undefined;
  const hetuCounts = resourceType === 'Patient';
  const ids = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  let found = false;
  for (const id of ids) {
    if (typeof id !== 'object' || id === null) return undefined;
    const { system, value, _system, _value } = id as Record<string, unknown>;
    if (_system !== undefined || _value !== undefined) return undefined;
    if (system !== undefined && typeof system !== 'string') return undefined;
    if (value !== undefined && typeof value !== 'string') return undefined;
    if ((hetuCounts && system === HETU_SYSTEM) || isGlobalIdentifier(system, value)) found = true;
  }
  return found;
};

/** Native paths of our profiles' invariants, by constraint key. */
export const projectFastPaths: Record<string, FastPath> = {
  'tyk-id-1': tykId1,
  'tyk-hetu-1': tykHetu1,
  'tyk-was-1': tykWas1,
  'tyk-was-2': tykWas2,
  'tyk-was-3': tykWas3,
};
