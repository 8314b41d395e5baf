import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { parseJsonQuietly } from '../../shared/json-error.ts';
import { isErrorIssue } from '../../shared/outcome.ts';
import { PACKAGE_MANIFESTS } from '../validate/input.ts';

export interface LoadResult {
  file: string;
  ok: boolean;
  status: number;
  summary: string;
}

/**
 * A path on the command line that does not exist, or a folder with nothing to load (a usage error:
 * exit 2, like validate and map).
 */
export class LoadPathError extends Error {}

/**
 * Files to load: plain files as given, folders walked to their *.json files at any depth (sorted by
 * path; package manifests left out, as `tyokyky validate` leaves them).
 */
export async function expandFiles(paths: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const p of paths) {
    const st = await stat(p).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new LoadPathError(`tyokyky load: no such file or directory: ${p}`);
      throw err;
    });
    if (st.isDirectory()) {
      const found = (await readdir(p, { recursive: true, withFileTypes: true }))
        .filter((e) => e.isFile() && e.name.endsWith('.json') && !PACKAGE_MANIFESTS.has(e.name))
        .map((e) => join(e.parentPath, e.name))
        .sort();
      if (!found.length) throw new LoadPathError(`tyokyky load: no *.json files in ${p}`);
      files.push(...found);
    } else {
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
 * What a file's JSON holds when it is no FHIR resource (an object with a resourceType), said without
 * its content; undefined for a resource.
 */
function notAResource(value: unknown): string | undefined {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value !== 'object') return `a ${typeof value}`;
  const type = (value as { resourceType?: unknown }).resourceType;
  return typeof type === 'string' && type !== '' ? undefined : 'an object without a resourceType';
}

/**
 * Posts one file through the FHIR API: transaction/batch Bundles to the base, other resources to
 * their type (conditional on their first identifier, so loading twice creates nothing new).
 */
export async function loadFile(file: string, baseUrl: string, token?: string): Promise<LoadResult> {
  let parsed: unknown;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
    parsed = parseJsonQuietly(text);
  } catch (err) {
    return { file, ok: false, status: 0, summary: `cannot read JSON: ${(err as Error).message}` };
  }
  const held = notAResource(parsed);
  if (held)
    return { file, ok: false, status: 0, summary: `not a FHIR resource or Bundle: the file holds ${held}` };
  const resource = parsed as Resource;
  const headers: Record<string, string> = {
    'content-type': 'application/fhir+json',
    accept: 'application/fhir+json',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };
  const isBundle =
    resource.resourceType === 'Bundle' && ['transaction', 'batch'].includes((resource as Bundle).type ?? '');
  let url = baseUrl;
  if (!isBundle) {
    url = `${baseUrl}/${resource.resourceType}`;
    const id = (resource as { identifier?: { system?: string; value?: string }[] }).identifier?.[0];
    if (id?.system && id.value)
      headers['if-none-exist'] = `identifier=${encodeURIComponent(`${id.system}|${id.value}`)}`;
  }
  let res: Response;
  try {
    // The file's own text: its numbers as written (`1.50`), which a parse and stringify would change.
    res = await fetch(url, { method: 'POST', headers, body: text });
  } catch (err) {
    return { file, ok: false, status: 0, summary: `cannot reach ${url}: ${(err as Error).message}` };
  }
  const body = (await res.json().catch(() => undefined)) as Resource | undefined;
  if (!res.ok)
    return { file, ok: false, status: res.status, summary: describeOutcome(body) || res.statusText };
  if (isBundle) {
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
