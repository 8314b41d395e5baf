/** A JSON object: what a FHIR resource, element or Bundle entry must be. */
export type JsonObject = Record<string, unknown>;

/** `v` is a JSON object (not null, not an array). */
export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
