import { randomBytes } from 'node:crypto';
import { createApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';

/** The only place that touches the process: environment, signals, exit codes. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env, { randomKey: () => randomBytes(24).toString('base64url') });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`Configuration error: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const app = await createApp(config);
  const { logger } = app;
  const address = await app.listen();
  logger.info({ host: address.address, port: address.port, engine: app.store.kind }, `listening on http://${address.address}:${address.port}`);
  if (config.generatedPublisherKey) {
    // Printed (not logged as JSON) so a newcomer can copy it straight into the README's curl lines.
    console.log(`\nNo PUBLISHER_KEYS set: this run's publisher key is\n\n  ${config.publisherKeys[0]!.key}\n\nUse it as: Authorization: Bearer <key>\n`);
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown took longer than 10 s; exiting');
      process.exit(1);
    }, 9_500);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  // Rotating publisher keys: re-read PUBLISHER_KEYS_FILE (the file is also watched; a bad file keeps the old keys).
  process.on('SIGHUP', () => {
    if (!stopping) app.reloadPublisherKeys();
  });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
