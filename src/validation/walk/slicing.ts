import type { CheckContext } from '../checks/context.ts';
import type { CompiledElement, CompiledSlicing } from '../compiled.ts';
import { isObject } from '../util.ts';
import { deepEqual, matchesPattern } from '../values.ts';
import { evaluatePath, ofTypeOf, resolveTarget, typesAtPath } from './discriminator-path.ts';

type Json = Record<string, unknown>;

/** A discriminator prepared once per slice: what to look at in an item and what it must be. */
type Test =
  | { kind: 'value'; path: string[]; expected: Expected[] }
  | { kind: 'binding'; path: string[]; valueSet: string }
  | { kind: 'exists'; path: string[]; present: boolean }
  | { kind: 'type'; path: string[]; types: Set<string> }
  | { kind: 'profile'; path: string[]; profiles: string[] }
  | { kind: 'any' };

/** One acceptable value for a value/pattern discriminator: exact (fixed) or containment (pattern). */
interface Expected {
  value: unknown;
  exact: boolean;
}

const prepared = new WeakMap<CompiledElement, Test[]>();

/**
 * Validates the items of a sliced element: assigns each to the first slice whose discriminators match
 * (matching more than one is an error), validates it against that slice (every rule inside the slice),
 * checks closed/openAtEnd/ordered and each slice's cardinality (also when the element is absent).
 */
export function validateSliced(
  walk: CheckContext,
  el: CompiledElement,
  values: unknown[],
  exts: unknown[] | undefined,
  type: string,
  seg: string,
): void {
  const slicing = el.slicing!;
  const slices = el.slices;
  const counts = new Array<number>(slices.length).fill(0);
  // Items per slice, kept only when a slice is resliced (`mrn/old`).
  const members = slices.some((sl) => sl.slices.length) ? slices.map((): number[] => []) : undefined;
  const baseHasChildren = walk.compiler.childrenOf(el).length > 0;
  let last = -1;
  let unmatchedSeen = false;
  // Items that may belong to a slice, undecided (a profile discriminator through a reference we cannot resolve).
  let undecided: number[] | undefined;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const x = exts?.[i] ?? null;
    const s = v !== null && v !== undefined ? matchSlice(walk, el, slicing, slices, v, seg, i) : -1;
    if (s >= 0) {
      counts[s]++;
      members?.[s].push(i);
      const slice = slices[s];
      if (slicing.ordered && s < last) {
        at(walk, seg, i, `${el.path}: slice '${slice.sliceName}' is out of order (slicing is ordered)`);
      }
      if (slicing.rules === 'openAtEnd' && unmatchedSeen) {
        at(
          walk,
          seg,
          i,
          `${el.path}: slice '${slice.sliceName}' follows an unsliced element (open slices must be at the end)`,
        );
      }
      if (s > last) last = s;
      walk.value(v, x, slice, sliceType(slice, type), seg, i, true);
      if (baseHasChildren) walk.value(v, x, el, type, seg, i, true);
    } else {
      unmatchedSeen = true;
      const open = v !== null && v !== undefined ? undecidedSlice(walk, v, slicing, slices) : undefined;
      if (open) {
        undecided ??= new Array<number>(slices.length).fill(0);
        undecided[open.slice]++;
        walk.at.push(seg, i);
        walk.report(
          'warning',
          'not-found',
          `${el.path}: the reference '${open.reference}' cannot be resolved here, so whether it belongs to the slice '${slices[open.slice].sliceName}' (profile discriminator through resolve()) has not been decided`,
        );
        walk.at.pop();
      } else if (slicing.rules === 'closed' && v !== null && v !== undefined) {
        const names = slices.map((sl) => sl.sliceName).join(', ');
        at(
          walk,
          seg,
          i,
          `${el.path}: this element does not match any known slice (${names}) and the slicing is closed`,
        );
      }
      walk.value(v ?? null, x, el, type, seg, i, true);
    }
  }
  checkSliceCounts(walk, el, slices, counts, seg, undecided);
  if (members) {
    for (let j = 0; j < slices.length; j++)
      if (slices[j].slices.length)
        validateReslices(walk, slices[j], slicing, members[j], { values, exts, type, seg });
  }
}

