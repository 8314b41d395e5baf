import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';

const CORE_PREFIX = 'http://hl7.org/fhir/StructureDefinition/';

/**
 * A snapshot for a differential-only constraint profile, in the simple cases only: every differential
 * element is an element of the base snapshot (by id) or lies inside a single-typed datatype element,
 * whose children are unrolled from the datatype's own definition. Differentials with slicing, slices or
 * renamed choice paths are not handled (undefined: the profile stays unchecked, as before). Each
 * differential element is merged onto its snapshot element: its properties replace the base's,
 * constraints are added.
 */
export function simpleSnapshot(
  sd: StructureDefinition,
  base: StructureDefinition,
  resolve: (url: string) => StructureDefinition | undefined,
): ElementDefinition[] | undefined {
  const diff = sd.differential?.element;
  const baseEls = base.snapshot?.element;
  if (!diff?.length || !baseEls?.length || sd.derivation !== 'constraint' || base.type !== sd.type)
    return undefined;
  const out = baseEls.map((e) => structuredClone(e));
  for (const d of diff) {
    const key = d.id ?? d.path;
    if (d.slicing || d.sliceName || key.includes(':') || !d.path || (d.id && d.id !== d.path))
      return undefined;
    const at = ensure(out, d.path, resolve);
    if (at < 0) return undefined;
    merge(out[at], d);
  }
  return out;
}

/** Index of the element with this path, unrolling datatype children on the way; -1 when impossible. */
function ensure(
  out: ElementDefinition[],
  path: string,
  resolve: (url: string) => StructureDefinition | undefined,
): number {
  const found = out.findIndex((e) => (e.id ?? e.path) === path);
  if (found >= 0) return found;
  const dot = path.lastIndexOf('.');
  if (dot < 0) return -1;
  const parentPath = path.slice(0, dot);
  const pi = ensure(out, parentPath, resolve);
  if (pi < 0) return -1;
  const parent = out[pi];
  if (out[pi + 1]?.path?.startsWith(`${parentPath}.`)) return -1; // has children, and not this one
  const code = parent.type?.length === 1 ? parent.type[0].code : undefined;
  if (!code || parent.contentReference) return -1;
  const typeSd = resolve(CORE_PREFIX + code);
  const typeEls = typeSd?.snapshot?.element;
  if (!typeEls?.length || typeSd?.kind !== 'complex-type') return -1;
  const children = typeEls.slice(1).map((e) => {
    const c = structuredClone(e);
    c.path = parentPath + e.path.slice(code.length);
    c.id = parentPath + (e.id ?? e.path).slice(code.length);
    return c;
  });
  out.splice(pi + 1, 0, ...children);
  return out.findIndex((e) => (e.id ?? e.path) === path);
}

function merge(target: ElementDefinition, d: ElementDefinition): void {
  const t = target as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(d)) {
    if (k === 'id' || k === 'path' || k === 'mapping') continue;
    if (k === 'constraint') {
      const keys = new Set((target.constraint ?? []).map((c) => c.key));
      target.constraint = [
        ...(target.constraint ?? []),
        ...(d.constraint ?? []).filter((c) => !keys.has(c.key)),
      ];
    } else {
      if (k.startsWith('fixed') || k.startsWith('pattern')) {
        for (const old of Object.keys(t))
          if (old.startsWith(k.startsWith('fixed') ? 'fixed' : 'pattern')) t[old] = undefined;
      }
      t[k] = v;
    }
  }
}
