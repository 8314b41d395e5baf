/** The readers' one answer to JSON that is not well-formed FHIR where they read it. */
import { FhirError, issue } from '../shared/outcome.ts';

/**
 * `read()`, where a TypeError means the JSON at `path` is not well-formed FHIR where the mapping
 * reads it (an object where a list belongs, a null in a list): a 422 for `path`. The mapping reads
 * what its profiles allow and does not re-check FHIR's JSON shape; the validator names the element.
 * Anything else (our own refusals, a failing `resolve` of the caller's) passes through.
 */
export function wellFormed<T>(path: string, type: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    throw FhirError.unprocessable(
      issue(
        'error',
        'structure',
        `${path}: ${type} is not well-formed FHIR JSON where the mapping reads it; validate it first (the validator names the element)`,
        path,
      ),
    );
  }
}
