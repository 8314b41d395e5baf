import { createReadStream, readFileSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { visit } from 'jsonc-parser';
import ProgressBar from 'progress';
import { issue, outcome } from '../../shared/outcome.ts';
import type { Validator } from '../../validation/index.ts';

interface ValidateOptions {
  profile: string[];
  package: string[];
  ig?: string[];
  format: 'text' | 'ndjson';
}

/** One resource read from the input, or the reason it could not be parsed (reported as a fatal issue). */
interface InputItem {
  source: string;
  resource?: unknown;
  parseError?: string;
}

/** A problem with the command line or the file system: exit code 2. */
class UsageError extends Error {}

export function registerValidateCommand(program: Command): void {
  program
    .command('validate')
    .description(
      'Validate FHIR R4 resources (JSON files, Bundles, NDJSON, or folders of them) against R4, FI Base and our profiles',
    )
    .argument(
      '<paths...>',
      'files or directories (*.json, *.ndjson, *.xml; directories are walked recursively)',
    )
    .option('--profile <url>', 'validate against this profile too (repeatable)', collect, [])
    .option(
      '--package <path>',
      'extra FHIR package (.tgz or folder) or conformance resources (a .json resource/Bundle, or a folder of .json files) (repeatable)',
      collect,
      [],
    )
    .option('--ig <path>', "same as --package (the HL7 validator's -ig)", collect, [])
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'ndjson']).default('text'))
    .action(async (paths: string[], opts: ValidateOptions) => {
      try {
        process.exitCode = await runValidate(paths, opts);
      } catch (e) {
        process.stderr.write(`tyokyky validate: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 2;
      }
    });
}

function collect(value: string, previous: string[]): string[] {
  if (!value) throw new InvalidArgumentError('must not be empty');
  return [...previous, value];
}

/** Validates everything under `paths`; returns the exit code (0 valid, 1 errors found, 2 usage/I-O). */
export async function runValidate(paths: string[], opts: ValidateOptions): Promise<number> {
  const files = await listFiles(paths);
  const validator = await openValidator([...opts.package, ...(opts.ig ?? [])]);
  for (const p of opts.profile) {
    if (!validator.registry.structureDefinition(p))
      throw new UsageError(`unknown profile '${p}' (not in any loaded package)`);
  }
  const progress = createProgress(files.length);
  const totals = { resources: 0, invalid: 0, errors: 0, warnings: 0 };
  const out = process.stdout;
  for (const file of files) {
    for await (const item of readItems(file)) {
      const oo = item.parseError
        ? outcome([issue('fatal', 'structure', `Cannot parse ${item.source}: ${item.parseError}`)])
        : validator.validate(item.resource, opts.profile.length ? { profile: opts.profile } : undefined);
      const errors = count(oo, 'error') + count(oo, 'fatal');
      const warnings = count(oo, 'warning');
      totals.resources++;
      totals.errors += errors;
      totals.warnings += warnings;
      if (errors) totals.invalid++;
      progress.clear();
      if (opts.format === 'ndjson') {
        out.write(
          `${JSON.stringify({ source: item.source, valid: errors === 0, errors, warnings, outcome: oo })}\n`,
        );
      } else {
        out.write(formatText(item.source, oo, errors, warnings));
      }
    }
    progress.tick(file);
  }
  progress.done();
  if (opts.format === 'text') {
    out.write(
      `\n${totals.resources} resource(s): ${totals.resources - totals.invalid} valid, ${totals.invalid} with errors` +
        ` (${totals.errors} error(s), ${totals.warnings} warning(s))\n`,
    );
  }
  return totals.invalid > 0 ? 1 : 0;
}

async function openValidator(extraPackages: string[]): Promise<Validator> {
  for (const p of extraPackages) {
    try {
      statSync(p);
    } catch {
      throw new UsageError(`package not found: ${p}`);
    }
  }
  const validation = await import('../../validation/index.ts');
  if (!extraPackages.length) return validation.loadProjectValidator();
  const { PROJECT_ROOT } = await import('../../validation/packages.ts');
  const own = join(PROJECT_ROOT, 'profiles', 'package');
  const packages = [...extraPackages];
  if (exists(own)) packages.push(own);
  return validation.createValidator({ packages });
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

const INPUT_EXTENSIONS = new Set(['.json', '.ndjson', '.jsonl', '.xml']);

/** The files to read, in a stable order: explicit files as given, directories walked and sorted. */
async function listFiles(paths: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const p of paths) {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(p);
    } catch {
      throw new UsageError(`no such file or directory: ${p}`);
    }
    if (st.isDirectory()) {
      const entries = await readdir(p, { recursive: true, withFileTypes: true });
      const found = entries
        .filter((e) => e.isFile() && INPUT_EXTENSIONS.has(extname(e.name).toLowerCase()))
        .map((e) => join(e.parentPath, e.name))
        .sort();
      files.push(...found);
    } else {
      if (!INPUT_EXTENSIONS.has(extname(p).toLowerCase())) {
        throw new UsageError(
          `not a JSON, NDJSON or XML file: ${p} (expected .json, .ndjson, .jsonl or .xml)`,
        );
      }
      files.push(p);
    }
  }
  return files;
}

/**
 * Resources in one file. A `.json` file holds one resource (a Bundle is validated as one resource,
 * as the reference validator does) or a JSON array of resources; `.ndjson`/`.jsonl` one per line.
 */
async function* readItems(file: string): AsyncGenerator<InputItem> {
  const ext = extname(file).toLowerCase();
  if (ext === '.xml') {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
    }
    const { fhirXmlToJson } = await import('../../validation/xml.ts');
    try {
      yield { source: file, resource: fhirXmlToJson(text) };
    } catch (e) {
      yield { source: file, parseError: (e as Error).message };
    }
    return;
  }
  if (ext === '.json') {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = parseStrict(stripBom(text));
    } catch (e) {
      yield { source: file, parseError: (e as Error).message };
      return;
    }
    if (Array.isArray(parsed)) {
      for (let i = 0; i < parsed.length; i++) yield { source: `${file}[${i}]`, resource: parsed[i] };
    } else {
      yield { source: file, resource: parsed };
    }
    return;
  }
  const lines = createInterface({
    input: createReadStream(file, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let lineNo = 0;
  try {
    for await (const line of lines) {
      lineNo++;
      if (!line.trim()) continue;
      const source = `${file}:${lineNo}`;
      try {
        yield { source, resource: parseStrict(lineNo === 1 ? stripBom(line) : line) };
      } catch (e) {
        yield { source, parseError: (e as Error).message };
      }
    }
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
  }
}

const stripBom = (s: string) => (s.charCodeAt(0) === 0xfeff ? s.slice(1) : s);

/**
 * JSON.parse, plus the check it does not make: a property name repeated in one object is an error
 * (JSON.parse keeps the last silently; FHIR JSON forbids duplicates and the HL7 validator rejects them).
 */
function parseStrict(text: string): unknown {
  const value = JSON.parse(text);
  if (text.length > 2 && hasPossibleDuplicate(text)) {
    const seen: Array<Set<string>> = [];
    let duplicate: string | undefined;
    visit(text, {
      onObjectBegin: () => {
        seen.push(new Set());
      },
      onObjectEnd: () => {
        seen.pop();
      },
      onObjectProperty: (name, offset) => {
        const keys = seen[seen.length - 1];
        if (keys.has(name)) duplicate ??= `Duplicated property name '${name}' at offset ${offset}`;
        keys.add(name);
      },
    });
    if (duplicate) throw new Error(duplicate);
  }
  return value;
}

/** Cheap pre-filter: a duplicate needs some `"name":` to occur twice in the text. */
function hasPossibleDuplicate(text: string): boolean {
  const names = new Set<string>();
  const re = /"((?:[^"\\]|\\.)*)"\s*:/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (names.has(m[1])) return true;
    names.add(m[1]);
  }
  return false;
}

function count(oo: OperationOutcome, severity: OperationOutcomeIssue['severity']): number {
  return (oo.issue ?? []).filter((i) => i.severity === severity).length;
}

function formatText(source: string, oo: OperationOutcome, errors: number, warnings: number): string {
  const head = errors
    ? `✗ ${source}: ${errors} error(s), ${warnings} warning(s)`
    : `✓ ${source}: valid${warnings ? `, ${warnings} warning(s)` : ''}`;
  const lines = [head];
  for (const i of oo.issue ?? []) {
    if (i.severity === 'information' && i.code === 'informational' && i.diagnostics === 'All OK') continue;
    const where = i.expression?.[0] ?? i.location?.[0] ?? '';
    lines.push(
      `  ${i.severity.padEnd(11)} ${where ? `${where}  ` : ''}${i.diagnostics ?? i.details?.text ?? i.code}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** A one-line progress bar on stderr (the `progress` package draws nothing unless stderr is a terminal). */
function createProgress(total: number) {
  const bar =
    process.stderr.isTTY === true && total > 1
      ? new ProgressBar('[:bar] :current/:total :file', {
          total,
          width: 30,
          stream: process.stderr,
          renderThrottle: 80,
          clear: true,
        })
      : undefined;
  return {
    tick(file: string) {
      bar?.tick({ file: file.length > 40 ? `…${file.slice(-39)}` : file });
    },
    /** Wipes the bar before a line is written to stdout, so the two never interleave on one line. */
    clear() {
      if (bar && !bar.complete) process.stderr.write('\r\x1b[K');
    },
    done() {
      if (bar && !bar.complete) bar.terminate();
    },
  };
}
