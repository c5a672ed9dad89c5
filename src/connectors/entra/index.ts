// The Entra connector from configuration (used by app.ts and the CLI).

import type { Logger } from 'pino';
import type { Config } from '../../config/config.js';
import { EntraConnector } from './connector.js';
import { type EntraSettings, entraSettingsFromConfig } from './settings.js';

export { EntraConnector } from './connector.js';
export type { EntraSettings, EntraMapping } from './settings.js';

/** `overrides`: transport seams for tests (fetch, MSAL network client) and tuning. */
export function createEntraConnector(config: Config, logger?: Logger, overrides: Partial<EntraSettings> = {}): EntraConnector {
  return new EntraConnector({ ...entraSettingsFromConfig(config), ...overrides }, logger ? { logger } : {});
}
