// Most published invariants read "x.empty() or ...", "x.exists() or ..." or "x.exists() implies ...":
// decided by whether `x` is there, which a glance at the JSON tells. Spotting that from the
// expression text lets us skip fhirpath.js (whose per-call set-up dominates validation time)
// without changing any verdict: we only ever skip evaluations whose result is certainly true.

type Obj = Record<string, unknown>;

/** When a name's presence or absence alone makes the whole invariant true. */
export interface Shortcut {
  name: string;
  when: 'absent' | 'present';
}

/** Splits at top-level occurrences of ` ${word} ` (outside parentheses and string literals). */
function splitTopLevel(expr: string, word: string): string[] {
  const parts: string[] = [];
  const token = ` ${word} `;
  let depth = 0;
  let quote = false;
  let start = 0;
  for (let i = 0; i < expr.length; i++) {
    const ch = expr[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === "'") quote = false;
      continue;
    }
    if (ch === "'") quote = true;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (depth === 0 && expr.startsWith(token, i)) {
      parts.push(expr.slice(start, i));
      start = i + token.length;
      i += token.length - 1;
    }
  }
  parts.push(expr.slice(start));
  return parts.map((p) => p.trim());
}

/** `a.b.where(x).empty()` → ['a', 'b', 'where(x)', 'empty()']; undefined when not a plain chain. */
function splitSteps(expr: string): string[] | undefined {
  const steps: string[] = [];
  let depth = 0;
  let quote = false;
  let start = 0;
  for (let i = 0; i < expr.length; i++) {
    const ch = expr[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === "'") quote = false;
      continue;
    }
    if (ch === "'") {
      if (depth === 0) return undefined;
      quote = true;
    } else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (depth === 0 && ch === '.') {
      steps.push(expr.slice(start, i));
      start = i + 1;
    } else if (depth === 0 && !/[A-Za-z0-9_]/.test(ch)) return undefined;
  }
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

/** The shortcut one disjunct offers, if any. */
function termShortcut(term: string): Shortcut | undefined {
  const steps = splitSteps(stripParens(term));
  if (!steps || steps.length < 2 || !identifier.test(steps[0])) return undefined;
  const last = steps[steps.length - 1];
  if (last === 'empty()' && steps.slice(1, -1).every((s) => emptyPreserving.test(s))) return { name: steps[0], when: 'absent' };
  if (steps.length === 2 && last === 'exists()') return { name: steps[0], when: 'present' };
  if (steps.length === 3 && steps[1] === 'hasValue()' && last === 'not()') return { name: steps[0], when: 'absent' };
  return undefined;
}

/**
 * Conditions on child elements under which the expression is certainly true: a disjunction with a
 * `x...empty()` / `x.hasValue().not()` term (true when `x` is absent) or an `x.exists()` term (true
 * when present), or `x.exists() implies ...` (true when absent). Empty when no shortcut applies.
 */
export function shortcutsFor(expression: string): Shortcut[] {
  const out: Shortcut[] = [];
  // `implies` and `xor` bind looser than (or as loose as) `or`; with them at top level, the
  // disjunction is not the whole expression.
  const implication = splitTopLevel(expression, 'implies');
  if (splitTopLevel(expression, 'xor').length > 1 || implication.length > 2) return out;
  if (implication.length === 2) {
    const left = termShortcut(implication[0]);
    if (left?.when === 'present') out.push({ name: left.name, when: 'absent' });
    return out;
  }
  const disjuncts = splitTopLevel(expression, 'or');
  if (disjuncts.length < 2) return out;
  for (const d of disjuncts) {
    const sc = termShortcut(d);
    if (sc) out.push(sc);
  }
  return out;
}

/** True when one of the shortcuts applies to this node. */
export function triviallyTrue(node: unknown, shortcuts: Shortcut[]): boolean {
  for (const sc of shortcuts) {
    if (sc.when === 'absent' ? isAbsent(node, sc.name) : isPresent(node, sc.name)) return true;
  }
  return false;
}

/** True when the JSON node has no property for element `name` (plain, `_name`, or a choice `nameX`). */
export function isAbsent(node: unknown, name: string): boolean {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return false;
  const o = node as Obj;
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
  const v = (node as Obj)[name];
  if (v === undefined || v === null) return false;
  return !Array.isArray(v) || v.length > 0;
}
