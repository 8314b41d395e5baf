/**
 * Checks a base URL given on the command line or in the environment (remote FHIR server, token
 * endpoint, a facade to load into). Credentials never travel in a URL here: fetch refuses them, and a
 * URL is printed in logs and status lines. The message names the option, never the value, because a
 * rejected value may hold a password.
 */
export function checkHttpUrl(value: string, option: string, instead?: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${option} must be an absolute http(s) URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`${option} must be an absolute http(s) URL`);
  if (url.username || url.password)
    throw new Error(`${option} must not carry credentials (user:password@)${instead ? `; ${instead}` : ''}`);
  return value;
}

const LOOPBACK = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|\[::1\])$/;

/** Whether `host` is one of this machine's own names: `localhost`, `127.x.x.x`, `::1` (bare or bracketed). */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host);
}
