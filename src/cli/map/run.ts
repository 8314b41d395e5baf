import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { OperationOutcome } from '@medplum/fhirtypes';
import { DOMAIN_KINDS, type DomainKind } from '../../domain/index.ts';
import { fromFhirAny } from '../../mapping/index.ts';
import {
  type FromFhirOptions,
  type Language,
  type MappingOptions,
  toFhir,
  toResources,
  transactionBundle,
} from '../../mapping/index.ts';
import { fsErrorText } from '../../shared/fs-error.ts';
import { jsonSyntaxMessage } from '../../shared/json-error.ts';
import { FhirError } from '../../shared/outcome.ts';
import { MAX_INPUT_BYTES, readJsonText } from '../json-input.ts';

export interface MapOptions {
  toFhir?: string;
  fromFhir?: string;
  language: Language;
  /** The creating application (`--application-name`, `--application-id`; both or neither). */
  applicationName?: string;
  applicationId?: string;
  /** The base of the vendor's local-id systems (`--local-id-system-base`), both ways. */
  localIdSystemBase?: string;
}

/** The largest input `tyokyky map` reads (the CLI's one input limit, src/cli/json-input.ts). */
export { MAX_INPUT_BYTES };
const MIB = 1024 * 1024;
/** What a stream is read in: one chunk at a time, never more than the limit and one byte held. */
const CHUNK_BYTES = 64 * 1024;

function fail(message: string, code: number): number {
  process.stderr.write(`tyokyky map: ${message}\n`);
  return code;
}

function describe(oo: OperationOutcome): string {
  return (oo.issue ?? []).map((i) => `  ${i.severity}: ${i.diagnostics}`).join('\n');
}

/** An input over MAX_INPUT_BYTES (its size), or usage/I-O trouble reading it: an error. */
class InputError extends Error {}

/** `file` is over `limit`: `size` is its size when known (a regular file), else what came past the limit. */
function tooLarge(file: string, limit: number, size?: number): InputError {
  const most = limit % MIB === 0 ? `${limit / MIB} MiB` : `${limit} bytes`;
  const what = size === undefined ? `more than ${limit} bytes` : `${size} bytes`;
  return new InputError(
    `${file} is too large (${what}): tyokyky map reads at most ${most} (one record or one object)`,
  );
}

/**
 * The input's text (`-`: stdin), at most `limit` bytes: a regular file is measured before it is read;
 * anything else (a pipe) is read a chunk at a time, and refused as soon as a byte past the limit has
 * come, without reading the rest.
 */
export function readInput(file: string, limit = MAX_INPUT_BYTES): string {
  let fd: number;
  try {
    fd = file === '-' ? 0 : openSync(file, 'r');
  } catch (e) {
    throw new InputError(`cannot read ${file}: ${fsErrorText(e)}`);
  }
  try {
    const st = fstatSync(fd);
    if (st.isFile() && st.size > limit) throw tooLarge(file, limit, st.size);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, limit + 1 - total));
      const n = readSome(fd, chunk);
      if (n === 0) break;
      chunks.push(n === chunk.length ? chunk : chunk.subarray(0, n));
      total += n;
      if (total > limit) throw tooLarge(file, limit, st.isFile() ? st.size : undefined);
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`cannot read ${file}: ${fsErrorText(e)}`);
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

/** One read of `fd` into `buffer` (0 at the end); a non-blocking stdin with nothing yet is waited for. */
function readSome(fd: number, buffer: Buffer): number {
  for (;;) {
    try {
      return readSync(fd, buffer, 0, buffer.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EOF') return 0;
      if (code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}

/** The mapping's option names as the command line spells them (a refused option names its flag). */
const FLAGS: [string, string][] = [
  ['options.application.name', '--application-name'],
  ['options.application.applicationId', '--application-id'],
  ['options.localIdSystemBase', '--local-id-system-base'],
];

/** Exit codes: 0 mapped, 1 invalid input (the issues go to stderr), 2 usage or I/O error. */
export function runMap(opts: MapOptions): number {
  const file = (opts.toFhir ?? opts.fromFhir)!;
  let text: string;
  try {
    text = readInput(file);
  } catch (e) {
    if (e instanceof InputError) return fail(e.message, 2);
    throw e;
  }
  let input: unknown;
  try {
    input = readJsonText(text).value;
  } catch (e) {
    // parseStrict's own refusal (a property name given twice) says what it is; a syntax error, where.
    return e instanceof SyntaxError
      ? fail(`${file} is not JSON: ${jsonSyntaxMessage(e)}`, 1)
      : fail(`${file} is not FHIR JSON: ${(e as Error).message}`, 1);
  }
  const mapping: MappingOptions & FromFhirOptions = {
    language: opts.language,
    ...(opts.localIdSystemBase === undefined ? {} : { localIdSystemBase: opts.localIdSystemBase }),
    ...(opts.applicationName === undefined && opts.applicationId === undefined
      ? {}
      : { application: { name: opts.applicationName ?? '', applicationId: opts.applicationId ?? '' } }),
  };
  try {
    const output =
      opts.toFhir !== undefined ? mapToFhir(input, mapping) : fromFhirAny(input as never, mapping);
    process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
    return 0;
  } catch (e) {
    if (e instanceof FhirError) return fail(`invalid input in ${file}:\n${describe(e.outcome)}`, 1);
    const flag = e instanceof TypeError ? FLAGS.find(([option]) => e.message.startsWith(option)) : undefined;
    if (flag) return fail(flag[1] + (e as Error).message.slice(flag[0].length), 2);
    throw e;
  }
}

function mapToFhir(input: unknown, opts: MappingOptions): unknown {
  if (input && typeof input === 'object' && 'kind' in input && 'value' in input) {
    const { kind, value } = input as { kind: DomainKind; value: never };
    // The kind is not quoted: a value that is none of them may be anything, client data included.
    if (!DOMAIN_KINDS.includes(kind))
      throw FhirError.badRequest(`kind: is not one of ${DOMAIN_KINDS.join(', ')}`, 'kind');
    return transactionBundle(toResources(kind, value, opts));
  }
  return toFhir(input as never, opts);
}
