// What a slicing discriminator path designates in an instance: the simple FHIRPath subset R4 allows
// (element names, `extension('url')`, `resolve()`, `ofType(T)`), evaluated over JSON. A choice name
// (`value`) reaches every `valueX`; `value.ofType(Quantity)` only `valueQuantity`; `resolve()` follows a
// reference to a contained resource or a Bundle entry; `ofType(T)` after it keeps resources of type T.
import type { CheckContext } from '../checks/context.ts';
import { capitalise } from '../compiled.ts';
import { type Json, isObject } from '../util.ts';

const EXTENSION = /^extension\(['"](.+)['"]\)$/;
const OF_TYPE = /^ofType\(([A-Za-z]+)\)$/;

/** The type `ofType(T)` names, or undefined for any other segment. */
export function ofTypeOf(seg: string): string | undefined {
  return OF_TYPE.exec(seg)?.[1];
}

/** Values the discriminator path `segs` designates in `item`. */
export function evaluatePath(walk: CheckContext, item: unknown, segs: string[]): unknown[] {
  let cur: unknown[] = [item];
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i];
    const next: unknown[] = [];
    if (seg === 'resolve()') {
      for (const v of cur) {
        const target = resolveTarget(walk, v);
        if (target) next.push(target);
      }
    } else if (seg.startsWith('ofType(')) {
      // Reached only when not folded into the preceding name: keeps the resources of that type.
      const t = ofTypeOf(seg);
      for (const v of cur) if (!isObject(v) || !('resourceType' in v) || v.resourceType === t) next.push(v);
    } else {
      const ext = EXTENSION.exec(seg);
      // `name.ofType(T)`: only the JSON property of that type (a choice) or a resource of that type.
      const only = ofTypeOf(segs[i + 1] ?? '');
      if (only) i++;
      for (const v of cur) {
        if (!isObject(v)) continue;
        if (ext) {
          if (Array.isArray(v.extension))
            for (const e of v.extension) if (isObject(e) && e.url === ext[1]) next.push(e);
        } else childValues(walk, v, seg.endsWith('[x]') ? seg.slice(0, -3) : seg, only, next);
      }
    }
    cur = next;
  }
  return cur;
}

function childValues(
  walk: CheckContext,
  v: Json,
  name: string,
  only: string | undefined,
  out: unknown[],
): void {
  if (only) {
    const typed = v[name + capitalise(only)];
    if (typed !== undefined) pushAll(out, typed);
    const direct = v[name];
    if (direct !== undefined)
      for (const x of Array.isArray(direct) ? direct : [direct])
        if (!isObject(x) || typeof x.resourceType !== 'string' || x.resourceType === only) out.push(x);
    return;
  }
  const direct = v[name];
  if (direct !== undefined) {
    pushAll(out, direct);
    return;
  }
  for (const k in v) {
    if (k.length > name.length && k.startsWith(name) && walk.compiler.typeSuffixes.has(k.slice(name.length)))
      pushAll(out, v[k]);
  }
}

/**
 * The types a `type` discriminator sees at the end of the path: a resource's type, a choice's type by
 * its JSON name, and after `resolve()` the target's type, or, for a reference that does not resolve
 * here, the type its literal `Type/id` names (the target is outside what we were given).
 */
export function typesAtPath(walk: CheckContext, item: unknown, segs: string[]): string[] {
  if (!segs.length) return isObject(item) && typeof item.resourceType === 'string' ? [item.resourceType] : [];
  const last = segs[segs.length - 1];
  if (last === 'resolve()') {
    const out: string[] = [];
    for (const ref of evaluatePath(walk, item, segs.slice(0, -1))) {
      const target = resolveTarget(walk, ref);
      const t = target ? target.resourceType : literalType(walk, ref);
      if (typeof t === 'string') out.push(t);
    }
    return out;
  }
  const parents = evaluatePath(walk, item, segs.slice(0, -1));
  const name = last.endsWith('[x]') ? last.slice(0, -3) : last;
  const out: string[] = [];
  for (const p of parents) {
    if (!isObject(p)) continue;
    const direct = p[name];
    if (isObject(direct) && typeof direct.resourceType === 'string') out.push(direct.resourceType);
    for (const k in p) {
      if (k.length > name.length && k.startsWith(name)) {
        const t = walk.compiler.typeSuffixes.get(k.slice(name.length));
        if (t) out.push(t);
      }
    }
  }
  return out;
}

function literalType(walk: CheckContext, ref: unknown): string | undefined {
  if (!isObject(ref) || typeof ref.reference !== 'string') return undefined;
  const m = /(?:^|\/)([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[^/]+)?$/.exec(ref.reference);
  if (m && walk.compiler.resourceTypes.has(m[1])) return m[1];
  return typeof ref.type === 'string' ? ref.type : undefined;
}

function pushAll(out: unknown[], v: unknown): void {
  if (Array.isArray(v)) for (const x of v) out.push(x);
  else out.push(v);
}

/** The contained resource or Bundle entry a Reference points to, when it is at hand. */
export function resolveTarget(walk: CheckContext, v: unknown): Json | undefined {
  if (!isObject(v) || typeof v.reference !== 'string') return undefined;
  const ref = v.reference;
  if (ref.startsWith('#')) {
    for (let i = walk.containers.length - 1; i >= 0; i--) {
      const found = walk.containers[i]?.get(ref.slice(1));
      if (found) return found;
    }
    return undefined;
  }
  return walk.bundles[walk.bundles.length - 1]?.byUrl.get(ref);
}
