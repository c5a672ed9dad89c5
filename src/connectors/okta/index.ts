// The Okta connector from configuration (used by app.ts and the CLI), and the event hook receiver.

import type { Logger } from 'pino';
import { type Config, ConfigError } from '../../config/config.js';
import type { Store } from '../../store/types.js';
import type { SyncEngine } from '../../sync/engine.js';
import { OktaConnector } from './connector.js';
import { OktaHookReceiver } from './hooks.js';
import { type OktaSettings, oktaSettingsFromConfig } from './settings.js';
import { readFileSync } from 'node:fs';

export { OktaConnector, WATCHED_EVENTS } from './connector.js';
export { OktaHookReceiver } from './hooks.js';
export type { OktaSettings } from './settings.js';
export { requiredScopes } from './settings.js';

/** `overrides`: tuning for tests (timeouts, polling). */
export function createOktaConnector(config: Config, logger?: Logger, overrides: Partial<OktaSettings> = {}): OktaConnector {
  return new OktaConnector({ ...oktaSettingsFromConfig(config), ...overrides }, logger ? { logger } : {});
}

/** The event hook's shared secret, if configured (the route exists only then). */
export function oktaHookSecret(config: Config): string | undefined {
  if (config.oktaEventHookSecret) return config.oktaEventHookSecret;
  if (!config.oktaEventHookSecretFile) return undefined;
  try {
    const s = readFileSync(config.oktaEventHookSecretFile, 'utf8').trim();
    if (s.length < 16) throw new ConfigError('AGENTROSTER_OKTA_EVENT_HOOK_SECRET_FILE must hold at least 16 characters');
    return s;
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`cannot read AGENTROSTER_OKTA_EVENT_HOOK_SECRET_FILE (${config.oktaEventHookSecretFile}): ${(e as Error).message}`);
  }
}

/** The receiver of Okta event hooks, when the okta target runs here and a hook secret is set. */
export function oktaHookReceiverFor(engine: SyncEngine | undefined, store: Store, config: Config, logger: Logger): { receiver: OktaHookReceiver; secret: string; header: string } | undefined {
  const t = engine?.targets.get('okta');
  const secret = oktaHookSecret(config);
  if (!t || !secret || !(t.sync.connector instanceof OktaConnector)) return undefined;
  const receiver = new OktaHookReceiver({ connector: t.sync.connector, target: t.sync, store: store.sync, logger });
  return { receiver, secret, header: config.oktaEventHookHeader };
}
