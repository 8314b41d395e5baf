// Which definitions a resource is walked against: the explicit profiles and its meta.profile claims
// that resolve (their snapshots include the base rules), else its base definition. Unresolvable or
// misapplied profiles are reported here, as the HL7 validator reports them.
import type { ImplementationGuide } from '@medplum/fhirtypes';
import type { CheckContext } from '../checks/context.ts';
import type { StructurePlan } from '../plan.ts';
import type { Registry } from '../registry.ts';
import { type Json, isObject } from '../util.ts';

const globalsByRegistry = new WeakMap<Registry, Map<string, string[]>>();

/** Resource type → the `global` profiles of the loaded ImplementationGuides (they apply to every such resource). */
function globalProfiles(registry: Registry): Map<string, string[]> {
  let map = globalsByRegistry.get(registry);
  if (map) return map;
  map = new Map();
  for (const ig of registry.all<ImplementationGuide>('ImplementationGuide')) {
    for (const g of ig.global ?? []) {
      if (!g.type || !g.profile) continue;
      const list = map.get(g.type) ?? [];
      if (!list.includes(g.profile)) list.push(g.profile);
      map.set(g.type, list);
    }
  }
  globalsByRegistry.set(registry, map);
  return map;
}

export function resourceProfiles(
  ctx: CheckContext,
  value: Json,
  rt: string,
  explicitProfiles: string[],
): StructurePlan[] | undefined {
  const base = ctx.compiler.typePlan(rt);
  if (!base) return undefined;
  const plans: StructurePlan[] = [];
  const meta = value.meta;
  const claimed = isObject(meta) && Array.isArray(meta.profile) ? (meta.profile as unknown[]) : [];
  const wanted = explicitProfiles.length ? [...explicitProfiles, ...claimed] : claimed;
  for (let i = 0; i < wanted.length; i++) {
    const url = wanted[i];
    if (typeof url !== 'string') continue;
    const fromMeta = i >= explicitProfiles.length;
    const where = fromMeta ? `meta.profile[${i - explicitProfiles.length}]` : undefined;
    const p = ctx.compiler.plan(url);
    if (!p && ctx.compiler.registry.structureDefinition(url)) {
      // A differential-only definition the simple snapshot generator cannot handle.
      ctx.report(
        'warning',
        'not-supported',
        `Profile '${url}' has no snapshot, so it has not been checked`,
        where,
      );
    } else if (!p) {
      ctx.report(
        fromMeta ? 'warning' : 'error',
        fromMeta ? 'informational' : 'not-found',
        `Profile reference '${url}' has not been checked because it could not be found`,
        where,
      );
    } else if (p.type !== rt || p.kind !== 'resource') {
      ctx.report('error', 'invalid', `Profile '${url}' is for type '${p.type}' and cannot apply to a ${rt}`);
    } else if (!p.base && !plans.includes(p)) {
      plans.push(p);
    }
  }
  for (const url of globalProfiles(ctx.compiler.registry).get(rt) ?? []) {
    const p = ctx.compiler.plan(url);
    if (p && p.type === rt && !p.base && !plans.includes(p)) plans.push(p);
  }
  if (!plans.length) plans.push(base);
  return plans;
}
