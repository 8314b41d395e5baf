import type { CodeSystem, CodeSystemConcept } from '@medplum/fhirtypes';
import { isSpecialConcept } from './special-concepts.ts';

/** One concept of a local CodeSystem, flattened, with what display checks and filters need. */
export interface IndexedConcept {
  code: string;
  /** Lower-cased, whitespace-normalised display and designations. */
  displays: Set<string>;
  /** The display as the CodeSystem spells it (for messages). */
  display?: string;
  parents: Set<string>;
  children: Set<string>;
  properties: Map<string, string[]>;
  /** R4 `status`/`inactive`/`notSelectable` properties: abstract concepts are not valid in most bindings. */
  abstract: boolean;
  inactive: boolean;
}

/** A CodeSystem indexed once for Set lookups. */
export interface IndexedCodeSystem {
  url: string;
  /** `url|version` when the CodeSystem has a version (for messages, as the HL7 validator names it). */
  versionedUrl: string;
  version?: string;
  /** True when the definition lists every code (`content = complete`), so an unknown code is really unknown. */
  complete: boolean;
  /** `content = fragment`: an unknown code may be valid in another fragment. */
  fragment: boolean;
  /** `caseSensitive = true`; absent means false, as the HL7 validator's `getCaseSensitive()` reads it. */
  caseSensitive: boolean;
  concepts: Map<string, IndexedConcept>;
  lookup(code: string): IndexedConcept | undefined;
  /** The code and all its descendants (`is-a`), or undefined when the code is not in the system. */
  descendants(code: string, includeSelf: boolean): Set<string> | undefined;
}

export function normaliseDisplay(s: string): string {
  return s.trim().replace(/\s+/g, ' ').toLowerCase();
}

export function indexCodeSystem(cs: CodeSystem): IndexedCodeSystem {
  const concepts = new Map<string, IndexedConcept>();
  const caseSensitive = cs.caseSensitive === true;
  const key = (code: string) => (caseSensitive ? code : code.toLowerCase());
  const parentLinks: Array<[child: string, parent: string]> = [];

  const visit = (list: CodeSystemConcept[] | undefined, parent: string | undefined) => {
    for (const c of list ?? []) {
      if (!c.code) continue;
      const concept: IndexedConcept = {
        code: c.code,
        displays: new Set(),
        display: c.display,
        parents: new Set(),
        children: new Set(),
        properties: new Map(),
        abstract: false,
        inactive: false,
      };
      if (c.display) concept.displays.add(normaliseDisplay(c.display));
      for (const d of c.designation ?? []) if (d.value) concept.displays.add(normaliseDisplay(d.value));
      for (const p of c.property ?? []) {
        const v = p.valueCode ?? p.valueString ?? p.valueCoding?.code ?? valueText(p);
        if (!p.code || v === undefined) continue;
        const list = concept.properties.get(p.code) ?? [];
        list.push(v);
        concept.properties.set(p.code, list);
        if ((p.code === 'parent' || p.code === 'subsumedBy') && typeof v === 'string')
          parentLinks.push([c.code, v]);
        if (p.code === 'child' && typeof v === 'string') parentLinks.push([v, c.code]);
        if (p.code === 'notSelectable' && p.valueBoolean === true) concept.abstract = true;
        if (p.code === 'abstract' && p.valueBoolean === true) concept.abstract = true;
        if (p.code === 'status' && (v === 'retired' || v === 'deprecated')) concept.inactive = true;
        if (p.code === 'inactive' && p.valueBoolean === true) concept.inactive = true;
      }
      if (parent) parentLinks.push([c.code, parent]);
      concepts.set(key(c.code), concept);
      visit(c.concept, c.code);
    }
  };
  visit(cs.concept, undefined);
  for (const [child, parent] of parentLinks) {
    concepts.get(key(child))?.parents.add(parent);
    concepts.get(key(parent))?.children.add(child);
  }

  const url = cs.url ?? '';
  // A code the system defines by rule (v2-0203's NN + country code) is a concept without displays.
  const lookup = (code: string) =>
    concepts.get(key(code)) ?? (isSpecialConcept(url, code) ? ruleConcept(code) : undefined);
  const descendants = (code: string, includeSelf: boolean): Set<string> | undefined => {
    const start = lookup(code);
    if (!start) return undefined;
    const out = new Set<string>();
    const stack = [...start.children];
    while (stack.length) {
      const c = lookup(stack.pop()!);
      if (!c || out.has(c.code)) continue;
      out.add(c.code);
      stack.push(...c.children);
    }
    if (includeSelf) out.add(start.code);
    return out;
  };

  return {
    url,
    versionedUrl: cs.version ? `${url}|${cs.version}` : url,
    version: cs.version,
    complete: cs.content === 'complete' && concepts.size > 0,
    fragment: cs.content === 'fragment',
    caseSensitive,
    concepts,
    lookup,
    descendants,
  };
}

function ruleConcept(code: string): IndexedConcept {
  return {
    code,
    displays: new Set(),
    parents: new Set(),
    children: new Set(),
    properties: new Map(),
    abstract: false,
    inactive: false,
  };
}

function valueText(p: NonNullable<CodeSystemConcept['property']>[number]): string | undefined {
  if (p.valueBoolean !== undefined) return String(p.valueBoolean);
  if (p.valueInteger !== undefined) return String(p.valueInteger);
  if (p.valueDecimal !== undefined) return String(p.valueDecimal);
  if (p.valueDateTime !== undefined) return p.valueDateTime;
  return undefined;
}
