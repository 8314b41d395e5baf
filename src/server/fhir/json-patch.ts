// The FHIR patch interaction's document: a JSON Patch (RFC 6902), applied with fast-json-patch. Its
// errors are turned into OperationOutcomes that name the operation and its path, never a value or
// the document (fast-json-patch's own messages quote both, and they may hold client data). Numbers
// keep how they were written (src/shared/json-text.ts), the resource's and the patch document's.
import type { Resource } from '@medplum/fhirtypes';
import jsonPatch from 'fast-json-patch';
import { rememberWrittenNumbers, writtenNumbersIn } from '../../shared/json-text.ts';
import { FhirError, issue } from '../../shared/outcome.ts';
import { parseJsonBody } from '../http/json-body.ts';
import { decodeText, parseMediaType } from '../http/negotiation.ts';

export const JSON_PATCH = 'application/json-patch+json';

/** 415: a patch document of another media type than JSON Patch (a FHIRPath Patch's Parameters too). */
export function notJsonPatch(): FhirError {
  return new FhirError(
    415,
    issue('error', 'not-supported', `PATCH takes a JSON Patch document (${JSON_PATCH}); send that`),
  );
}

/**
 * A PATCH's document from its media type and bytes — a request's `Content-Type` and body, or a Bundle
 * entry's Binary (`contentType`, `data`): a JSON Patch (415 for any other media type, FHIRPath Patch
 * included; 400 when empty or not JSON).
 */
export function patchDocument(
  contentType: string | undefined,
  body: Buffer | undefined,
  maxDepth: number,
): unknown {
  const media = contentType === undefined ? undefined : parseMediaType(contentType);
  if (media?.type !== JSON_PATCH) throw notJsonPatch();
  if (!body?.length) {
    throw new FhirError(400, issue('error', 'required', 'Request body is empty; send a JSON Patch document'));
  }
  return parseJsonBody(decodeText(body, media.params.get('charset')), { maxDepth });
}

type Operation = jsonPatch.Operation;

/** What each fast-json-patch error means; the status says whose fault it is (RFC 5789 §2.2). */
const PATCH_ERRORS: Record<string, { status: 400 | 422; text: string }> = {
  SEQUENCE_NOT_AN_ARRAY: { status: 400, text: 'a JSON Patch document is an array of operations' },
  OPERATION_NOT_AN_OBJECT: { status: 400, text: 'is not an object' },
  OPERATION_OP_INVALID: { status: 400, text: 'has no valid op (add, remove, replace, move, copy, test)' },
  OPERATION_PATH_INVALID: { status: 400, text: 'has no valid path (a JSON Pointer)' },
  OPERATION_FROM_REQUIRED: { status: 400, text: 'needs from' },
  OPERATION_VALUE_REQUIRED: { status: 400, text: 'needs value' },
  OPERATION_VALUE_CANNOT_CONTAIN_UNDEFINED: { status: 400, text: 'has an undefined value' },
  OPERATION_PATH_CANNOT_ADD: { status: 422, text: 'cannot add at its path' },
  OPERATION_PATH_UNRESOLVABLE: { status: 422, text: 'names a path the resource does not have' },
  OPERATION_FROM_UNRESOLVABLE: { status: 422, text: 'names a from the resource does not have' },
  OPERATION_PATH_ILLEGAL_ARRAY_INDEX: { status: 422, text: 'names an array index that is not a number' },
  OPERATION_VALUE_OUT_OF_BOUNDS: { status: 422, text: 'names an array index past the end' },
  TEST_OPERATION_FAILED: { status: 422, text: 'is a test that failed' },
};

/** A path made of element names and array indexes only: safe to quote (it holds no client data). */
const ELEMENT_PATH = /^(?:\/(?:[A-Za-z_][A-Za-z0-9_]{0,63}|\d{1,6}|-)){0,32}$/;

