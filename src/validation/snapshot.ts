import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';

const CORE_PREFIX = 'http://hl7.org/fhir/StructureDefinition/';

/**
 * A snapshot for a differential-only constraint profile, in the simple cases: every differential
 * element is an element of the base snapshot (by id), lies inside a single-typed datatype element
 * (whose children are unrolled from the datatype's own definition), or is a slice (one level, no
 * reslicing) of such an element, inserted after the sliced element's group, as complex extensions
 * slice `Extension.extension`. Anything else (reslicing, ids that do not match their path) gives
 * undefined: the profile stays unchecked, as before. Each differential element is merged onto its
 * snapshot element: its properties replace the base's, constraints are added.
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
    const id = d.id ?? d.path;
    if (!d.path || id.includes('/') || withoutSlices(id) !== d.path) return undefined;
    const at =
      d.sliceName && id.endsWith(`:${d.sliceName}`)
        ? addSlice(out, id, d.sliceName, resolve)
        : ensure(out, id, d.path, resolve);
    if (at < 0) return undefined;
    merge(out[at], d);
  }
  return out;
}

/** `Extension.extension:name.url` → `Extension.extension.url`. */
function withoutSlices(id: string): string {
  return id.replace(/:[^.]+/g, '');
}

/** Inserts the slice `id` (a copy of the sliced element) after the sliced element's group. */
function addSlice(
  out: ElementDefinition[],
  id: string,
  sliceName: string,
  resolve: (url: string) => StructureDefinition | undefined,
): number {
  const found = out.findIndex((e) => e.id === id);
  if (found >= 0) return found;
  const slicedId = id.slice(0, id.length - sliceName.length - 1);
  const si = ensure(out, slicedId, withoutSlices(slicedId), resolve);
  if (si < 0) return -1;
  let end = si + 1;
  while (end < out.length) {
    const other = out[end]!.id ?? '';
    if (!other.startsWith(`${slicedId}.`) && !other.startsWith(`${slicedId}:`)) break;
    end++;
  }
  const slice = structuredClone(out[si]!);
  slice.id = id;
  slice.sliceName = sliceName;
  slice.slicing = undefined;
  out.splice(end, 0, slice);
  return end;
}

/** Index of the element with this id, unrolling datatype children on the way; -1 when impossible. */
function ensure(
  out: ElementDefinition[],
  id: string,
  path: string,
  resolve: (url: string) => StructureDefinition | undefined,
): number {
  const found = out.findIndex((e) => (e.id ?? e.path) === id);
  if (found >= 0) return found;
  const dot = id.lastIndexOf('.');
  const pathDot = path.lastIndexOf('.');
  if (dot < 0 || pathDot < 0) return -1;
  const parentId = id.slice(0, dot);
  const parentPath = path.slice(0, pathDot);
  const colon = parentId.lastIndexOf(':');
  const pi =
    colon > parentId.lastIndexOf('.')
      ? addSlice(out, parentId, parentId.slice(colon + 1), resolve)
      : ensure(out, parentId, parentPath, resolve);
  if (pi < 0) return -1;
  const parent = out[pi];
  if ((out[pi + 1]?.id ?? out[pi + 1]?.path)?.startsWith(`${parentId}.`)) return -1; // has children, and not this one
  const code = parent.type?.length === 1 ? parent.type[0].code : undefined;
  if (!code || parent.contentReference) return -1;
  const typeSd = resolve(CORE_PREFIX + code);
  const typeEls = typeSd?.snapshot?.element;
  if (!typeEls?.length || typeSd?.kind !== 'complex-type') return -1;
  const children = typeEls.slice(1).map((e) => {
    const c = structuredClone(e);
    c.path = parentPath + e.path.slice(code.length);
    c.id = parentId + (e.id ?? e.path).slice(code.length);
    return c;
  });
  out.splice(pi + 1, 0, ...children);
  return out.findIndex((e) => (e.id ?? e.path) === id);
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
