import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { fsErrorText } from '../../shared/fs-error.ts';
import { isErrorIssue } from '../../shared/outcome.ts';
import { MAX_INPUT_BYTES, readJsonText } from '../json-input.ts';
import { requestFailureText } from '../request-timeout.ts';
import { PACKAGE_MANIFESTS } from '../validate/input.ts';

export interface LoadResult {
  file: string;
  ok: boolean;
  status: number;
  summary: string;
  /** The facade could not be reached (the load stops after a few of these in a row). */
  unreachable?: true;
}

/**
 * A path on the command line, or a folder inside one, that does not exist or cannot be read, a folder
 * with nothing to load, or a file over MAX_INPUT_BYTES (a usage error: exit 2 before anything is sent,
 * like validate and map).
 */
export class LoadPathError extends Error {}

/** The failed look at `path` (or the folder inside it the walk failed on), with the system's reason. */
function cannotRead(path: string, err: unknown): LoadPathError {
  return new LoadPathError(
    `tyokyky load: cannot read ${(err as NodeJS.ErrnoException).path ?? path}: ${fsErrorText(err)}`,
  );
}

/** What a file over MAX_INPUT_BYTES is told; `size` when known (a regular file). */
function tooLargeText(file: string, size?: number): string {
  const what = size === undefined ? `more than ${MAX_INPUT_BYTES} bytes` : `${size} bytes`;
  return `${file} is too large (${what}): tyokyky load reads at most ${MAX_INPUT_BYTES / 1024 / 1024} MiB (one resource or Bundle)`;
}

/** `file`'s size, refused over MAX_INPUT_BYTES before anything is sent. */
async function checkSize(file: string, size?: number): Promise<void> {
  const bytes = size ?? (await stat(file).catch((err) => Promise.reject(cannotRead(file, err)))).size;
  if (bytes > MAX_INPUT_BYTES) throw new LoadPathError(`tyokyky load: ${tooLargeText(file, bytes)}`);
}

/**
 * Files to load: plain files as given, folders walked to their *.json files at any depth (sorted by
 * path; package manifests left out, as `tyokyky validate` leaves them). A path or folder that cannot
 * be read, or a file over MAX_INPUT_BYTES, is refused (LoadPathError) before any file is sent.
 */
export async function expandFiles(paths: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const p of paths) {
    const st = await stat(p).catch((err) => Promise.reject(cannotRead(p, err)));
    if (st.isDirectory()) {
      const entries = await readdir(p, { recursive: true, withFileTypes: true }).catch((err) =>
        Promise.reject(cannotRead(p, err)),
      );
      const found = entries
        .filter((e) => e.isFile() && e.name.endsWith('.json') && !PACKAGE_MANIFESTS.has(e.name))
        .map((e) => join(e.parentPath, e.name))
        .sort();
      if (!found.length) throw new LoadPathError(`tyokyky load: no *.json files in ${p}`);
      for (const f of found) await checkSize(f);
      files.push(...found);
    } else {
      if (st.isFile()) await checkSize(p, st.size);
      files.push(p);
    }
  }
  return files;
}

function describeOutcome(body: unknown): string {
  const oo = body as OperationOutcome | undefined;
  if (oo?.resourceType !== 'OperationOutcome') return '';
  return (oo.issue ?? [])
    .filter(isErrorIssue)
    .map((i) => `${i.expression?.[0] ? `${i.expression[0]}: ` : ''}${i.diagnostics ?? i.code}`)
    .join('; ');
}

/**
 * A resource type's name as FHIR spells them (`Patient`, `QuestionnaireResponse`): the only resourceType
 * a resource is posted under, as `<base>/<resourceType>` — never a path or a query (`../api/…`).
 */
const RESOURCE_TYPE = /^[A-Z][A-Za-z]+$/;

/**
 * What a file's JSON holds when it is no FHIR resource (an object whose resourceType is a resource type
 * name), said without its content; undefined for a resource.
 */
function notAResource(value: unknown): string | undefined {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value !== 'object') return `a ${typeof value}`;
  const type = (value as { resourceType?: unknown }).resourceType;
  if (typeof type !== 'string' || type === '') return 'an object without a resourceType';
  return RESOURCE_TYPE.test(type) ? undefined : 'an object whose resourceType is no resource type name';
}

