// The FHIR patch interaction's document: a JSON Patch (RFC 6902), applied with fast-json-patch. Its
// errors are turned into OperationOutcomes that name the operation and its path, never a value or
// the document (fast-json-patch's own messages quote both, and they may hold client data).
import type { Resource } from '@medplum/fhirtypes';
import jsonPatch from 'fast-json-patch';
import { FhirError, issue } from '../../shared/outcome.ts';

export const JSON_PATCH = 'application/json-patch+json';

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

/** "JSON Patch operation 2 (replace /status)": the op and path quoted only when they are plainly structural. */
function describe(op: unknown, index: number): string {
  const o = op as Partial<Operation> | undefined;
  const name = typeof o?.op === 'string' && /^[a-z]{1,16}$/.test(o.op) ? o.op : undefined;
  const path = typeof o?.path === 'string' && ELEMENT_PATH.test(o.path) ? o.path : undefined;
  const what = [name, path].filter(Boolean).join(' ');
  return `JSON Patch operation ${index}${what ? ` (${what})` : ''}`;
}

function patchError(err: unknown, index = 0, op?: unknown): FhirError {
  if (err instanceof jsonPatch.JsonPatchError) {
    const known = PATCH_ERRORS[err.name] ?? { status: 400, text: 'cannot be applied' };
    if (err.name === 'SEQUENCE_NOT_AN_ARRAY')
      return new FhirError(400, issue('error', 'invalid', known.text));
    const where = describe(op, index);
    const code = known.status === 422 ? 'processing' : 'invalid';
    return new FhirError(known.status, issue('error', code, `${where} ${known.text}`));
  }
  // fast-json-patch refuses __proto__ (and constructor/prototype) with a TypeError.
  if (err instanceof TypeError)
    return new FhirError(400, issue('error', 'invalid', 'a JSON Patch may not touch __proto__'));
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

/**
 * `current` with the JSON Patch `ops` applied (a copy: `current` is left as it was). The result keeps
 * its resourceType and id: a patch changes a resource, it does not turn it into another.
 */
export function applyJsonPatch(current: Resource, ops: unknown): Resource {
  if (!Array.isArray(ops)) throw patchError(new jsonPatch.JsonPatchError('', 'SEQUENCE_NOT_AN_ARRAY'));
  let patched = jsonPatch.deepClone(current) as Resource;
  // One operation at a time: fast-json-patch reports some failures of a later operation as index 0.
  for (const [index, op] of ops.entries()) {
    if (movesIntoItself(op))
      throw new FhirError(
        400,
        issue(
          'error',
          'invalid',
          `${describe(op, index)} moves a value into itself (from is a prefix of path)`,
        ),
      );
    try {
      patched = jsonPatch.applyOperation(patched, op as Operation, true, true, true, index).newDocument;
    } catch (err) {
      throw patchError(err, index, op);
    }
  }
  for (const element of ['resourceType', 'id'] as const) {
    if (patched?.[element] !== current[element]) {
      throw new FhirError(
        422,
        issue(
          'error',
          'processing',
          `a patch may not change ${element}`,
          `${current.resourceType}.${element}`,
        ),
      );
    }
  }
  return patched;
}
