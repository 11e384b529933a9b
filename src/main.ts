import 'reflect-metadata';

import { createApp } from './app.factory.js';
import { ConfigError, loadConfig, type AppConfig } from './modules/config/app-config.js';

const configOrExit = (): AppConfig => {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
};

const config = configOrExit();
const app = await createApp(config);
await app.listen({ host: config.http.host, port: config.http.port });
