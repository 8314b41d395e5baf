// Authoring rules of a constraint StructureDefinition against its base (R4 profiling.html,
// elementdefinition.html#slicing), checked when the base resolves: every differential path exists in
// the base; slicing the base already has is not redefined (same discriminators, closed rules not
// reopened, ordered not unordered); discriminator paths name elements below the sliced element; a
// fixed or pattern value does not contradict the base's fixed or pattern value; cardinality and types
// only narrow the base's.
import type { CompiledElement } from '../compiled.ts';
import { type Json, isObject } from '../util.ts';
import { deepEqual, matchesPattern } from '../values.ts';
import type { CheckContext } from './context.ts';
import { type PathNode, nodeOf, walkPath } from './element-paths.ts';

export function checkStructureDefinition(ctx: CheckContext, sd: Json): void {
  if (sd.derivation !== 'constraint' || typeof sd.baseDefinition !== 'string') return;
  const elements = isObject(sd.differential) ? sd.differential.element : undefined;
  if (!Array.isArray(elements)) return;
  const base = ctx.compiler.structure(sd.baseDefinition);
  if (!base || base.type !== sd.type) return;
  const root = [nodeOf(base.root)];
  for (let i = 0; i < elements.length; i++) {
    const d = elements[i];
    if (!isObject(d) || typeof d.path !== 'string') continue;
    const at = `differential.element[${i}]`;
    const segs = d.path.split('.');
    const nodes = segs[0] === base.type ? walkPath(ctx.compiler, root, segs.slice(1)) : [];
    if (!nodes.length) {
      ctx.report(
        'error',
        'structure',
        `ElementDefinition.path: the differential path '${d.path}' is not an element of the base ${String(sd.baseDefinition)}`,
        `${at}.path`,
      );
      continue;
    }
    // The base's own element for this id when it has one (a slice the base defines), else the path's.
    const exact = typeof d.id === 'string' ? base.byId.get(d.id) : undefined;
    const baseEl = exact ?? nodes[0]!.el;
    const inSlice = typeof d.id === 'string' && d.id.includes(':');
    if (isObject(d.slicing) && (exact || !inSlice))
      checkSlicing(ctx, d.slicing, baseEl, d.path, `${at}.slicing`);
    if (isObject(d.slicing)) checkDiscriminators(ctx, d.slicing, nodes, d.path, `${at}.slicing`);
    checkFixed(ctx, d, baseEl, d.path, at);
    if (exact || nodes.length === 1) checkNarrowing(ctx, d, baseEl, exact ? nodeOf(exact) : nodes[0]!, at);
  }
}

/**
 * A constraint only narrows (profiling.html): max not above the base's, min not below it (except in a
 * slice, whose minimum is its own), and only types the base allows (a resource type where the base
 * allows any resource). The HL7 snapshot generator reports these as errors.
 */
function checkNarrowing(
  ctx: CheckContext,
  d: Json,
  baseEl: CompiledElement,
  node: PathNode,
  at: string,
): void {
  const path = String(d.path);
  if (typeof d.max === 'string' && d.max !== '') {
    const max = d.max === '*' ? Number.POSITIVE_INFINITY : Number(d.max);
    if (max > baseEl.max)
      ctx.report(
        'error',
        'structure',
        `ElementDefinition.max: the max of ${path} (${d.max}) is greater than the base's max (${baseEl.max})`,
        `${at}.max`,
      );
  }
  if (typeof d.min === 'number' && d.min < baseEl.min && typeof d.sliceName !== 'string')
    ctx.report(
      'error',
      'structure',
      `ElementDefinition.min: the min of ${path} (${d.min}) is less than the base's min (${baseEl.min})`,
      `${at}.min`,
    );
  const types = Array.isArray(d.type) ? d.type.filter(isObject) : [];
  const anyResource = node.types.includes('Resource') || node.types.includes('DomainResource');
  types.forEach((t, k) => {
    const code = t.code;
    if (typeof code !== 'string' || code.includes('/') || node.types.includes(code)) return;
    if (anyResource && ctx.compiler.resourceTypes.has(code)) return;
    ctx.report(
      'error',
      'structure',
      `ElementDefinition.type: the type '${code}' of ${path} is not one the base allows (${node.types.join(', ')})`,
      `${at}.type[${k}].code`,
    );
  });
}

function checkSlicing(
  ctx: CheckContext,
  slicing: Json,
  baseEl: CompiledElement,
  path: string,
  at: string,
): void {
  const b = baseEl.slicing;
  if (!b) return;
  const mine = Array.isArray(slicing.discriminator) ? slicing.discriminator.filter(isObject) : [];
  const theirs = b.discriminators;
  const same =
    !mine.length ||
    !theirs.length ||
    (mine.length === theirs.length &&
      mine.every((x, k) => x.type === theirs[k]!.type && x.path === theirs[k]!.path));
  const reopened = b.rules === 'closed' && slicing.rules === 'open';
  const unordered = b.ordered && slicing.ordered === false;
  if (same && !reopened && !unordered) return;
  const what = !same
    ? 'discriminators'
    : reopened
      ? 'rules (closed in the base)'
      : 'ordering (ordered in the base)';
  ctx.report(
    'error',
    'structure',
    `ElementDefinition.slicing: the slicing of ${path} in the base is redefined: its ${what} differ`,
    at,
  );
}

/**
 * Each discriminator path names something below the sliced element, through `resolve()` (a Reference's
 * target profiles) and `ofType(T)` (a type the element can have); other functions are not judged.
 */
function checkDiscriminators(
  ctx: CheckContext,
  slicing: Json,
  nodes: PathNode[],
  path: string,
  at: string,
): void {
  const list = Array.isArray(slicing.discriminator) ? slicing.discriminator : [];
  list.forEach((x, k) => {
    if (!isObject(x) || typeof x.path !== 'string' || x.path === '$this') return;
    const segs = x.path
      .replace(/^\$this\./, '')
      .replace(/extension\('[^']*'\)/g, 'extension')
      .split('.');
    const judged = (s: string) => !s.includes('(') || s === 'resolve()' || /^ofType\([A-Za-z]+\)$/.test(s);
    if (!segs.every(judged) || segs.some((s) => s.startsWith('$'))) return;
    if (walkPath(ctx.compiler, nodes, segs).length) return;
    ctx.report(
      'error',
      'structure',
      `ElementDefinition.slicing.discriminator.path: '${x.path}' does not name an element below ${path}`,
      `${at}.discriminator[${k}].path`,
    );
  });
}

function checkFixed(ctx: CheckContext, d: Json, baseEl: CompiledElement, path: string, at: string): void {
  for (const key in d) {
    const fixed = key.startsWith('fixed');
    if (!fixed && !key.startsWith('pattern')) continue;
    const v = d[key];
    const clash =
      (baseEl.fixed !== undefined && !deepEqual(v, baseEl.fixed)) ||
      (baseEl.pattern !== undefined && !matchesPattern(v, baseEl.pattern));
    if (!clash) continue;
    ctx.report(
      'error',
      'value',
      `ElementDefinition.${key}: the value contradicts the ${baseEl.fixed !== undefined ? 'fixed' : 'pattern'} value of ${path} in the base`,
      `${at}.${key}`,
    );
  }
}
