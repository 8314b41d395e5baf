import { createReadStream, readFileSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fsErrorText } from '../../shared/fs-error.ts';
import { parseStrict, readJsonText } from '../json-input.ts';

/** One resource read from the input, or the reason it could not be parsed (reported as a fatal issue). */
export interface InputItem {
  source: string;
  /** The file it came from (JUnit groups test cases by it). */
  file: string;
  resource?: unknown;
  parseError?: string;
  /** An XML document's bytes, for `Validator.validateXml` (which converts and checks it). */
  xml?: Uint8Array;
}

/** A problem with the command line or the file system: exit code 2. */
export class UsageError extends Error {}

const INPUT_EXTENSIONS = new Set(['.json', '.ndjson', '.jsonl', '.xml']);

/**
 * Files a folder walk leaves out: FHIR and npm package manifests and the package index are not resources
 * (a FHIR package folder holds all three beside its resources).
 */
export const PACKAGE_MANIFESTS: ReadonlySet<string> = new Set([
  'package.json',
  'package-lock.json',
  '.index.json',
]);

/** The files to read, in a stable order: explicit files as given, directories walked and sorted. */
export async function listFiles(paths: string[]): Promise<Array<{ path: string; size: number }>> {
  const files: Array<{ path: string; size: number }> = [];
  for (const p of paths) {
    const st = readable(p, () => statSync(p));
    if (st.isDirectory()) {
      const entries = await readdir(p, { recursive: true, withFileTypes: true }).catch((e) => {
        throw cannotRead(p, e);
      });
      const found = entries
        .filter((e) => e.isFile() && INPUT_EXTENSIONS.has(extname(e.name).toLowerCase()))
        .filter((e) => !PACKAGE_MANIFESTS.has(basename(e.name)))
        .map((e) => join(e.parentPath, e.name))
        .sort();
      for (const f of found) files.push({ path: f, size: readable(f, () => statSync(f)).size });
    } else {
      if (!INPUT_EXTENSIONS.has(extname(p).toLowerCase())) {
        throw new UsageError(
          `not a JSON, NDJSON or XML file: ${p} (expected .json, .ndjson, .jsonl or .xml)`,
        );
      }
      files.push({ path: p, size: st.size });
    }
  }
  return files;
}

/**
 * A failed look at `path` as a UsageError naming the path it failed on (a folder inside a walk, say)
 * and why, as the system words it (`cannot read sub: permission denied`): never "missing" whatever the cause.
 */
function cannotRead(path: string, e: unknown): UsageError {
  return new UsageError(`cannot read ${(e as NodeJS.ErrnoException).path ?? path}: ${fsErrorText(e)}`);
}

/** `look()`'s answer, or its failure as `cannotRead`. */
function readable<T>(path: string, look: () => T): T {
  try {
    return look();
  } catch (e) {
    throw cannotRead(path, e);
  }
}

function readText(file: string): string {
  return readBytes(file).toString('utf8');
}

function readBytes(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw cannotRead(file, e);
  }
}

/**
 * Resources in one file. A `.json` file holds one resource (a Bundle is validated as one resource,
 * as the reference validator does) or a JSON array of resources; `.ndjson`/`.jsonl` one per line.
 * `onBytes` hears how much of the file has been read, so progress can follow a single large file.
 */
export async function* readItems(file: string, onBytes: (n: number) => void): AsyncGenerator<InputItem> {
  const ext = extname(file).toLowerCase();
  if (ext === '.xml') {
    const bytes = readBytes(file);
    onBytes(bytes.length);
    yield { source: file, file, xml: bytes };
    return;
  }
  if (ext === '.json') {
    const text = readText(file);
    onBytes(Buffer.byteLength(text));
    let parsed: unknown;
    try {
      parsed = readJsonText(text).value;
    } catch (e) {
      yield { source: file, file, parseError: (e as Error).message };
      return;
    }
    if (Array.isArray(parsed)) {
      for (let i = 0; i < parsed.length; i++) yield { source: `${file}[${i}]`, file, resource: parsed[i] };
    } else {
      yield { source: file, file, resource: parsed };
    }
    return;
  }
  yield* readLines(file, onBytes);
}

async function* readLines(file: string, onBytes: (n: number) => void): AsyncGenerator<InputItem> {
  const input = createReadStream(file, 'utf8');
  let pending = 0;
  input.on('data', (chunk) => {
    pending += Buffer.byteLength(chunk);
  });
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let lineNo = 0;
  try {
    for await (const line of lines) {
      lineNo++;
      if (pending) {
        onBytes(pending);
        pending = 0;
      }
      if (!line.trim()) continue;
      const source = `${file}:${lineNo}`;
      try {
        // A byte order mark can only begin the file: its first line.
        yield { source, file, resource: lineNo === 1 ? readJsonText(line).value : parseStrict(line) };
      } catch (e) {
        yield { source, file, parseError: (e as Error).message };
      }
    }
  } catch (e) {
    throw cannotRead(file, e);
  }
  if (pending) onBytes(pending);
}
