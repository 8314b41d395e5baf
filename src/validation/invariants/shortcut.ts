// Most published invariants read "x.empty() or ...", "x.exists() or ..." or "x.exists() implies ...":
// decided by whether `x` is there, which a glance at the JSON tells. Spotting that from the
// expression text lets us skip fhirpath.js (whose per-call set-up dominates validation time)
// without changing any verdict: we only ever skip evaluations whose result is certainly true.
import { type JsonObject, isJsonObject } from '../../shared/json-object.ts';

/** When a name's presence or absence alone makes the whole invariant true. */
export interface Shortcut {
  /** Member steps from the node, e.g. ['entry', 'search']. */
  path: string[];
  /**
   * `absent`/`present`: of the path; `differs`: the (single, primitive) value is not `value`;
   * `lacks`: like `differs`, or no value at all (a `where(f = 'v')` filter drops such items);
   * `noCoding`: no Coding at the path has `system` = value and `code` = code.
   */
  when: 'absent' | 'present' | 'differs' | 'lacks' | 'noCoding';
  value?: string;
  code?: string;
}

/**
 * Walks `expr` outside string literals and parentheses: `atTopLevel(i)` sees each such character
 * (a literal's opening quote too) and answers how many characters to skip after it, or false to stop.
 * Returns false when stopped.
 */
function scanTopLevel(expr: string, atTopLevel: (i: number) => number | false): boolean {
  let depth = 0;
  let quote = false;
  for (let i = 0; i < expr.length; i++) {
    const ch = expr[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === "'") quote = false;
    } else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else {
      const skip = depth === 0 ? atTopLevel(i) : 0;
      if (skip === false) return false;
      if (ch === "'") quote = true;
      else i += skip;
    }
  }
  return true;
}

/** Splits at top-level occurrences of ` ${word} ` (outside parentheses and string literals). */
function splitTopLevel(expr: string, word: string): string[] {
  const parts: string[] = [];
  const token = ` ${word} `;
  let start = 0;
  scanTopLevel(expr, (i) => {
    if (!expr.startsWith(token, i)) return 0;
    parts.push(expr.slice(start, i));
    start = i + token.length;
    return token.length - 1;
  });
  parts.push(expr.slice(start));
  return parts.map((p) => p.trim());
}

/** `a.b.where(x).empty()` → ['a', 'b', 'where(x)', 'empty()']; undefined when not a plain chain. */
function splitSteps(expr: string): string[] | undefined {
  const steps: string[] = [];
  let start = 0;
  const plain = scanTopLevel(expr, (i) => {
    const ch = expr[i] as string;
    if (ch !== '.') return /[A-Za-z0-9_]/.test(ch) ? 0 : false;
    steps.push(expr.slice(start, i));
    start = i + 1;
    return 0;
  });
  if (!plain) return undefined;
  steps.push(expr.slice(start));
  return steps;
}

function stripParens(s: string): string {
  let t = s.trim();
  while (t.startsWith('(') && t.endsWith(')') && balanced(t.slice(1, -1))) t = t.slice(1, -1).trim();
  return t;
}

function balanced(s: string): boolean {
  let depth = 0;
  for (const ch of s) {
    if (ch === '(') depth++;
    else if (ch === ')' && --depth < 0) return false;
  }
  return depth === 0;
}

const identifier = /^[a-z][A-Za-z0-9]*$/;
// Steps that keep an empty collection empty, so `x.<steps>.empty()` is true when `x` is absent.
const emptyPreserving =
  /^(?:[a-z][A-Za-z0-9]*|where\(.*\)|select\(.*\)|ofType\([A-Za-z]+\)|first\(\)|last\(\)|tail\(\)|distinct\(\))$/s;

const memberStep = /^[a-z][A-Za-z0-9]*$/;
const equality = /^([a-z][A-Za-z0-9]*) ?= ?'([^'\\]*)'$/;
const codingFilter = /^where\(system ?= ?'([^']*)' and code ?= ?'([^']*)'\)$/;
const fieldFilter = /^where\(([a-z][A-Za-z0-9]*) ?= ?'([^']*)'\)$/;
const bothExistNot = /^\(([a-z][A-Za-z0-9]*)\.exists\(\) and ([a-z][A-Za-z0-9]*)\.exists\(\)\)\.not\(\)$/;

/** The shortcut one disjunct offers, if any. */
function termShortcut(term: string): Shortcut | undefined {
  const steps = splitSteps(stripParens(term));
  if (!steps || steps.length < 2) return undefined;
  const last = steps[steps.length - 1];
  // `where(use = 'home').empty()` on the node itself: true unless the node's field equals the value.
  const onSelf = steps.length === 2 && last === 'empty()' ? fieldFilter.exec(steps[0]) : null;
  if (onSelf) return { path: [onSelf[1]], when: 'lacks', value: onSelf[2] };
  if (!identifier.test(steps[0])) return undefined;
  // `a.coding.where(system = 'S' and code = 'C').empty()`: true when no such Coding is there.
  if (last === 'empty()' && steps.length >= 3 && steps.slice(0, -2).every((s) => memberStep.test(s))) {
    const f = codingFilter.exec(steps[steps.length - 2]);
    if (f) return { path: steps.slice(0, -2), when: 'noCoding', value: f[1], code: f[2] };
  }
  if (last === 'empty()' && steps.slice(1, -1).every((s) => emptyPreserving.test(s))) {
    // Leading member steps give the path whose absence empties the whole chain.
    const members = steps.slice(0, -1);
    const cut = members.findIndex((s) => !memberStep.test(s));
    return { path: cut < 0 ? members : members.slice(0, cut), when: 'absent' };
  }
  if (steps.length === 2 && last === 'exists()') return { path: [steps[0]], when: 'present' };
  if (steps.length === 3 && steps[1] === 'hasValue()' && last === 'not()')
    return { path: [steps[0]], when: 'absent' };
  return undefined;
}