/** The items being sliced, as the walker gave them. */
interface Items {
  values: unknown[];
  exts: unknown[] | undefined;
  type: string;
  seg: string;
}

/**
 * The items of a resliced slice matched again among its reslices (`mrn/old`), by the slice's own slicing
 * or, when it declares none, by the slicing it is a slice of (then open: a reslice does not close it);
 * reslices of reslices (`mrn/old/paper`) the same way, one level further.
 */
function validateReslices(
  walk: CheckContext,
  slice: CompiledElement,
  inherited: CompiledSlicing,
  items: number[],
  all: Items,
): void {
  const slicing = slice.slicing ?? { ...inherited, rules: 'open' as const, ordered: false };
  const reslices = slice.slices;
  const counts = new Array<number>(reslices.length).fill(0);
  const members = reslices.map((): number[] => []);
  for (const i of items) {
    const v = all.values[i];
    const r = matchSlice(walk, slice, slicing, reslices, v, all.seg, i);
    if (r >= 0) {
      counts[r]++;
      members[r].push(i);
      const rs = reslices[r];
      walk.value(v, all.exts?.[i] ?? null, rs, sliceType(rs, all.type), all.seg, i, true);
    } else if (slicing.rules === 'closed') {
      const names = reslices.map((rs) => rs.sliceName).join(', ');
      at(
        walk,
        all.seg,
        i,
        `${slice.path}:${slice.sliceName}: this element does not match any known reslice (${names}) and the slicing is closed`,
      );
    }
  }
  checkSliceCounts(walk, slice, reslices, counts, all.seg);
  for (let r = 0; r < reslices.length; r++)
    if (reslices[r].slices.length) validateReslices(walk, reslices[r], slicing, members[r], all);
}

/**
 * The first of `slices` the item matches, or -1. Matching another one as well is an error, once per
 * further slice, and the item stays in the first (the HL7 validator's verdict; a slice and its own
 * reslice are not two matches: reslices are matched apart, among themselves). Only certain matches
 * count twice: a discriminator we cannot decide here lets an item in, but never into a second slice.
 */
function matchSlice(
  walk: CheckContext,
  sliced: CompiledElement,
  slicing: CompiledSlicing,
  slices: CompiledElement[],
  item: unknown,
  seg: string,
  i: number,
): number {
  let first = 0;
  while (first < slices.length && !sliceMatches(walk, item, slicing, slices[first], false)) first++;
  if (first === slices.length) return -1;
  let certain: boolean | undefined;
  for (let j = first + 1; j < slices.length; j++) {
    if (!sliceMatches(walk, item, slicing, slices[j], true)) continue;
    certain ??= sliceMatches(walk, item, slicing, slices[first], true);
    if (!certain) break;
    const owner = sliced.sliceName ? `${sliced.path}:${sliced.sliceName}` : sliced.path;
    at(
      walk,
      seg,
      i,
      `${owner}: this element matches more than one slice (${slices[first].sliceName}, ${slices[j].sliceName})`,
    );
  }
  return first;
}

/** Each slice's cardinality against the number of items it matched. */
function checkSliceCounts(
  walk: CheckContext,
  el: CompiledElement,
  slices: CompiledElement[],
  counts: number[],
  seg: string,
  undecided?: number[],
): void {
  for (let j = 0; j < slices.length; j++) {
    const s = slices[j];
    const n = counts[j];
    // Undecided items may fill a slice's minimum; they are never counted against its maximum.
    if (n + (undecided?.[j] ?? 0) < s.min)
      walk.report(
        'error',
        'required',
        `${el.path}:${s.sliceName}: minimum required = ${s.min}, but only found ${n}`,
      );
    if (n > s.max) {
      walk.report(
        'error',
        'structure',
        `${el.path}:${s.sliceName}: max allowed = ${s.max === 0 ? '0 (not allowed)' : s.max}, but found ${n}`,
        seg,
      );
    }
  }
}

function at(walk: CheckContext, seg: string, i: number, message: string): void {
  walk.at.push(seg, i);
  walk.report('error', 'structure', message);
  walk.at.pop();
}

