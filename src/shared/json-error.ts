/**
 * V8's JSON.parse messages quote up to ~30 characters of the input around an unexpected token
 * (`Unexpected token 'x', "{"d":"…" is not valid JSON`). Input here is client data or key material, so
 * every message about malformed JSON is built from this one: the kind of error and where, never a
 * character of the text.
 */
export function jsonSyntaxMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/^Unexpected token .* is not valid JSON$/s, 'Unexpected token in JSON');
}

/** JSON.parse whose SyntaxError carries no fragment of `text` (see jsonSyntaxMessage). */
export function parseJsonQuietly(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SyntaxError(jsonSyntaxMessage(err));
  }
}
