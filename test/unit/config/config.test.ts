import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderConfigDoc } from '../../../src/config/config-docs.js';
import { ConfigError, ENV_TABLE, loadConfig } from '../../../src/config/config.js';

describe('configuration', () => {
  it('uses the documented defaults', () => {
    expect(loadConfig({})).toMatchObject({ port: 8080, databaseUrl: 'sqlite:./data/agentroster.db', logLevel: 'info' });
  });

  it('takes the environment over defaults, and flags over the environment', () => {
    const c = loadConfig({ AGENTROSTER_PORT: '9000', AGENTROSTER_DATABASE_URL: 'sqlite::memory:' }, { port: 9100 });
    expect(c.port).toBe(9100);
    expect(c.databaseUrl).toBe('sqlite::memory:');
  });

  it('lists every invalid value with where it came from', () => {
    const err = (() => {
      try {
        loadConfig({ AGENTROSTER_PORT: '70000', AGENTROSTER_BASE_URL: 'not a url' });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/port: .*\(from AGENTROSTER_PORT\)/);
    expect((err as Error).message).toMatch(/baseUrl: .*\(from AGENTROSTER_BASE_URL\)/);
  });

  it('docs/configuration.md lists every setting and environment variable (run npm run docs:config)', () => {
    const doc = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    expect(renderConfigDoc(doc)).toBe(doc);
    for (const env of Object.keys(ENV_TABLE)) expect(doc).toContain(env);
  });
});
