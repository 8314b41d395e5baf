import type { ValueSet, ValueSetComposeInclude, ValueSetExpansionContains } from '@medplum/fhirtypes';
import type { IndexedCodeSystem, IndexedConcept } from './codesystem.ts';
import { normaliseDisplay } from './codesystem.ts';

/** Membership facts for one system inside a compiled ValueSet. */
export interface SystemMembers {
  /** Codes listed (or enumerated from a local CodeSystem); key is the code as written, or lower-cased when the system is case-insensitive. */
  codes: Map<string, Set<string>>;
  caseSensitive: boolean;
  /**
   * True when membership for this system cannot be decided from what we hold: the whole system or a
   * filter on a system we do not have. Any code of the system is then accepted with a warning (or a
   * light syntax check).
   */
  open: boolean;
}

/** A ValueSet expanded once into Set lookups. */
export interface CompiledValueSet {
  url: string;
  /** The ValueSet's title (or name), as the HL7 validator names it in messages. */
  title?: string;
  systems: Map<string, SystemMembers>;
  /** Imports or CodeSystems we could not resolve; membership outside `systems` is then uncertain. */
  unresolved: string[];
}

export interface ExpansionContext {
  codeSystem(url: string): IndexedCodeSystem | undefined;
  valueSet(url: string): CompiledValueSet | undefined;
}

function membersFor(vs: CompiledValueSet, system: string, caseSensitive: boolean): SystemMembers {
  let m = vs.systems.get(system);
  if (!m) {
    m = { codes: new Map(), caseSensitive, open: false };
    vs.systems.set(system, m);
  }
  return m;
}

function addCode(m: SystemMembers, code: string, displays: Iterable<string>): void {
  const key = m.caseSensitive ? code : code.toLowerCase();
  const existing = m.codes.get(key);
  if (existing) for (const d of displays) existing.add(d);
  else m.codes.set(key, new Set(displays));
}

export function compileValueSet(vs: ValueSet, ctx: ExpansionContext): CompiledValueSet {
  const out: CompiledValueSet = {
    url: vs.url ?? '',
    title: vs.title ?? vs.name,
    systems: new Map(),
    unresolved: [],
  };
  if (vs.compose) {
    for (const inc of vs.compose.include ?? []) mergeInto(out, includeSet(inc, ctx, out));
    for (const exc of vs.compose.exclude ?? []) subtract(out, includeSet(exc, ctx, out));
  } else if (vs.expansion?.contains) {
    addContains(out, vs.expansion.contains, ctx);
  }
  return out;
}

function addContains(out: CompiledValueSet, list: ValueSetExpansionContains[], ctx: ExpansionContext): void {
  for (const c of list) {
    if (c.system && c.code && !c.abstract) {
      const cs = ctx.codeSystem(c.system);
      addCode(
        membersFor(out, c.system, cs?.caseSensitive ?? true),
        c.code,
        c.display ? [normaliseDisplay(c.display)] : [],
      );
    }
    if (c.contains) addContains(out, c.contains, ctx);
  }
}

/** The codes one include/exclude entry selects. */
function includeSet(
  inc: ValueSetComposeInclude,
  ctx: ExpansionContext,
  owner: CompiledValueSet,
): CompiledValueSet {
  const part: CompiledValueSet = { url: '', systems: new Map(), unresolved: [] };
  if (inc.system) {
    const system = inc.system;
    const cs = ctx.codeSystem(system);
    const m = membersFor(part, system, cs?.caseSensitive ?? true);
    if (inc.concept?.length) {
      for (const c of inc.concept) {
        if (!c.code) continue;
        const known = cs?.lookup(c.code);
        const displays = known ? [...known.displays] : [];
        if (c.display) displays.push(normaliseDisplay(c.display));
        for (const d of c.designation ?? []) if (d.value) displays.push(normaliseDisplay(d.value));
        addCode(m, known?.code ?? c.code, displays);
      }
    } else if (inc.filter?.length) {
      if (!cs?.complete) {
        m.open = true;
      } else {
        let selected: IndexedConcept[] | undefined;
        for (const f of inc.filter) {
          const matched = applyFilter(cs, f.property ?? '', f.op ?? '', f.value ?? '');
          if (!matched) {
            m.open = true;
            selected = undefined;
            break;
          }
          selected = selected
            ? selected.filter((c) => matched.has(c.code))
            : [...matched].map((code) => cs.lookup(code)!);
        }
        for (const c of selected ?? []) addCode(m, c.code, c.displays);
      }
    } else if (cs?.complete) {
      for (const c of cs.concepts.values()) if (!c.abstract) addCode(m, c.code, c.displays);
    } else {
      m.open = true;
    }
  }
  if (inc.valueSet?.length) {
    let acc: CompiledValueSet | undefined;
    for (const url of inc.valueSet) {
      const imported = ctx.valueSet(url);
      if (!imported) {
        owner.unresolved.push(url);
        continue;
      }
      owner.unresolved.push(...imported.unresolved);
      acc = acc ? intersect(acc, imported) : imported;
    }
    if (acc) return inc.system ? intersect(part, acc) : acc;
    if (!inc.system) return part;
  }
  return part;
}

