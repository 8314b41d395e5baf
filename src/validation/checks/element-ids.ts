import type { CheckContext } from './context.ts';

type Json = Record<string, unknown>;

/**
 * Element ids are unique within a resource (Element.id: "unique id for the element within a
 * resource"); the HL7 validator reports a repeat as "Duplicate id value". The resource's own id is not
 * an element id, each contained or otherwise nested resource (a Bundle entry's, a parameter's) has
 * ids of its own, and StructureDefinition is left out: its snapshot and differential name the same
 * elements by the same ids. Paths use the JSON names (`valueQuantity`, not `value.ofType(Quantity)`):
 * this walk does not consult the definitions.
 */
export function checkElementIds(ctx: CheckContext, resource: Json, resourceType: string): void {
  if (resourceType === 'StructureDefinition' || !repeatsAnId(resource)) return;
  const seen = new Set<string>();
  for (const key in resource) {
    if (key !== 'id' && key !== 'resourceType') visit(ctx, resource[key], key, -1, seen);
  }
}

function visit(ctx: CheckContext, node: unknown, key: string, idx: number, seen: Set<string>): void {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) visit(ctx, node[i], key, i, seen);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const obj = node as Json;
  if (typeof obj.resourceType === 'string') return;
  // `_given[0]` holds the id of the primitive `given[0]`: one element, reported under its own name.
  ctx.at.push(key.startsWith('_') ? key.slice(1) : key, idx);
  try {
    const id = obj.id;
    if (typeof id === 'string') {
      if (seen.has(id)) ctx.report('error', 'business-rule', `Duplicate id value '${id}'`);
      else seen.add(id);
    }
    for (const child in obj) if (child !== 'id') visit(ctx, obj[child], child, -1, seen);
  } finally {
    ctx.at.pop();
  }
}

/**
 * Whether any element id repeats: the same walk without paths or reports, so the common case (no
 * repeat, often no element ids at all) costs no path bookkeeping; the reporting walk runs only after.
 */
function repeatsAnId(resource: Json): boolean {
  let seen: Set<string> | undefined;
  const scan = (node: unknown): boolean => {
    if (Array.isArray(node)) return node.some(scan);
    if (node === null || typeof node !== 'object') return false;
    const obj = node as Json;
    if (typeof obj.resourceType === 'string') return false;
    const id = obj.id;
    if (typeof id === 'string') {
      seen ??= new Set();
      if (seen.has(id)) return true;
      seen.add(id);
    }
    for (const child in obj) if (child !== 'id' && scan(obj[child])) return true;
    return false;
  };
  for (const key in resource) if (key !== 'id' && key !== 'resourceType' && scan(resource[key])) return true;
  return false;
}
