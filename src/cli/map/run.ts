import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import type { OperationOutcome } from '@medplum/fhirtypes';
import { DOMAIN_KINDS, type DomainKind } from '../../domain/index.ts';
import {
  type FromFhirOptions,
  type Language,
  type MappingOptions,
  fromFhir,
  toFhir,
  toResources,
  transactionBundle,
} from '../../mapping/index.ts';
import { jsonSyntaxMessage } from '../../shared/json-error.ts';
import { FhirError } from '../../shared/outcome.ts';
import { parseStrict } from '../validate/input.ts';

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

/**
 * The largest input `tyokyky map` reads: 64 MiB. One record or one object is some tens of kilobytes; a
 * larger file is refused before it is read (a JavaScript string holds at most ~512 MiB anyway).
 */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;
const LIMIT_TEXT = '64 MiB';

function fail(message: string, code: number): number {
  process.stderr.write(`tyokyky map: ${message}\n`);
  return code;
}

function describe(oo: OperationOutcome): string {
  return (oo.issue ?? []).map((i) => `  ${i.severity}: ${i.diagnostics}`).join('\n');
}

/** An input over MAX_INPUT_BYTES (its size), or usage/I-O trouble reading it: an error. */
class InputError extends Error {}

function tooLarge(file: string, size: number): InputError {
  return new InputError(
    `${file} is too large (${size} bytes): tyokyky map reads at most ${LIMIT_TEXT} (one record or one object)`,
  );
}

/**
 * The input's text: a file is measured before it is read; stdin is measured as it is (a regular file
 * redirected to it by its size, a pipe by what came).
 */
function readInput(file: string): string {
  let fd: number;
  try {
    fd = file === '-' ? 0 : openSync(file, 'r');
  } catch (e) {
    throw new InputError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (st.isFile() && st.size > MAX_INPUT_BYTES) throw tooLarge(file, st.size);
    const bytes = readFileSync(fd);
    if (bytes.length > MAX_INPUT_BYTES) throw tooLarge(file, bytes.length);
    return bytes.toString('utf8');
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  } finally {
    if (fd !== 0) closeSync(fd);
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
    input = parseStrict(text);
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
    const output = opts.toFhir !== undefined ? mapToFhir(input, mapping) : fromFhir(input as never, mapping);
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