/** Attempts per request the facade answers 429 or 503 (rate limit, database away for a moment). */
export const MAX_ATTEMPTS = 4;
/** The longest wait for one Retry-After (the facade's rate limit window is a minute). */
const MAX_WAIT_MS = 60_000;

/** What a load tells its caller besides the result: a 429/503 it waits out before sending again. */
export interface LoadOptions {
  onWait?: (status: number, waitMs: number, why: string) => void;
  /** How long one request waits for its answer (`--timeout`); unbounded when absent. */
  timeoutMs?: number;
}

/** How long a 429/503 asks to wait: its Retry-After (seconds or an HTTP date), else 1, 2, 4 s. */
function waitFor(res: Response, attempt: number): { ms: number; why: string } {
  const header = res.headers.get('retry-after')?.trim() ?? '';
  let ms = /^\d+$/.test(header) ? Number(header) * 1000 : Date.parse(header) - Date.now();
  const given = Number.isFinite(ms);
  if (!given) ms = 1000 * 2 ** (attempt - 1);
  return { ms: Math.min(MAX_WAIT_MS, Math.max(0, ms)), why: given ? 'Retry-After' : 'no Retry-After' };
}

/**
 * fetch, sending again after a 429 or 503 once the wait the facade asks for is over, up to
 * MAX_ATTEMPTS times (the facade answers these before doing anything, or atomically: sending again
 * is safe). Rejects as fetch does when the facade cannot be reached.
 */
async function fetchPatiently(url: string, init: RequestInit, opts: LoadOptions): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    const signal = opts.timeoutMs ? AbortSignal.timeout(opts.timeoutMs) : undefined;
    const res = await fetch(url, { ...init, ...(signal ? { signal } : {}) });
    if ((res.status !== 429 && res.status !== 503) || attempt === MAX_ATTEMPTS) return res;
    await res.body?.cancel();
    const { ms, why } = waitFor(res, attempt);
    opts.onWait?.(res.status, ms, why);
    await new Promise((resolve) => setTimeout(resolve, ms));
  }
}

/** The resource's business identifier as If-None-Exist criteria (`identifier` may be a list or one). */
function identifierCriteria(resource: Resource): string | undefined {
  const given = (resource as { identifier?: unknown }).identifier;
  const first = (Array.isArray(given) ? given[0] : given) as { system?: string; value?: string } | undefined;
  return first?.system && first.value
    ? `identifier=${encodeURIComponent(`${first.system}|${first.value}`)}`
    : undefined;
}

/** A Bundle's entries' resources and its next link, when the answer is one. */
function searchPage(body: unknown): { resources: Resource[]; next?: string } {
  const bundle = body as Bundle | undefined;
  return {
    resources: (bundle?.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : [])),
    next: bundle?.link?.find((l) => l.relation === 'next')?.url,
  };
}

/**
 * The current resource of `type` with the canonical `url` and `version` (both absent alike), looked
 * up page by page: the facade neither indexes `url` nor takes it as If-None-Exist criteria. Not
 * atomic against another load of the same file at the same moment.
 */
async function findCanonical(
  baseUrl: string,
  canonical: { type: string; url: string; version: unknown },
  headers: Record<string, string>,
  opts: LoadOptions,
): Promise<{ found?: Resource; failed?: Response }> {
  let next: string | undefined =
    `${baseUrl}/${encodeURIComponent(canonical.type)}?_count=1000&_elements=url,version`;
  while (next) {
    const res = await fetchPatiently(next, { headers }, opts);
    if (!res.ok) return { failed: res };
    const page = searchPage(await res.json().catch(() => undefined));
    const found = page.resources.find(
      (r) =>
        (r as { url?: unknown }).url === canonical.url &&
        (r as { version?: unknown }).version === canonical.version,
    );
    if (found) return { found };
    next = page.next;
  }
  return {};
}

/** The file's JSON as a resource (read as `tyokyky validate` reads it), or the result that says why it is none. */
async function readResource(file: string): Promise<{ text: string; resource: Resource } | LoadResult> {
  // At most one byte past the limit: a file grown since expandFiles, or a pipe, is not read whole.
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of createReadStream(file, { end: MAX_INPUT_BYTES })) {
      chunks.push(chunk as Buffer);
      total += (chunk as Buffer).length;
    }
  } catch (err) {
    return { file, ok: false, status: 0, summary: `cannot read: ${fsErrorText(err)}` };
  }
  if (total > MAX_INPUT_BYTES) return { file, ok: false, status: 0, summary: tooLargeText(file) };
  let parsed: unknown;
  let text: string;
  try {
    ({ text, value: parsed } = readJsonText(Buffer.concat(chunks, total).toString('utf8')));
  } catch (err) {
    return { file, ok: false, status: 0, summary: `cannot read JSON: ${(err as Error).message}` };
  }
  const held = notAResource(parsed);
  if (held)
    return { file, ok: false, status: 0, summary: `not a FHIR resource or Bundle: the file holds ${held}` };
  return { text, resource: parsed as Resource };
}

