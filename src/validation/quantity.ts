// Quantity comparison after UCUM unit conversion (the NLM UCUM library fhirpath.js ships, loaded on
// first use so that start-up stays light).
import { createRequire } from 'node:module';

const UCUM = 'http://unitsofmeasure.org';

interface UcumConverter {
  convertUnitTo(from: string, value: number, to: string): { status: string; toVal?: number };
}
let ucum: UcumConverter | undefined;

function converter(): UcumConverter {
  ucum ??= (createRequire(import.meta.url)('fhirpath') as { ucumUtils: UcumConverter }).ucumUtils;
  return ucum;
}

export interface QuantityValue {
  value?: unknown;
  system?: unknown;
  code?: unknown;
}

/**
 * -1, 0 or 1 comparing `a` with `b`: same system and code compare directly; UCUM quantities after
 * converting `a` to `b`'s unit. Undefined when they cannot be compared (no value, other units).
 */
export function compareQuantities(a: QuantityValue, b: QuantityValue): number | undefined {
  if (typeof a.value !== 'number' || typeof b.value !== 'number') return undefined;
  if (a.system === b.system && a.code === b.code) return Math.sign(a.value - b.value);
  if (a.system !== UCUM || b.system !== UCUM || typeof a.code !== 'string' || typeof b.code !== 'string')
    return undefined;
  const r = converter().convertUnitTo(a.code, a.value, b.code);
  if (r.status !== 'succeeded' || typeof r.toVal !== 'number') return undefined;
  return Math.sign(r.toVal - b.value);
}
