// Number search (R4 search.html, "number"): a value's precision is part of it. `7` means [6.5, 7.5),
// `7.0` means [6.95, 7.05) and `1e1` means [5, 15); `gt`, `lt`, `ge`, `le` (and `sa`, `eb`) compare with
// the value exactly, `ne` is outside the implied range, `ap` within 10 % of the value. The bounds are
// computed by PostgreSQL's `numeric` from the value's text, so no binary rounding creeps in.
import { type Prefix, badSearch, splitPrefix } from './search-values.ts';

/** FHIR's decimal: an optional minus, no leading zeros, optional fraction and exponent. */
const DECIMAL = /^-?(?:0|[1-9][0-9]*)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$/;

/** A number search value: its prefix, the number as written, and half a unit of its last digit. */
export interface NumberSearch {
  prefix: Prefix;
  value: string;
  /** Half a unit in the last significant place (`5e-1` for `7`, `5e-2` for `7.0`, `5e0` for `1e1`). */
  halfUnit: string;
}

export function parseNumberSearch(key: string, raw: string): NumberSearch {
  const { prefix, text } = splitPrefix(key, raw);
  const m = DECIMAL.exec(text);
  if (!m) throw badSearch(key, `Invalid value for '${key}': not a number`);
  const exponent = Number(m[2] ?? 0);
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > 300)
    throw badSearch(key, `Invalid value for '${key}': exponent out of range`);
  const places = m[1]?.length ?? 0;
  return { prefix, value: text, halfUnit: `5e${exponent - places - 1}` };
}

/** The search value as a condition on the stored number `col` (a `numeric` column). */
export function numberCondition(col: string, search: NumberSearch, bind: (v: unknown) => string): string {
  const v = () => `${bind(search.value)}::numeric`;
  const inRange = () => {
    const h = `${bind(search.halfUnit)}::numeric`;
    return `(${col} >= ${v()} - ${h} AND ${col} < ${v()} + ${h})`;
  };
  switch (search.prefix) {
    case 'eq':
      return inRange();
    case 'ne':
      return `NOT ${inRange()}`;
    case 'gt':
    case 'sa':
      return `${col} > ${v()}`;
    case 'ge':
      return `${col} >= ${v()}`;
    case 'lt':
    case 'eb':
      return `${col} < ${v()}`;
    case 'le':
      return `${col} <= ${v()}`;
    case 'ap': {
      const margin = `abs(${v()}) * 0.1`;
      return `(${col} >= ${v()} - ${margin} AND ${col} <= ${v()} + ${margin})`;
    }
  }
}
