import { readFileSync, readdirSync } from 'node:fs';
import { fhirXmlToJson } from './src/validation/xml.ts';
import { droppedContent } from './src/validation/xml-dropped.ts';
const dir = '/work/eval/files';
const rows = readFileSync('/work/eval/cases.jsonl', 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((c) => c.tier === 'ax');
for (const c of rows) {
  const text = readFileSync(`/work/eval/${c.file}`, 'utf8');
  let d: unknown;
  try { const j = fhirXmlToJson(text); d = droppedContent(text.replace(/^\uFEFF/, ''), j); } catch (e) { d = 'PARSE: ' + (e as Error).message.slice(0, 60); }
  const n = Array.isArray(d) ? d.length : -1;
  if (n !== 0) console.log(c.name, 'HL7', c.expectedErrors, JSON.stringify(d).slice(0, 300));
}
