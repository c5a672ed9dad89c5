/**
 * Optional vitest globalSetup: makes sure the emulator CA exists and points NODE_EXTRA_CA_CERTS
 * at it *before* vitest starts its worker processes, so that global fetch and msal-node's default
 * HTTP client in every test file trust the emulator exactly as production code would.
 * If NODE_EXTRA_CA_CERTS is already set, it points at a bundle of that file plus the emulator CA.
 *
 *   // vitest.config.ts
 *   test: { globalSetup: ['test/emulators/graph/global-setup.ts'] }
 */
import { caBundleFor } from './certs.js';

export default async function setup(): Promise<void> {
  process.env['NODE_EXTRA_CA_CERTS'] = await caBundleFor(process.env['NODE_EXTRA_CA_CERTS']);
}
