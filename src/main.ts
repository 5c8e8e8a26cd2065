import { randomBytes } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { createApp } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { startupMessage } from './ops/startup.ts';
import { probeRedis, redisEndpoint } from './storage/redis-probe.ts';

function configError(err: ConfigError): never {
  console.error(`Configuration error: ${err.message}`);
  process.exit(2);
}

/** An unreachable REDIS_URL is a configuration error like any other: one line naming the variable, exit 2. */
async function checkRedis(config: Config): Promise<void> {
  if (!config.redisUrl) return;
  const seconds = config.redisConnectTimeoutSeconds;
  try {
    await probeRedis(config.redisUrl, seconds * 1000);
  } catch (err) {
    const why = (err as Error).message.split('\n')[0];
    configError(new ConfigError('REDIS_URL', `no Redis answered at ${redisEndpoint(config.redisUrl)} within ${seconds} s (${why}); see also REDIS_CONNECT_TIMEOUT_SECONDS`));
  }
}

/** The only place that touches the process: environment, signals, exit codes. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env, { randomKey: () => randomBytes(24).toString('base64url') });
  } catch (err) {
    if (err instanceof ConfigError) configError(err);
    throw err;
  }
  await checkRedis(config);
  const app = await createApp(config);
  const { logger } = app;
  const address = await app.listen();
  logger.info({ host: address.address, port: address.port, engine: app.store.kind }, `listening on http://${address.address}:${address.port}`);
  // Printed (not logged as JSON) so a newcomer can open the pages and copy the key into the README's commands.
  console.log(
    startupMessage({
      address: address.address,
      port: address.port,
      engine: app.store.kind,
      generatedKey: config.generatedPublisherKey ? config.publisherKeys[0]!.key : null,
      interfaces: networkInterfaces(),
    }),
  );

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
