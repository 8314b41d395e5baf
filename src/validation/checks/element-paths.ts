// Element paths resolved over compiled structures, the way a differential or a discriminator names them:
// through the children a snapshot holds, else the datatype's (folded `Patient.identifier.system`),
// contentReference targets, and renamed choices (`valueQuantity` = `value[x]` as Quantity). Slices
// are not followed (a path names the element, whatever slice it is in).
import type { CompiledElement, StructureCompiler } from '../compiled.ts';

/** An element reached by a path, with the types it can have there (a renamed choice has one). */
export interface PathNode {
  el: CompiledElement;
  types: string[];
}

export function nodeOf(el: CompiledElement): PathNode {
  return { el, types: el.types.map((t) => t.code) };
}

/** The elements `seg` names below `node`: none when it names nothing. */
export function step(compiler: StructureCompiler, node: PathNode, seg: string): PathNode[] {
  if (seg === 'resolve()') return resolveStep(compiler, node);
  const ofType = /^ofType\(([A-Za-z]+)\)$/.exec(seg)?.[1];
  if (ofType) return ofTypeStep(compiler, node, ofType);
  let kids = compiler.childrenOf(node.el);
  if (!kids.length) {
    kids = [];
    for (const code of node.types) {
      const root = compiler.typeStructure(code)?.root;
      if (root) kids.push(...compiler.childrenOf(root));
    }
  }
  const out: PathNode[] = [];
  for (const kid of kids) {
    // A choice is `value[x]` in a differential, `value` in a discriminator path.
    if (kid.name === seg || (kid.choice && seg === kid.jsonName)) out.push(nodeOf(kid));
    else if (kid.choice && seg.startsWith(kid.jsonName) && seg.length > kid.jsonName.length) {
      const code = compiler.typeSuffixes.get(seg.slice(kid.jsonName.length));
      if (code && kid.types.some((t) => t.code === code)) out.push({ el: kid, types: [code] });
    }
  }
  return out;
}

/** The elements a dotted path (segments after the start) names, starting from `from`. */
export function walkPath(compiler: StructureCompiler, from: PathNode[], segs: string[]): PathNode[] {
  let nodes = from;
  for (const seg of segs) {
    if (!nodes.length) break;
    nodes = nodes.flatMap((n) => step(compiler, n, seg));
  }
  return nodes;
}

/** `resolve()`: the target profiles' roots of a Reference (any resource when it names none). */
function resolveStep(compiler: StructureCompiler, node: PathNode): PathNode[] {
  if (!node.types.includes('Reference')) return [];
  const out: PathNode[] = [];
  for (const t of node.el.types) {
    if (t.code !== 'Reference') continue;
    const structures = t.targetProfiles.length
      ? t.targetProfiles.map((url) => compiler.structure(url))
      : [compiler.typeStructure('Resource')];
    for (const structure of structures)
      if (structure) out.push({ el: structure.root, types: [structure.type] });
  }
  return out;
}

/** `ofType(T)`: the node narrowed to T when it can be T (a choice's type, or a resource of a generic target). */
function ofTypeStep(compiler: StructureCompiler, node: PathNode, code: string): PathNode[] {
  if (node.types.includes(code)) return [{ el: node.el, types: [code] }];
  const generic = node.types.includes('Resource') || node.types.includes('DomainResource');
  const root = generic && compiler.resourceTypes.has(code) ? compiler.typeStructure(code)?.root : undefined;
  return root ? [{ el: root, types: [code] }] : [];
}