/**
 * The rules a patch is refused by: `fhir-patch-1` the document is not a JSON Patch (400),
 * `fhir-patch-2` an operation does not fit the resource (422), `fhir-patch-3` the result would be
 * another resource (422).
 */
const RULE = { document: 'fhir-patch-1', apply: 'fhir-patch-2', identity: 'fhir-patch-3' } as const;

/** "JSON Patch operation 2 (replace /status)": the op and path quoted only when they are plainly structural. */
function describe(op: unknown, index: number): string {
  const o = op as Partial<Operation> | undefined;
  const name = typeof o?.op === 'string' && /^[a-z]{1,16}$/.test(o.op) ? o.op : undefined;
  const path = typeof o?.path === 'string' && ELEMENT_PATH.test(o.path) ? o.path : undefined;
  const what = [name, path].filter(Boolean).join(' ');
  return `JSON Patch operation ${index}${what ? ` (${what})` : ''}`;
}

/**
 * The element a JSON Pointer names in a resource of `type`, as FHIRPath: `/component/0/code` →
 * `Observation.component[0].code`, `/component/-` (the end of the list) → `Observation.component`.
 * A pointer that is not plainly element names and indexes names the resource alone (it is not quoted).
 */
export function pointerExpression(type: string, pointer: unknown): string {
  if (typeof pointer !== 'string' || !ELEMENT_PATH.test(pointer)) return type;
  let out = type;
  for (const step of pointer.split('/').slice(1)) {
    if (step === '-') continue;
    out += /^\d+$/.test(step) ? `[${Number(step)}]` : `.${step}`;
  }
  return out;
}

/** Which of an operation's pointers an error is about: `from` for a `from` that does not resolve. */
const ABOUT_FROM = new Set(['OPERATION_FROM_REQUIRED', 'OPERATION_FROM_UNRESOLVABLE']);

function patchError(err: unknown, type: string, index = 0, op?: unknown): FhirError {
  if (err instanceof jsonPatch.JsonPatchError) {
    const known = PATCH_ERRORS[err.name] ?? { status: 400, text: 'cannot be applied' };
    if (err.name === 'SEQUENCE_NOT_AN_ARRAY')
      return new FhirError(400, issue('error', 'invalid', `${RULE.document}: ${known.text}`));
    const where = describe(op, index);
    const code = known.status === 422 ? 'processing' : 'invalid';
    const rule = known.status === 422 ? RULE.apply : RULE.document;
    const o = (op ?? {}) as Partial<Record<'path' | 'from', unknown>>;
    const at = pointerExpression(type, ABOUT_FROM.has(err.name) ? o.from : o.path);
    return new FhirError(known.status, issue('error', code, `${rule}: ${where} ${known.text}`, at));
  }
  // fast-json-patch refuses __proto__ (and constructor/prototype) with a TypeError.
  if (err instanceof TypeError)
    return new FhirError(
      400,
      issue('error', 'invalid', `${RULE.document}: a JSON Patch may not touch __proto__`, type),
    );
  throw err;
}

/**
 * RFC 6902 §4.4: a move's `from` may not be a proper prefix of its `path` (a value moved into one of
 * its own children). fast-json-patch does not check it, and fails with a TypeError of its own.
 */
function movesIntoItself(op: unknown): boolean {
  const { op: name, from, path } = (op ?? {}) as Partial<{ op: unknown; from: unknown; path: unknown }>;
  return (
    name === 'move' && typeof from === 'string' && typeof path === 'string' && path.startsWith(`${from}/`)
  );
}

/** A number written otherwise than JavaScript writes it, where it is: the JSON Pointer's steps to it. */
interface Written {
  path: string[];
  text: string;
}

/** The numbers remembered as written below `value`, each with the steps to it (`writtenNumbersIn`). */
function writtenIn(value: unknown): Written[] {
  return writtenNumbersIn(value).map(({ path, text }) => ({ path: path.map(String), text }));
}