function applyFilter(
  cs: IndexedCodeSystem,
  property: string,
  op: string,
  value: string,
): Set<string> | undefined {
  const all = [...cs.concepts.values()];
  const isConceptProperty = property === 'concept' || property === 'code';
  switch (op) {
    case 'is-a':
      return isConceptProperty ? (cs.descendants(value, true) ?? new Set()) : undefined;
    case 'descendent-of':
      return isConceptProperty ? (cs.descendants(value, false) ?? new Set()) : undefined;
    case 'is-not-a': {
      if (!isConceptProperty) return undefined;
      const excluded = cs.descendants(value, true) ?? new Set();
      return new Set(all.filter((c) => !excluded.has(c.code)).map((c) => c.code));
    }
    case 'generalizes': {
      if (!isConceptProperty) return undefined;
      const out = new Set<string>();
      const stack = [value];
      while (stack.length) {
        const c = cs.lookup(stack.pop()!);
        if (!c || out.has(c.code)) continue;
        out.add(c.code);
        stack.push(...c.parents);
      }
      return out;
    }
    case '=':
      if (isConceptProperty) return cs.lookup(value) ? new Set([cs.lookup(value)!.code]) : new Set();
      return new Set(all.filter((c) => c.properties.get(property)?.includes(value)).map((c) => c.code));
    case 'in': {
      const values = value.split(',').map((v) => v.trim());
      if (isConceptProperty)
        return new Set(values.map((v) => cs.lookup(v)?.code).filter((v): v is string => !!v));
      return new Set(
        all.filter((c) => c.properties.get(property)?.some((v) => values.includes(v))).map((c) => c.code),
      );
    }
    case 'not-in': {
      const values = value.split(',').map((v) => v.trim());
      if (!isConceptProperty) return undefined;
      return new Set(all.filter((c) => !values.includes(c.code)).map((c) => c.code));
    }
    case 'regex': {
      let re: RegExp;
      try {
        re = new RegExp(`^(?:${value})$`);
      } catch {
        return undefined;
      }
      if (isConceptProperty) return new Set(all.filter((c) => re.test(c.code)).map((c) => c.code));
      return new Set(
        all.filter((c) => c.properties.get(property)?.some((v) => re.test(v))).map((c) => c.code),
      );
    }
    case 'exists': {
      const want = value !== 'false';
      return new Set(all.filter((c) => c.properties.has(property) === want).map((c) => c.code));
    }
    default:
      return undefined;
  }
}

function mergeInto(target: CompiledValueSet, part: CompiledValueSet): void {
  for (const [system, m] of part.systems) {
    const t = membersFor(target, system, m.caseSensitive);
    t.open ||= m.open;
    for (const [code, displays] of m.codes) addCode(t, code, displays);
  }
}

function subtract(target: CompiledValueSet, part: CompiledValueSet): void {
  for (const [system, m] of part.systems) {
    const t = target.systems.get(system);
    if (!t) continue;
    // Excluding a whole system we could enumerate empties it; an open exclude we cannot apply.
    for (const code of m.codes.keys()) t.codes.delete(code);
  }
}

function intersect(a: CompiledValueSet, b: CompiledValueSet): CompiledValueSet {
  const out: CompiledValueSet = { url: '', systems: new Map(), unresolved: [] };
  for (const [system, ma] of a.systems) {
    const mb = b.systems.get(system);
    if (!mb) continue;
    const m = membersFor(out, system, ma.caseSensitive);
    m.open = ma.open && mb.open;
    if (ma.open && !mb.open) for (const [c, d] of mb.codes) addCode(m, c, d);
    else if (mb.open && !ma.open) for (const [c, d] of ma.codes) addCode(m, c, d);
    else for (const [c, d] of ma.codes) if (mb.codes.has(c)) addCode(m, c, d);
  }
  return out;
}