/**
 * Conditions on child elements under which the expression is certainly true: a disjunction with a
 * `x...empty()` / `x.hasValue().not()` term (true when `x` is absent) or an `x.exists()` term (true
 * when present), or `x.exists() implies ...` (true when absent). Empty when no shortcut applies.
 */
export function shortcutsFor(expression: string): Shortcut[] {
  const out: Shortcut[] = [];
  const both = bothExistNot.exec(expression.trim());
  if (both)
    return [
      { path: [both[1]], when: 'absent' },
      { path: [both[2]], when: 'absent' },
    ];
  // `implies` and `xor` bind looser than (or as loose as) `or`; with them at top level, the
  // disjunction is not the whole expression.
  const implication = splitTopLevel(expression, 'implies');
  if (splitTopLevel(expression, 'xor').length > 1 || implication.length > 2) return out;
  if (implication.length === 2) {
    const antecedent = stripParens(implication[0]);
    const eq = equality.exec(antecedent);
    if (eq) {
      out.push({ path: [eq[1]], when: 'differs', value: eq[2] });
      return out;
    }
    const left = termShortcut(antecedent);
    if (left?.when === 'present') out.push({ path: left.path, when: 'absent' });
    return out;
  }
  // A single term, or a disjunction: any term that is certainly true makes the whole true.
  const disjuncts = splitTopLevel(expression, 'or');
  for (const d of disjuncts) {
    const sc = termShortcut(d);
    if (sc) out.push(sc);
  }
  return out;
}

/** True when one of the shortcuts applies to this node. */
export function triviallyTrue(node: unknown, shortcuts: Shortcut[]): boolean {
  for (const sc of shortcuts) {
    if (sc.when === 'absent') {
      if (sc.path.length === 1 ? isAbsent(node, sc.path[0]) : pathAbsent(node, sc.path)) return true;
    } else if (sc.when === 'present') {
      if (isPresent(node, sc.path[0])) return true;
    } else if (sc.when === 'differs') {
      if (differs(node, sc.path[0], sc.value!)) return true;
    } else if (sc.when === 'lacks') {
      const v = isJsonObject(node) ? node[sc.path[0]] : null;
      if (v === undefined || differs(node, sc.path[0], sc.value!)) return true;
    } else if (noCoding(node, sc.path, sc.value!, sc.code!)) return true;
  }
  return false;
}

/** True when the JSON node has no property for element `name` (plain, `_name`, or a choice `nameX`). */
export function isAbsent(node: unknown, name: string): boolean {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return false;
  const o = node as JsonObject;
  if (o[name] !== undefined || o[`_${name}`] !== undefined) return false;
  for (const k in o) {
    if (k.length > name.length && k.startsWith(name)) {
      const c = k.charCodeAt(name.length);
      if (c >= 65 && c <= 90) return false; // valueQuantity etc.
    }
  }
  return true;
}

/** True when the node certainly has element `name` with content (so `name.exists()` is true). */
export function isPresent(node: unknown, name: string): boolean {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return false;
  const v = (node as JsonObject)[name];
  if (v === undefined || v === null) return false;
  return !Array.isArray(v) || v.length > 0;
}

/** True when following member steps through objects and arrays reaches nothing at all. */
function pathAbsent(node: unknown, path: string[]): boolean {
  let current: unknown[] = [node];
  for (const step of path) {
    const next: unknown[] = [];
    for (const n of current) {
      if (typeof n !== 'object' || n === null || Array.isArray(n)) return false; // not plain JSON we understand
      if (!isAbsent(n, step) && (n as JsonObject)[step] === undefined) return false; // choice/_x forms: give up
      const v = (n as JsonObject)[step];
      if (v === undefined) continue;
      if (Array.isArray(v)) next.push(...v);
      else next.push(v);
    }
    if (next.length === 0) return true;
    current = next;
  }
  return false;
}

/** True when `name` holds one primitive string that is not `value` (so `name = 'value'` is false). */
function differs(node: unknown, name: string, value: string): boolean {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return false;
  const v = (node as JsonObject)[name];
  return typeof v === 'string' && v !== value;
}

/** True when no object reached through `path` has `system` = system and `code` = code. */
function noCoding(node: unknown, path: string[], system: string, code: string): boolean {
  let current: unknown[] = [node];
  for (const step of path) {
    const next: unknown[] = [];
    for (const n of current) {
      if (typeof n !== 'object' || n === null || Array.isArray(n)) return false;
      const v = (n as JsonObject)[step];
      if (v === undefined) continue;
      if (Array.isArray(v)) next.push(...v);
      else next.push(v);
    }
    current = next;
  }
  return current.every(
    (c) =>
      typeof c === 'object' &&
      c !== null &&
      !Array.isArray(c) &&
      !((c as JsonObject).system === system && (c as JsonObject).code === code),
  );
}
