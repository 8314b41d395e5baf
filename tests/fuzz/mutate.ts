/**
 * Deterministic mutation of JSON seeds for the fuzz targets (run.ts): the same seed number gives the
 * same inputs on every machine, so a finding is replayed with `--seed`. Values planted by a mutation
 * that are strings carry MARKER, so a target can tell whether a message quotes what was sent.
 */

import { seededRandom } from '../helpers/seeded-random.ts';

/** Planted in every string a mutation writes; never in a seed. */
export const MARKER = 'Qz7mark';

/** The fuzz cases' generator: the same seed number, the same cases. */
export const random = seededRandom;

export type Rng = () => number;

export const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)] as T;

/** Values that have broken JSON consumers before: wrong kinds, empties, control and lone surrogate characters, markup. */
const HOSTILE: readonly unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  1e21,
  '',
  ' ',
  `${MARKER}\u0000`,
  `${MARKER}\ud800`,
  `<div xmlns="http://www.w3.org/1999/xhtml">${MARKER}<script>x</script></div>`,
  `<div xmlns="http://www.w3.org/1999/xhtml"><a href="&#1114112;">${MARKER}</a></div>`,
  `${MARKER}-2026-13-45`,
  `urn:oid:1.2.246.21|${MARKER}`,
  `Patient/${MARKER}`,
  `${MARKER}${'x'.repeat(2_000)}`,
  {},
  [],
  [null],
  [{}],
  { reference: `Patient/${MARKER}` },
  { coding: [{ system: MARKER, code: MARKER }] },
  { value: MARKER },
];

/** Member names worth inserting: FHIR's own, JavaScript's special ones, a primitive's underscore twin. */
const NAMES: readonly string[] = [
  'extension',
  'modifierExtension',
  'id',
  'resourceType',
  'meta',
  'text',
  'contained',
  'identifier',
  'reference',
  'value',
  '__proto__',
  'constructor',
  'toString',
  '_value',
  'zzUnknownMember',
];

type Container = Record<string, unknown> | unknown[];
interface Slot {
  parent: Container;
  key: string | number;
}

/** Every place a value sits in `root` (member or array element), in document order. */
function slots(root: unknown): Slot[] {
  const out: Slot[] = [];
  const visit = (node: unknown) => {
    if (Array.isArray(node)) {
      node.forEach((v, i) => {
        out.push({ parent: node, key: i });
        visit(v);
      });
    } else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        out.push({ parent: node as Record<string, unknown>, key: k });
        visit(v);
      }
    }
  };
  visit(root);
  return out;
}

/** A hostile value, a copy so that mutations of one case never touch another's. */
const hostile = (rng: Rng): unknown => structuredClone(pick(rng, HOSTILE));

function setAt(slot: Slot, value: unknown): void {
  if (Array.isArray(slot.parent)) slot.parent[slot.key as number] = value;
  // defineProperty: '__proto__' becomes an own member, as JSON.parse would make it.
  else
    Object.defineProperty(slot.parent, slot.key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
}

function removeAt(slot: Slot): void {
  if (Array.isArray(slot.parent)) slot.parent.splice(slot.key as number, 1);
  else delete slot.parent[slot.key as string];
}

/** One change at a random place: replace, remove, add a member, repeat an element, or bend a string. */
const MUTATIONS: ReadonlyArray<(rng: Rng, slot: Slot) => void> = [
  (rng, slot) => setAt(slot, hostile(rng)),
  (_rng, slot) => removeAt(slot),
  (rng, slot) => {
    const value = (slot.parent as Record<string | number, unknown>)[slot.key];
    if (value && typeof value === 'object' && !Array.isArray(value))
      setAt({ parent: value as Container, key: pick(rng, NAMES) }, hostile(rng));
    else setAt(slot, [value]);
  },
  (_rng, slot) => {
    if (Array.isArray(slot.parent)) slot.parent.push(structuredClone(slot.parent[slot.key as number]));
  },
  (rng, slot) => {
    const value = (slot.parent as Record<string | number, unknown>)[slot.key];
    if (typeof value === 'string') setAt(slot, rng() < 0.5 ? `${value}${MARKER}` : MARKER);
    else setAt(slot, typeof value === 'number' ? String(value) : hostile(rng));
  },
];

/** Each planted marker made unique (`Qz7mark1`, `Qz7mark2`, …), so a quote leads back to its place. */
function numberMarkers(root: unknown): unknown {
  let n = 0;
  const renumber = (s: string) => s.replaceAll(MARKER, () => `${MARKER}${++n}`);
  const visit = (node: unknown): unknown => {
    if (typeof node === 'string') return renumber(node);
    if (Array.isArray(node)) return node.map(visit);
    if (!node || typeof node !== 'object') return node;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node))
      Object.defineProperty(out, renumber(k), {
        value: visit(v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  };
  return visit(root);
}

/** A mutated copy of `seed`: one to three changes. */
export function mutate(seed: unknown, rng: Rng): unknown {
  const copy = structuredClone(seed);
  const changes = 1 + Math.floor(rng() * 3);
  for (let i = 0; i < changes; i++) {
    const all = slots(copy);
    if (!all.length) break;
    pick(rng, MUTATIONS)(rng, pick(rng, all));
  }
  return numberMarkers(copy);
}

/** Where a planted marker sits: the member holding it (array indexes skipped) and that member's whole value. */
export interface Planted {
  member: string;
  value: string;
}

/** Each planted marker in `input`, with where it sits. */
export function plantedAt(input: unknown): Map<string, Planted> {
  const found = new Map<string, Planted>();
  const visit = (node: unknown, key: string) => {
    if (typeof node === 'string') {
      for (const m of node.match(MARKERS) ?? []) found.set(m, { member: key, value: node });
    } else if (Array.isArray(node)) {
      for (const v of node) visit(v, key);
    } else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) visit(v, k);
  };
  visit(input, '');
  return found;
}

/** A planted marker with its number. */
export const MARKERS = new RegExp(`${MARKER}\\d+`, 'g');
