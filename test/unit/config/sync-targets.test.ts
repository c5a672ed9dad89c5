// Finding 12: a sync target whose settings (design.md "Contracts") are complete is configured;
// AGENTROSTER_SYNC_TARGETS is an explicit override; errors name the target and what it misses.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, missingSyncSettings } from '../../../src/config/config.js';
import { entraSettingsFromConfig } from '../../../src/connectors/entra/settings.js';
import { oktaSettingsFromConfig } from '../../../src/connectors/okta/settings.js';

/** Every AGENTROSTER_ENTRA_* setting the design's contract lists. */
const ENTRA_CONTRACT = {
  AGENTROSTER_ENTRA_TENANT_ID: 'contoso.example',
  AGENTROSTER_ENTRA_CLIENT_ID: '0a1b2c3d-0000-4000-8000-000000000001',
  AGENTROSTER_ENTRA_CLIENT_SECRET: 'not-a-real-secret',
  AGENTROSTER_ENTRA_AUTHORITY_HOST: 'https://login.microsoftonline.com',
  AGENTROSTER_ENTRA_GRAPH_URL: 'https://graph.microsoft.com',
  AGENTROSTER_ENTRA_BLUEPRINT_ID: '11111111-2222-4333-8444-555555555555',
};
const OKTA_CONTRACT = {
  AGENTROSTER_OKTA_ORG_URL: 'https://example.okta.com',
  AGENTROSTER_OKTA_TOKEN: 'not-a-real-token',
  AGENTROSTER_OKTA_LOGIN_DOMAIN: 'agents.example.com',
};

const fail = (f: () => unknown): Error => {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
};

describe('sync targets from settings', () => {
  it('nothing set: no target', () => {
    expect(loadConfig({}).syncTargets).toEqual([]);
  });

  it('every AGENTROSTER_ENTRA_* setting of the contract, no AGENTROSTER_SYNC_TARGETS: Entra is configured', () => {
    const c = loadConfig(ENTRA_CONTRACT);
    expect(c.syncTargets).toEqual(['entra']);
    expect(entraSettingsFromConfig(c)).toMatchObject({ tenantId: 'contoso.example', blueprintIds: ['11111111-2222-4333-8444-555555555555'] });
  });

  it('the required ones suffice (authority and Graph URLs have defaults); a certificate replaces the secret', () => {
    const { AGENTROSTER_ENTRA_AUTHORITY_HOST: _a, AGENTROSTER_ENTRA_GRAPH_URL: _g, AGENTROSTER_ENTRA_CLIENT_SECRET: _s, ...rest } = ENTRA_CONTRACT;
    expect(loadConfig({ ...rest, AGENTROSTER_ENTRA_CERTIFICATE_PATH: '/etc/agentroster/entra.pem' }).syncTargets).toEqual(['entra']);
    expect(loadConfig({ ...rest, AGENTROSTER_ENTRA_CLIENT_SECRET_FILE: '/run/secrets/entra' }).syncTargets).toEqual(['entra']);
  });

  it('the fallback mappings need what they need instead of a blueprint', () => {
    const { AGENTROSTER_ENTRA_BLUEPRINT_ID: _b, ...noBlueprint } = ENTRA_CONTRACT;
    expect(loadConfig(noBlueprint).syncTargets).toEqual([]);
    expect(loadConfig({ ...noBlueprint, AGENTROSTER_ENTRA_MAPPING: 'servicePrincipal' }).syncTargets).toEqual(['entra']);
    expect(loadConfig({ ...noBlueprint, AGENTROSTER_ENTRA_MAPPING: 'user' }).syncTargets).toEqual([]);
    expect(loadConfig({ ...noBlueprint, AGENTROSTER_ENTRA_MAPPING: 'user', AGENTROSTER_ENTRA_USER_DOMAIN: 'agents.example.com' }).syncTargets).toEqual(['entra']);
  });

  it('Okta by API token or by service app; both targets together', () => {
    expect(loadConfig(OKTA_CONTRACT).syncTargets).toEqual(['okta']);
    expect(
      loadConfig({ AGENTROSTER_OKTA_ORG_URL: 'https://example.okta.com', AGENTROSTER_OKTA_CLIENT_ID: '0oa1', AGENTROSTER_OKTA_PRIVATE_KEY_PATH: '/k.pem' }).syncTargets,
    ).toEqual(['okta']);
    expect(loadConfig({ AGENTROSTER_OKTA_ORG_URL: 'https://example.okta.com', AGENTROSTER_OKTA_CLIENT_ID: '0oa1' }).syncTargets).toEqual([]);
    expect(loadConfig({ ...ENTRA_CONTRACT, ...OKTA_CONTRACT }).syncTargets).toEqual(['entra', 'okta']);
  });

  it('incomplete settings configure nothing', () => {
    const { AGENTROSTER_ENTRA_CLIENT_SECRET: _s, ...noSecret } = ENTRA_CONTRACT;
    expect(loadConfig(noSecret).syncTargets).toEqual([]);
    expect(missingSyncSettings(loadConfig(noSecret), 'entra')).toEqual(['AGENTROSTER_ENTRA_CLIENT_SECRET (or _CLIENT_SECRET_FILE, or _CERTIFICATE_PATH)']);
    expect(loadConfig({ AGENTROSTER_OKTA_ORG_URL: 'https://example.okta.com' }).syncTargets).toEqual([]);
  });
});

