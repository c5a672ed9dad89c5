// The configuration reference table, generated from the zod schema and the env table, so that
// docs/configuration.md cannot drift (test/unit/config/config-docs.test.ts checks it).

import { ConfigSchema, ENV_TABLE } from './config.js';

export const BEGIN = '<!-- BEGIN GENERATED: npm run docs:config -->';
export const END = '<!-- END GENERATED -->';

export function configTable(): string {
  const defaults = ConfigSchema.parse({}) as Record<string, unknown>;
  const envOf = new Map(Object.entries(ENV_TABLE).map(([env, key]) => [key as string, env]));
  const rows = Object.entries(ConfigSchema.shape).map(([key, schema]) => {
    const env = envOf.get(key);
    const def = defaults[key];
    const description = (schema as { description?: string }).description ?? '';
    return `| \`${key}\` | ${env ? `\`${env}\`` : '—'} | ${def === undefined ? '—' : `\`${String(def)}\``} | ${description} |`;
  });
  return ['| key (config file) | environment | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

export function renderConfigDoc(current: string): string {
  const a = current.indexOf(BEGIN);
  const b = current.indexOf(END);
  if (a < 0 || b < a) throw new Error('docs/configuration.md lacks the generated-section markers');
  return `${current.slice(0, a + BEGIN.length)}\n${configTable()}\n${current.slice(b)}`;
}
