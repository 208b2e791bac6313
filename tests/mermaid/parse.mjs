// Parses every ```mermaid block of the Markdown files given with Mermaid's own parser.
// Run from a directory whose node_modules holds `mermaid` and `jsdom` (the test copies this
// file there): Mermaid needs a DOM for its sanitizer, even only to parse.
import { readFileSync } from 'node:fs';
import { JSDOM } from 'jsdom';

const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');

let failed = 0;
let parsed = 0;
for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/```mermaid\n([\s\S]*?)```/g)) {
    try {
      await mermaid.parse(m[1]);
      parsed++;
    } catch (e) {
      failed++;
      console.error(`${file}: ${e.message ?? e}`);
    }
  }
}
console.log(`parsed ${parsed} mermaid block(s), ${failed} failed`);
process.exit(failed ? 1 : 0);
