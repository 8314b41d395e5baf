/**
 * Codings of our CodeSystems with displays in fi/sv/en (read from the CodeSystems in the profile
 * package), and translation to standard codes through the ConceptMaps in mappings/conceptmaps/.
 */
import { existsSync, readdirSync } from 'node:fs';
import type { CodeableConcept, Coding } from '@medplum/fhirtypes';
import { projectPath, readProjectJson } from '../shared/project-files.ts';
import { codeSystemUrl } from './config.ts';

export type Language = 'fi' | 'sv' | 'en';
/** The record languages display texts and narratives are written in. */
export const LANGUAGES: readonly Language[] = ['fi', 'sv', 'en'];

/** The record language a resource's `language` (`sv`, `sv-FI` …) stands for; Finnish when none of them. */
export function languageOf(code: string | undefined): Language {
  const primary = code?.split('-')[0]?.toLowerCase();
  return LANGUAGES.find((l) => l === primary) ?? 'fi';
}

interface CodeSystemJson {
  url: string;
  concept?: { code: string; display?: string; designation?: { language?: string; value: string }[] }[];
}
interface ConceptMapJson {
  resourceType: 'ConceptMap';
  group?: {
    source?: string;
    target?: string;
    element?: {
      code?: string;
      display?: string;
      target?: { code?: string; display?: string; equivalence?: string }[];
    }[];
  }[];
}

const displays = new Map<string, Record<Language, string>>();
const forward = new Map<string, Coding[]>();
const backward = new Map<string, Coding>();

function key(system: string, code: string): string {
  return `${system}|${code}`;
}

function loadCodeSystems(): void {
  const dir = projectPath('profiles/package');
  if (!existsSync(dir)) return;
  for (const file of readdirSync(dir).filter((f) => f.startsWith('CodeSystem-') && f.endsWith('.json'))) {
    const cs = readProjectJson<CodeSystemJson>(`profiles/package/${file}`);
    for (const c of cs.concept ?? []) {
      const fi = c.display ?? c.code;
      const designation = (lang: string) => c.designation?.find((d) => d.language === lang)?.value ?? fi;
      displays.set(key(cs.url, c.code), { fi, sv: designation('sv'), en: designation('en') });
    }
  }
}

/** Equivalences that let one code stand for the other. */
const SAFE = new Set(['equivalent', 'equal']);

function loadConceptMaps(): void {
  const dir = projectPath('mappings/conceptmaps');
  if (!existsSync(dir)) return;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const cm = readProjectJson<ConceptMapJson>(`mappings/conceptmaps/${file}`);
    if (cm.resourceType !== 'ConceptMap') continue;
    for (const g of cm.group ?? []) {
      if (!g.source || !g.target) continue;
      for (const e of g.element ?? []) {
        for (const t of e.target ?? []) {
          if (!e.code || !t.code || !SAFE.has(t.equivalence ?? '')) continue;
          const target: Coding = {
            system: g.target,
            code: t.code,
            ...(t.display ? { display: t.display } : {}),
          };
          const list = forward.get(key(g.source, e.code)) ?? [];
          list.push(target);
          forward.set(key(g.source, e.code), list);
          backward.set(key(g.target, t.code), { system: g.source, code: e.code });
        }
      }
    }
  }
}

loadCodeSystems();
loadConceptMaps();

export function display(system: string, code: string, language: Language = 'fi'): string {
  return displays.get(key(system, code))?.[language] ?? code;
}

interface Codings {
  ours: Coding;
  more: Coding[];
  names: Record<Language, string>;
}
/** Per CodeSystem id, per code: our coding and its equivalents (memo; the tables never change). */
const codingMemo = new Map<string, Map<string, Codings>>();
function codings(csId: string, code: string): Codings {
  let byCode = codingMemo.get(csId);
  if (!byCode) {
    byCode = new Map();
    codingMemo.set(csId, byCode);
  }
  let c = byCode.get(code);
  if (!c) {
    const system = codeSystemUrl(csId);
    c = {
      ours: { system, code, display: display(system, code) },
      more: forward.get(key(system, code)) ?? [],
      names: displays.get(key(system, code)) ?? { fi: code, sv: code, en: code },
    };
    byCode.set(code, c);
  }
  return c;
}

function copy(c: Coding): Coding {
  return c.display === undefined
    ? { system: c.system, code: c.code }
    : { system: c.system, code: c.code, display: c.display };
}

/** A Coding of our CodeSystem `csId` with its Finnish display (the CodeSystems' display language). */
export function coding(csId: string, code: string): Coding {
  return copy(codings(csId, code).ours);
}

/** A CodeableConcept with our coding first, then every equivalent standard coding the ConceptMaps give. */
export function concept(csId: string, code: string): CodeableConcept {
  const { ours, more } = codings(csId, code);
  const list = [copy(ours)];
  for (const m of more) list.push(copy(m));
  return { coding: list };
}

/** Display of our code in a language, by CodeSystem id. */
export function displayOf(csId: string, code: string, language: Language): string {
  return codings(csId, code).names[language];
}

/** Our code in CodeSystem `csId` from a CodeableConcept, directly or back through a ConceptMap. */
export function codeFrom(cc: CodeableConcept | undefined, csId: string): string | undefined {
  const system = codeSystemUrl(csId);
  for (const c of cc?.coding ?? []) if (c.system === system && c.code) return c.code;
  for (const c of cc?.coding ?? []) {
    const back = c.system && c.code ? backward.get(key(c.system, c.code)) : undefined;
    if (back?.system === system) return back.code;
  }
  return undefined;
}
