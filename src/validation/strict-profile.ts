// strict-profile: in strict mode a resource of one of our families must declare one of our profiles.
// One rule for every write a store here takes: the facade's (server/write-policy.ts) and the pull's
// (sync/pull-check.ts).
import type { OperationOutcomeIssue, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { issue } from '../shared/outcome.ts';
import { readProjectJson } from '../shared/project-files.ts';
import type { ConformanceRegistry } from './types.ts';
import { withArticle } from './util.ts';

const FALLBACK_CANONICAL = 'https://tyokyky-fhir.org/fhir';

/** Our canonical base, read from the committed IG package as DEVELOPERS.md prescribes. */
export function projectCanonical(): string {
  try {
    const pkg = readProjectJson<{ canonical?: string }>('profiles/package/package.json');
    return pkg.canonical ?? FALLBACK_CANONICAL;
  } catch {
    return FALLBACK_CANONICAL;
  }
}

/** What the rule reads of a validator's registry. */
export type ProfileRegistry = Pick<ConformanceRegistry, 'all' | 'holdsVersion'>;

/** Our resource profiles per resource type, as loaded by the validator from profiles/package. */
export function ourProfiles(registry: ProfileRegistry): Map<string, string[]> {
  const prefix = `${projectCanonical()}/StructureDefinition/`;
  const byType = new Map<string, string[]>();
  // The registry's index lists every StructureDefinition without parsing one (parsing all of R4
  // core here cost about 2 s and 70 MB at startup); any other registry is read in full. A package's
  // index may leave `derivation` out: only a specialization is excluded.
  const indexed = registry as ProfileRegistry & {
    structureDefinitionInfo?: () => Array<Pick<StructureDefinition, 'url' | 'type' | 'kind' | 'derivation'>>;
  };
  const infos =
    indexed.structureDefinitionInfo?.() ?? registry.all<StructureDefinition>('StructureDefinition');
  for (const sd of infos) {
    if (!sd.url?.startsWith(prefix) || sd.kind !== 'resource' || sd.derivation === 'specialization') continue;
    const list = byType.get(sd.type) ?? [];
    list.push(sd.url);
    byType.set(sd.type, list);
  }
  return byType;
}

export interface StrictProfileRule {
  /** Our profiles per resource type ("our families" are exactly the types our package profiles). */
  readonly profiles: Map<string, string[]>;
  /** The strict-profile issue for `resource`, or undefined when it passes (or strict mode is off). */
  check(resource: Resource): OperationOutcomeIssue | undefined;
}

/** The rule over the profiles `registry` holds; `strict` false lets every resource pass. */
export function strictProfileRule(registry: ProfileRegistry, strict: boolean): StrictProfileRule {
  const profiles = ourProfiles(registry);
  return {
    profiles,
    check(resource) {
      if (!strict) return undefined;
      const ours = profiles.get(resource.resourceType) ?? [];
      // A malformed meta.profile (not a list of strings) declares nothing; the validator names it.
      const profile: unknown = resource.meta?.profile;
      const declared = Array.isArray(profile) ? profile : [];
      // A declared version must be the one held: another version would not be checked at all.
      const isOurs = (p: unknown) =>
        typeof p === 'string' && ours.includes(p.split('|')[0] as string) && registry.holdsVersion(p);
      if (!ours.length || declared.some(isOurs)) return undefined;
      return issue(
        'error',
        'required',
        `strict-profile: in strict mode ${withArticle(resource.resourceType)} must declare one of our profiles in meta.profile (${ours.join(', ')})`,
        `${resource.resourceType}.meta.profile`,
      );
    },
  };
}