const isUnder = (path: string[], prefix: string[]) =>
  prefix.length <= path.length && prefix.every((step, i) => path[i] === step);
/** Those at or below `prefix`, their paths from there. */
const below = (numbers: Written[], prefix: string[]) =>
  numbers.filter((n) => isUnder(n.path, prefix)).map((n) => ({ ...n, path: n.path.slice(prefix.length) }));
/** Those not at or below `prefix`. */
const outside = (numbers: Written[], prefix: string[]) => numbers.filter((n) => !isUnder(n.path, prefix));
/** `numbers` (paths from a value) for that value placed at `prefix`. */
const placedAt = (numbers: Written[], prefix: string[]) =>
  numbers.map((n) => ({ ...n, path: [...prefix, ...n.path] }));

/** `numbers` with the elements of the array at `array`, from `index` on, moved `by` places. */
function shifted(numbers: Written[], array: string[], index: number, by: 1 | -1): Written[] {
  const at = array.length;
  return numbers.map((n) => {
    const i = Number(n.path[at]);
    if (n.path.length <= at || !isUnder(n.path, array) || !(i >= index)) return n;
    return { ...n, path: [...n.path.slice(0, at), String(i + by), ...n.path.slice(at + 1)] };
  });
}

/**
 * The steps of JSON Pointer `pointer` in `doc` (an array index in its canonical digits, `-` kept), and
 * whether the last names an array element. Undefined for what is not a pointer (the patch refuses it).
 */
function locate(doc: unknown, pointer: unknown): { path: string[]; inArray: boolean } | undefined {
  if (typeof pointer !== 'string' || (pointer !== '' && !pointer.startsWith('/'))) return undefined;
  const steps = pointer === '' ? [] : pointer.slice(1).split('/');
  let at: unknown = doc;
  let inArray = false;
  const path = steps.map((raw) => {
    const step = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    inArray = Array.isArray(at);
    const canonical = inArray && /^\d+$/.test(step) ? String(Number(step)) : step;
    at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[canonical] : undefined;
    return canonical;
  });
  return { path, inArray };
}

/** The value at `path` in `doc`, or undefined. */
function valueAt(doc: unknown, path: string[]): unknown {
  let at = doc;
  for (const step of path) {
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, step)) return undefined;
    at = (at as Record<string, unknown>)[step];
  }
  return at;
}

/**
 * The numbers after a value holding `added` (paths from it) was added at `path` of `after` (the
 * document with it): into an array, the elements from its index on move up one (`-`: it is the last);
 * into an object, it takes the place of what was there.
 */
function afterAdd(numbers: Written[], path: string[], added: Written[], after: unknown): Written[] {
  if (path.length === 0) return added;
  const parent = path.slice(0, -1);
  const array = valueAt(after, parent);
  let last = path[path.length - 1] as string;
  let kept: Written[];
  if (Array.isArray(array)) {
    const index = last === '-' ? array.length - 1 : Number(last);
    kept = shifted(numbers, parent, index, 1);
    last = String(index);
  } else {
    kept = outside(numbers, path);
  }
  return [...kept, ...placedAt(added, [...parent, last])];
}

/** The numbers after the value at `path` was removed; from an array, the elements after it move down one. */
function afterRemove(numbers: Written[], path: string[], inArray: boolean): Written[] {
  if (path.length === 0) return [];
  const kept = outside(numbers, path);
  return inArray ? shifted(kept, path.slice(0, -1), Number(path[path.length - 1]) + 1, -1) : kept;
}

/**
 * One operation applied to `doc` (fast-json-patch changes it in place, but for a root path), and the
 * numbers remembered as written in `numbers` (the document's before it) carried over to the result:
 * where the operation leaves, moves or copies them, and as the patch document wrote `value`. `op` is
 * applied as a copy, so nothing it holds carries a number's text that a later operation changes.
 */
