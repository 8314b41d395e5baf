// Coded concepts shared by the MeasureReport checks: matching by system and code, and showing them.
import { type Json, isObject } from '../util.ts';

export type Concept = { coding?: Array<{ system?: string; code?: string }> } | undefined;

export const list = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isObject) : []);

/** Two concepts share a coding (same system and code). */
export function sameConcept(a: Concept, b: Concept): boolean {
  for (const x of a?.coding ?? [])
    for (const y of b?.coding ?? []) if (x.code && x.code === y.code && x.system === y.system) return true;
  return false;
}

export function show(c: Concept): string {
  return (c?.coding ?? []).map((x) => `${x.system ?? ''}#${x.code ?? ''}`).join(', ');
}