function sliceType(slice: CompiledElement, fallback: string): string {
  return slice.types.length === 1 ? slice.types[0].code : fallback;
}

/** `certain`: only a match every test decides (no undecidable discriminator, no unverifiable binding). */
function sliceMatches(
  walk: CheckContext,
  item: unknown,
  slicing: CompiledSlicing,
  slice: CompiledElement,
  certain: boolean,
): boolean {
  let tests = prepared.get(slice);
  if (!tests) {
    tests = slicing.discriminators.map((d) => prepare(walk, slice, d.type, d.path));
    prepared.set(slice, tests);
  }
  for (const t of tests) if (!passes(walk, item, t, certain)) return false;
  return true;
}

/**
 * For an item no slice matched: the first slice it would match if the references a profile
 * discriminator resolves through (`resolve()`) could be resolved — every other test passes and each
 * failing profile test is on such a reference — with that reference. The HL7 validator resolves what
 * it can fetch; a reference outside what we were given is not a reason to refuse the item.
 */
function undecidedSlice(
  walk: CheckContext,
  item: unknown,
  slicing: CompiledSlicing,
  slices: CompiledElement[],
): { slice: number; reference: string } | undefined {
  // Only worth asking where it can change a verdict: a closed slicing or a slice minimum, and a
  // profile discriminator through resolve() (most slicings have neither; this runs per unmatched item).
  if (slicing.rules !== 'closed' && !slices.some((sl) => sl.min > 0)) return undefined;
  if (!slices.some((sl) => prepared.get(sl)?.some(isResolvingProfile))) return undefined;
  for (let j = 0; j < slices.length; j++) {
    const tests = prepared.get(slices[j]);
    if (!tests) continue;
    let reference: string | undefined;
    let possible = true;
    for (const t of tests) {
      if (passes(walk, item, t)) continue;
      const r = t.kind === 'profile' ? unresolvedReference(walk, item, t.path) : undefined;
      if (r === undefined) {
        possible = false;
        break;
      }
      reference ??= r;
    }
    if (possible && reference !== undefined) return { slice: j, reference };
  }
  return undefined;
}

const isResolvingProfile = (t: Test) => t.kind === 'profile' && t.path.includes('resolve()');

/** The first reference the path resolves through that does not resolve here (text or identifier). */
function unresolvedReference(walk: CheckContext, item: unknown, segs: string[]): string | undefined {
  const at = segs.indexOf('resolve()');
  if (at < 0) return undefined;
  for (const ref of evaluatePath(walk, item, segs.slice(0, at))) {
    if (!isObject(ref) || resolveTarget(walk, ref)) continue;
    if (typeof ref.reference === 'string') return ref.reference;
    if (isObject(ref.identifier)) return `identifier ${String(ref.identifier.value ?? '')}`;
  }
  return undefined;
}

function splitPath(path: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of path) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === '.' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur) out.push(cur);
  return out.filter((s) => s !== '$this');
}

function extensionUrl(walk: CheckContext, slice: CompiledElement): string | undefined {
  const urlChild = walk.compiler.childrenOf(slice).find((c) => c.name === 'url');
  if (urlChild && typeof urlChild.fixed === 'string') return urlChild.fixed;
  const profile = slice.types[0]?.profiles[0];
  return profile?.split('|')[0];
}

/** Finds the element a discriminator path designates inside a slice, diving into type profiles. */
function elementAt(
  walk: CheckContext,
  slice: CompiledElement,
  segs: string[],
): { el?: CompiledElement; projected?: { value: unknown; exact: boolean } } {
  let cur: CompiledElement = slice;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i];
    if (seg === 'resolve()' || seg.startsWith('ofType(')) continue;
    const ext = /^extension\(['"](.+)['"]\)$/.exec(seg);
    let children = walk.compiler.childrenOf(cur);
    if (!children.length) {
      const profile = cur.types[0]?.profiles[0];
      const structure = profile ? walk.compiler.structure(profile) : undefined;
      if (structure) children = walk.compiler.childrenOf(structure.root);
    }
    let next: CompiledElement | undefined;
    if (ext) {
      const holder = children.find((c) => c.name === 'extension');
      next = holder?.slices.find((s) => extensionUrl(walk, s) === ext[1]);
    } else {
      next = children.find((c) => c.name === seg || c.jsonName === seg);
    }
    if (!next) {
      const source = cur.fixed !== undefined ? cur.fixed : cur.pattern;
      if (source !== undefined)
        return { projected: { value: project(source, segs.slice(i)), exact: cur.fixed !== undefined } };
      return {};
    }
    cur = next;
  }
  return { el: cur };
}

