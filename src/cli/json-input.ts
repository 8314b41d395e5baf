import { withoutByteOrderMark } from '../shared/byte-order-mark.ts';
import { parseJsonQuietly } from '../shared/json-error.ts';
import { scanJsonText } from '../shared/json-text.ts';

/**
 * The largest input `tyokyky map` and `tyokyky load` read: 64 MiB. One record, object, resource or
 * Bundle is some tens of kilobytes; a larger file is refused before it is read, a larger stream once a
 * byte past the limit has come (a JavaScript string holds at most ~512 MiB anyway).
 */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;

/**
 * The one reader of a JSON input's text for every command (`validate`, `map`, `load`): a UTF-8 byte
 * order mark, which some editors write, is no part of the JSON and is dropped; the rest is read by
 * `parseStrict`. `text` is what was read (without the mark), for a command that passes it on as written.
 */
export function readJsonText(raw: string): { text: string; value: unknown } {
  const text = withoutByteOrderMark(raw);
  return { text, value: parseStrict(text) };
}

/**
 * JSON.parse, plus what it does not keep: a property name repeated in one object is an error (JSON.parse
 * keeps the last silently; FHIR JSON forbids duplicates and the HL7 validator rejects them), and whole
 * numbers written as `1.0` are remembered for the validator (src/shared/json-text.ts). A syntax error
 * is a SyntaxError quoting none of the text.
 */
export function parseStrict(text: string): unknown {
  const value = parseJsonQuietly(text);
  const { duplicate } = scanJsonText(text, value);
  if (duplicate)
    throw new Error(`Duplicated property name '${duplicate.name}' at offset ${duplicate.offset}`);
  return value;
}
