// Project standard: no function over ~100 lines. Checked for every stage in src/ and the benchmarks with
// the TypeScript compiler's own parser, so arrow functions, methods and nested functions all count.
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAX_LINES = 100;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** `file:line name (n lines)` for every function in `file` longer than `max` lines. */
function longFunctions(file: string, max: number): string[] {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = sf.getLineAndCharacterOfPosition(node.getStart()).line;
      const last = sf.getLineAndCharacterOfPosition(node.end).line;
      if (last - first + 1 > max) {
        const name =
          node.name?.getText() ??
          (ts.isVariableDeclaration(node.parent) || ts.isPropertyAssignment(node.parent)
            ? node.parent.name.getText()
            : '(anonymous)');
        found.push(`${relative(ROOT, file)}:${first + 1} ${name} (${last - first + 1} lines)`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

describe('function length in src/ and bench/', () => {
  it(`has no function over ${MAX_LINES} lines`, () => {
    const files = [...sources(join(ROOT, 'src')), ...sources(join(ROOT, 'bench'))];
    expect(files.length).toBeGreaterThan(150);
    expect(files.flatMap((f) => longFunctions(f, MAX_LINES))).toEqual([]);
  });

  it('finds a long function when there is one (the check itself can fail)', () => {
    const file = join(ROOT, 'src/server/security/guard-reads.ts');
    expect(longFunctions(file, 5).some((f) => f.includes(' searchJson ('))).toBe(true);
  });
});