/**
 * Values a value/pattern discriminator path may take in a slice. The path is followed through children
 * and through required slices of those children (the core bp profile fixes `code.coding.code` only in
 * the slice `code.coding:SBPCode`); where an element has no child for the rest of the path, its own
 * fixed/pattern value is projected along it.
 */
function expectedValues(walk: CheckContext, slice: CompiledElement, segs: string[]): Expected[] {
  let frontier: CompiledElement[] = [slice];
  const out: Expected[] = [];
  for (let i = 0; i < segs.length && frontier.length; i++) {
    const seg = segs[i];
    if (seg.startsWith('ofType(')) continue;
    if (seg === 'resolve()') {
      // Continue in the target profiles of the reference (lipidprofile: `resolve().code`).
      const targets: CompiledElement[] = [];
      for (const cur of frontier) {
        for (const t of cur.types) {
          for (const url of t.targetProfiles) {
            const structure = walk.compiler.structure(url);
            if (structure) targets.push(structure.root);
          }
        }
      }
      frontier = targets;
      continue;
    }
    const ext = /^extension\(['"](.+)['"]\)$/.exec(seg);
    const next: CompiledElement[] = [];
    for (const cur of frontier) {
      let children = walk.compiler.childrenOf(cur);
      if (!children.length) {
        const profile = cur.types[0]?.profiles[0];
        const structure = profile ? walk.compiler.structure(profile) : undefined;
        if (structure) children = walk.compiler.childrenOf(structure.root);
      }
      let child: CompiledElement | undefined;
      if (ext)
        child = children
          .find((c) => c.name === 'extension')
          ?.slices.find((sl) => extensionUrl(walk, sl) === ext[1]);
      else child = children.find((c) => c.name === seg || c.jsonName === seg);
      if (child) {
        next.push(child);
        for (const sl of child.slices) if (sl.min >= 1) next.push(sl);
        continue;
      }
      const source = cur.fixed !== undefined ? cur.fixed : cur.pattern;
      const projected = source === undefined ? undefined : project(source, segs.slice(i));
      if (projected !== undefined) out.push({ value: projected, exact: cur.fixed !== undefined });
    }
    frontier = next;
  }
  for (const el of frontier) {
    const implied = impliedPattern(walk, el, 0);
    if (implied !== undefined) out.push({ value: implied, exact: el.fixed !== undefined });
  }
  return out;
}

/**
 * The pattern an element's descendants imply when it has none itself: fixed/pattern children and the
 * contents of required slices, e.g. `code` whose `coding` has a required slice with fixed system and
 * code implies `{coding: [{system, code}]}`.
 */
function impliedPattern(walk: CheckContext, el: CompiledElement, depth: number): unknown {
  if (el.fixed !== undefined) return el.fixed;
  if (el.pattern !== undefined) return el.pattern;
  if (depth > 4) return undefined;
  const out: Json = {};
  let found = false;
  for (const child of walk.compiler.childrenOf(el)) {
    if (child.choice) continue;
    const parts: unknown[] = [];
    const own = impliedPattern(walk, child, depth + 1);
    if (own !== undefined) parts.push(own);
    for (const slice of child.slices) {
      if (slice.min < 1) continue;
      const p = impliedPattern(walk, slice, depth + 1);
      if (p !== undefined) parts.push(p);
    }
    if (!parts.length) continue;
    found = true;
    out[child.name] = child.array ? parts : parts[0];
  }
  return found ? out : undefined;
}

function project(value: unknown, segs: string[]): unknown {
  let v = value;
  for (const s of segs) {
    if (Array.isArray(v)) v = v[0];
    if (!isObject(v)) return undefined;
    v = v[s];
  }
  return v;
}

function prepare(walk: CheckContext, slice: CompiledElement, type: string, path: string): Test {
  const segs = splitPath(path);
  if (type === 'value' || type === 'pattern') {
    if (segs.length === 1 && segs[0] === 'url' && slice.types[0]?.code === 'Extension') {
      const url = extensionUrl(walk, slice);
      if (url) return { kind: 'value', path: segs, expected: [{ value: url, exact: true }] };
    }
    const expected = expectedValues(walk, slice, segs);
    if (expected.length) return { kind: 'value', path: segs, expected };
    const { el } = elementAt(walk, slice, segs);
    if (el?.binding?.strength === 'required')
      return { kind: 'binding', path: segs, valueSet: el.binding.valueSet };
    return { kind: 'any' };
  }
  if (type === 'exists') {
    const { el } = elementAt(walk, slice, segs);
    if (!el) return { kind: 'any' };
    // `value.ofType(T)` where the slice narrows the choice to other types: T cannot be there.
    const only = ofTypeOf(segs[segs.length - 1] ?? '');
    if (only && !el.types.some((t) => t.code === only)) return { kind: 'exists', path: segs, present: false };
    if (el.min >= 1) return { kind: 'exists', path: segs, present: true };
    if (el.max === 0) return { kind: 'exists', path: segs, present: false };
    return { kind: 'any' };
  }
  if (type === 'type') {
    const { el } = elementAt(walk, slice, segs);
    if (!el) return { kind: 'any' };
    // `resolve()` last: the types of the reference's target profiles (none named: any target).
    const resolving = segs[segs.length - 1] === 'resolve()';
    const types = resolving
      ? el.types.flatMap((t) => t.targetProfiles.map((u) => walk.compiler.structure(u)?.type ?? ''))
      : el.types.map((t) => t.code);
    return types.length && !types.includes('')
      ? { kind: 'type', path: segs, types: new Set(types) }
      : { kind: 'any' };
  }
  if (type === 'profile') {
    const { el } = elementAt(walk, slice, segs);
    if (!el) return { kind: 'any' };
    const resolving = segs.includes('resolve()');
    const profiles = el.types.flatMap((t) => (resolving ? t.targetProfiles : t.profiles));
    return profiles.length ? { kind: 'profile', path: segs, profiles } : { kind: 'any' };
  }
  return { kind: 'any' }; // 'position' is not an R4 discriminator
}

function passes(walk: CheckContext, item: unknown, t: Test, certain = false): boolean {
  switch (t.kind) {
    case 'any':
      return !certain;
    case 'value': {
      const values = evaluatePath(walk, item, t.path);
      return values.some((v) =>
        t.expected.some((e) => (e.exact ? deepEqual(v, e.value) : matchesPattern(v, e.value))),
      );
    }
    case 'binding': {
      const term = walk.terminology;
      if (!term) return false;
      return evaluatePath(walk, item, t.path).some((v) => {
        const found: { severity: string; code?: string }[] =
          typeof v === 'string'
            ? term.checkCode(t.valueSet, 'required', { code: v })
            : isObject(v) && Array.isArray(v.coding)
              ? term.checkCodeableConcept(t.valueSet, 'required', v.coding.filter(isObject) as Json[])
              : isObject(v)
                ? term.checkCode(t.valueSet, 'required', v as Json)
                : [{ severity: 'error' }];
        // Certain: membership confirmed, not merely left unchecked (a value set or code system we lack).
        return !found.some((f) => f.severity === 'error' || (certain && f.code === 'not-supported'));
      });
    }
    case 'exists':
      return evaluatePath(walk, item, t.path).length > 0 === t.present;
    case 'type':
      return typesAtPath(walk, item, t.path).some((ty) => t.types.has(ty));
    case 'profile':
      return evaluatePath(walk, item, t.path).some((v) => t.profiles.some((url) => walk.conformsTo(v, url)));
  }
}
