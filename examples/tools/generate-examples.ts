/** Writes examples/personas/<name>.json from the persona domain objects: `npm run build:examples`. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { toFhir } from '../../src/mapping/index.ts';
import { projectPath } from '../../src/shared/project-files.ts';
import { personas } from './personas.ts';

export const EXAMPLES_DIR = 'examples/personas';

/** The persona Bundles as the files hold them (2-space JSON, trailing newline). */
export function renderPersonaExamples(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(personas).map(([name, record]) => [
      `${name}.json`,
      `${JSON.stringify(toFhir(record), null, 2)}\n`,
    ]),
  );
}

export function writePersonaExamples(): string[] {
  const dir = projectPath(EXAMPLES_DIR);
  mkdirSync(dir, { recursive: true });
  return Object.entries(renderPersonaExamples()).map(([file, text]) => {
    writeFileSync(`${dir}/${file}`, text);
    return `${EXAMPLES_DIR}/${file}`;
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const file of writePersonaExamples()) console.log(`wrote ${file}`);
}
