// npm run docs:config — rewrites the generated table in docs/configuration.md.
import { readFileSync, writeFileSync } from 'node:fs';
import { renderConfigDoc } from '../src/config/config-docs.js';

const path = new URL('../docs/configuration.md', import.meta.url);
writeFileSync(path, renderConfigDoc(readFileSync(path, 'utf8')));
console.log('docs/configuration.md updated');