describe('AGENTROSTER_SYNC_TARGETS overrides', () => {
  const both = { ...ENTRA_CONTRACT, ...OKTA_CONTRACT };
  it.each([
    ['none', []],
    ['entra', ['entra']],
    ['okta', ['okta']],
    ['entra,okta', ['entra', 'okta']],
    [' Entra , okta ', ['entra', 'okta']],
  ])('AGENTROSTER_SYNC_TARGETS=%s → %j', (value, want) => {
    expect(loadConfig({ ...both, AGENTROSTER_SYNC_TARGETS: value }).syncTargets).toEqual(want);
  });

  it('an unknown target is a configuration error naming the variable', () => {
    expect(fail(() => loadConfig({ AGENTROSTER_SYNC_TARGETS: 'entra,sailpoint' })).message).toMatch(/syncTargets: .*\(from AGENTROSTER_SYNC_TARGETS\)/);
  });

  it('from a config file too, and a flag wins over both', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ar-cfg-')), 'config.json');
    writeFileSync(file, JSON.stringify({ syncTargets: 'none' }));
    expect(loadConfig({ ...both, AGENTROSTER_CONFIG: file }).syncTargets).toEqual([]);
    expect(loadConfig({ ...both, AGENTROSTER_CONFIG: file }, { syncTargets: ['okta'] }).syncTargets).toEqual(['okta']);
  });

  it('a target named explicitly but incomplete is an error naming it and what it misses', () => {
    const entra = loadConfig({ AGENTROSTER_SYNC_TARGETS: 'entra', AGENTROSTER_ENTRA_TENANT_ID: 'contoso.example' });
    expect(entra.syncTargets).toEqual(['entra']);
    const e = fail(() => entraSettingsFromConfig(entra));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toBe(
      'the Entra sync target needs: AGENTROSTER_ENTRA_CLIENT_ID, AGENTROSTER_ENTRA_CLIENT_SECRET (or _CLIENT_SECRET_FILE, or _CERTIFICATE_PATH), AGENTROSTER_ENTRA_BLUEPRINT_ID',
    );
    const o = fail(() => oktaSettingsFromConfig(loadConfig({ ...ENTRA_CONTRACT, AGENTROSTER_SYNC_TARGETS: 'okta' })));
    expect(o).toBeInstanceOf(ConfigError);
    expect(o.message).toMatch(/^the Okta sync target needs: AGENTROSTER_OKTA_ORG_URL, AGENTROSTER_OKTA_TOKEN/);
    expect(o.message).not.toMatch(/entra/i);
  });
});
