import { searchParameterDefinitions } from '../store/index.ts';

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

export interface SearchParamInfo {
  code: string;
  type: 'token' | 'date' | 'reference' | 'string' | 'number';
  definition: string;
  documentation?: string;
  /**
   * Target types of a reference parameter: those of its R4 targets this facade holds, the types the
   * store's search lets it name (every search is given `types: SUPPORTED_TYPES`, `paramsFor`).
   */
  targets?: string[];
}

const TYPE_SET = new Set<string>(SUPPORTED_TYPES);

export function isSupportedType(type: string): type is SupportedType {
  return TYPE_SET.has(type);
}

/**
 * The types a reference may name here: of `targets` (a SearchParameter's R4 `target`), those this
 * facade holds. The CapabilityStatement describes a reference parameter by these; the store's search
 * is given the same list (`SearchOptions.types`) and keeps the same ones.
 */
export function servedTargets(targets: readonly string[] | undefined): SupportedType[] {
  return (targets ?? []).filter(isSupportedType);
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

/** Search parameters per type, from the definitions the store answers (R4's and the project's own). */
export function searchParamsByType(): Map<string, Map<string, SearchParamInfo>> {
  if (cached) return cached;
  const result = new Map<string, Map<string, SearchParamInfo>>();
  for (const type of SUPPORTED_TYPES) result.set(type, new Map());
  for (const sp of searchParameterDefinitions()) {
    const code = sp.code as string;
    for (const type of SUPPORTED_TYPES) {
      if (!sp.base?.includes(type) && !sp.base?.includes('Resource' as never)) continue;
      result.get(type)?.set(code, {
        code,
        type: sp.type as SearchParamInfo['type'],
        definition: sp.url ?? '',
        documentation: describeFor(sp.description, type),
        ...(sp.type === 'reference' ? { targets: servedTargets(sp.target) } : {}),
      });
    }
  }
  cached = result;
  return result;
}
