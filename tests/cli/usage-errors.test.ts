// One wording for the same trouble across commands: an unknown command is refused with or without
// --help, a missing file is "no such file or directory", and every command's refusal names the command.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runHere as run } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'tyokyky-usage-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('an unknown command', () => {
  it.each([[['reindex']], [['reindex', '--help']], [['reindex', '-h']], [['reindex', 'x', '--help']]])(
    'tyokyky %s: unknown command, exit 2 (never the root help and exit 0)',
    async (args) => {
      const r = await run(args);
      expect(r.code).toBe(2);
      expect(r.out.split('\n')[0]).toBe("error: unknown command 'reindex'");
      expect(r.out).not.toContain('Usage:');
    },
  );

  it.each([
    [['help', 'reindex']],
    [['sync', 'help', 'reindex']],
    [['help', 'sync', 'reindex']],
    [['help', 'validate', 'reindex']],
  ])(
    'tyokyky %s: the help command names the unknown command too (exit 2), not the help of its parent',
    async (args) => {
      const r = await run(args);
      expect(r.code).toBe(2);
      expect(r.out.split('\n')[0]).toBe("error: unknown command 'reindex'");
      expect(r.out).not.toContain('Usage:');
    },
  );

  it('tyokyky help, help <command> and sync help <command> show help (exit 0)', async () => {
    for (const [args, usage] of [
      [['help'], 'Usage: tyokyky [options] [command]'],
      [['help', 'sync'], 'Usage: tyokyky sync [options] [command]'],
      [['help', 'validate'], 'Usage: tyokyky validate [options] <paths...>'],
      [['sync', 'help', 'push'], 'Usage: tyokyky sync push [options]'],
      [['help', 'sync', 'push'], 'Usage: tyokyky sync push [options]'],
      [['help', 'help'], 'Usage: tyokyky [options] [command]'],
    ] as const) {
      const r = await run([...args]);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.out.split('\n')[0]).toBe(usage);
    }
  });

  it('a command answers -V / --version as the root does (its options are its own)', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    for (const args of [['--version'], ['validate', '--version'], ['sync', 'push', '-V']]) {
      expect(await run(args)).toEqual({ code: 0, out: `${version}\n` });
    }
  });

  it('tyokyky --help and a known command with --help still show help (exit 0)', async () => {
    expect((await run(['--help'])).code).toBe(0);
    const validate = await run(['validate', '--help']);
    expect(validate.code).toBe(0);
    expect(validate.out).toContain('Usage: tyokyky validate');
  });
});

describe('a file that does not exist', () => {
  it('validate --package: "cannot load package <path>:" as every package load error starts', async () => {
    const inputs = join(dir, 'inputs');
    mkdirSync(inputs);
    writeFileSync(join(inputs, 'p.json'), '{"resourceType":"Patient"}');
    const pkg = join(dir, 'nope.tgz');
    expect(await run(['validate', '--package', pkg, inputs])).toEqual({
      code: 2,
      out: `tyokyky validate: cannot load package ${pkg}: no such file or directory\n`,
    });
  }, 60_000);

  it('map --to-fhir: "cannot read <file>: no such file or directory"', async () => {
    const missing = join(dir, 'nope.json');
    expect(await run(['map', '--to-fhir', missing])).toEqual({
      code: 2,
      out: `tyokyky map: cannot read ${missing}: no such file or directory\n`,
    });
  });
});

describe('load --url', () => {
  it('a URL that is none: exit 2 with the load prefix', async () => {
    expect(await run(['load', join(dir, 'x.json'), '--url', 'notaurl'])).toEqual({
      code: 2,
      out: 'tyokyky load: --url must be an absolute http(s) URL\n',
    });
  });
});