/** What a Bundle's answer or a single resource's answer says, as the file's result. */
async function resultOf(file: string, resource: Resource, res: Response): Promise<LoadResult> {
  const body = (await res.json().catch(() => undefined)) as Resource | undefined;
  if (!res.ok)
    return { file, ok: false, status: res.status, summary: describeOutcome(body) || res.statusText };
  if (resource.resourceType === 'Bundle' && isPosted(resource)) {
    const statuses = ((body as Bundle | undefined)?.entry ?? []).map(
      (e) => e.response?.status?.split(' ')[0] ?? '?',
    );
    const counts = new Map<string, number>();
    for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
    const failed = statuses.filter((s) => !s.startsWith('2')).length;
    const tally = [...counts].map(([s, n]) => `${n}×${s}`).join(', ');
    return {
      file,
      ok: failed === 0,
      status: res.status,
      summary: `${(resource as Bundle).type} of ${statuses.length} entries (${tally})`,
    };
  }
  return {
    file,
    ok: true,
    status: res.status,
    summary: `${res.status === 201 ? 'created' : 'already present'} ${body?.resourceType}/${body?.id}`,
  };
}

/** A transaction or batch Bundle, which is posted to the base. */
function isPosted(resource: Resource): boolean {
  return (
    resource.resourceType === 'Bundle' && ['transaction', 'batch'].includes((resource as Bundle).type ?? '')
  );
}

/** The message of a file that could not be sent; `unreachable` when the facade was not reached. */
function unreachable(file: string, url: string, err: unknown, opts: LoadOptions): LoadResult {
  const why =
    (err as Error)?.name === 'TimeoutError' && opts.timeoutMs
      ? requestFailureText(err, opts.timeoutMs)
      : (err as Error).message;
  return {
    file,
    ok: false,
    status: 0,
    summary: `cannot reach ${url}: ${why}`,
    unreachable: true,
  };
}

/**
 * Posts one file through the FHIR API: transaction/batch Bundles to the base, other resources to
 * their type, so that loading twice creates nothing new: conditionally on their first identifier,
 * or, without one, only when no current resource of the type has their `url` and `version` (a
 * Questionnaire); a resource with none of these is refused unsent. A 429 or 503 is waited out and
 * the file sent again (MAX_ATTEMPTS in all).
 */
export async function loadFile(
  file: string,
  baseUrl: string,
  token?: string,
  opts: LoadOptions = {},
): Promise<LoadResult> {
  const read = await readResource(file);
  if ('file' in read) return read;
  const { text, resource } = read;
  const headers: Record<string, string> = {
    'content-type': 'application/fhir+json',
    accept: 'application/fhir+json',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };
  const url = isPosted(resource) ? baseUrl : `${baseUrl}/${encodeURIComponent(resource.resourceType)}`;
  const { url: canonicalUrl, version } = resource as { url?: unknown; version?: unknown };
  try {
    if (!isPosted(resource)) {
      const criteria = identifierCriteria(resource);
      if (criteria) headers['if-none-exist'] = criteria;
      else if (typeof canonicalUrl === 'string' && canonicalUrl) {
        const canonical = { type: resource.resourceType, url: canonicalUrl, version };
        const { found, failed } = await findCanonical(baseUrl, canonical, headers, opts);
        if (failed) return await resultOf(file, resource, failed);
        if (found)
          return {
            file,
            ok: true,
            status: 200,
            summary: `already present ${found.resourceType}/${found.id}`,
          };
      } else {
        return {
          file,
          ok: false,
          status: 0,
          summary: 'not loadable idempotently: no identifier, url or version',
        };
      }
    }
    // The file's own text: its numbers as written (`1.50`), which a parse and stringify would change.
    const res = await fetchPatiently(url, { method: 'POST', headers, body: text }, opts);
    return await resultOf(file, resource, res);
  } catch (err) {
    return unreachable(file, url, err, opts);
  }
}