function applyOne(
  doc: unknown,
  numbers: Written[],
  op: unknown,
  index: number,
  type: string,
): { doc: unknown; numbers: Written[] } {
  const o = (op !== null && typeof op === 'object' ? op : {}) as Partial<
    Record<'op' | 'from' | 'path' | 'value', unknown>
  >;
  const from = o.op === 'move' || o.op === 'copy' ? locate(doc, o.from) : undefined;
  const fromNumbers = from ? below(numbers, from.path) : [];
  // fast-json-patch copies by a JSON round trip, which turns 1e400 (Infinity) into null.
  const copied = o.op === 'copy' && from ? structuredClone(valueAt(doc, from.path)) : undefined;
  let after: unknown;
  try {
    after = jsonPatch.applyOperation(
      doc,
      structuredClone(op) as Operation,
      true,
      true,
      true,
      index,
    ).newDocument;
  } catch (err) {
    throw patchError(err, type, index, op);
  }
  const path = locate(after, o.path);
  if (!path) return { doc: after, numbers };
  const given = below(writtenIn(op), ['value']);
  switch (o.op) {
    case 'add':
      return { doc: after, numbers: afterAdd(numbers, path.path, given, after) };
    case 'replace':
      return { doc: after, numbers: [...outside(numbers, path.path), ...placedAt(given, path.path)] };
    case 'remove':
      return { doc: after, numbers: afterRemove(numbers, path.path, path.inArray) };
    case 'move':
      if (!from) return { doc: after, numbers };
      return {
        doc: after,
        numbers: afterAdd(afterRemove(numbers, from.path, from.inArray), path.path, fromNumbers, after),
      };
    case 'copy': {
      // The copy fast-json-patch made, replaced by one that keeps every number's value.
      const parent = valueAt(after, path.path.slice(0, -1));
      const last = path.path[path.path.length - 1];
      if (last !== undefined && parent !== null && typeof parent === 'object') {
        const key = Array.isArray(parent) ? (last === '-' ? parent.length - 1 : Number(last)) : last;
        (parent as Record<string | number, unknown>)[key] = copied;
      }
      return { doc: after, numbers: afterAdd(numbers, path.path, fromNumbers, after) };
    }
    default:
      return { doc: after, numbers };
  }
}

/**
 * `current` with the JSON Patch `ops` applied (a copy: `current` is left as it was). The result keeps
 * its resourceType and id: a patch changes a resource, it does not turn it into another. Its numbers
 * are written as they were (`current`'s) or as the patch document wrote them.
 */
export function applyJsonPatch(current: Resource, ops: unknown): Resource {
  const type = current.resourceType;
  if (!Array.isArray(ops)) throw patchError(new jsonPatch.JsonPatchError('', 'SEQUENCE_NOT_AN_ARRAY'), type);
  // structuredClone, not a JSON round trip: that would turn 1e400 (Infinity) into null.
  let patched: unknown = structuredClone(current);
  let numbers = writtenIn(current);
  // One operation at a time: fast-json-patch reports some failures of a later operation as index 0.
  for (const [index, op] of ops.entries()) {
    if (movesIntoItself(op))
      throw new FhirError(
        400,
        issue(
          'error',
          'invalid',
          `${RULE.document}: ${describe(op, index)} moves a value into itself (from is a prefix of path)`,
          pointerExpression(type, (op as { path?: unknown }).path),
        ),
      );
    ({ doc: patched, numbers } = applyOne(patched, numbers, op, index, type));
  }
  rememberWrittenNumbers(patched, numbers);
  const result = patched as Resource | null;
  for (const element of ['resourceType', 'id'] as const) {
    if (result?.[element] !== current[element]) {
      throw new FhirError(
        422,
        issue(
          'error',
          'processing',
          `${RULE.identity}: a patch may not change ${element}`,
          `${current.resourceType}.${element}`,
        ),
      );
    }
  }
  return result as Resource;
}
