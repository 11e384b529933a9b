import { Module, type DynamicModule } from '@nestjs/common';

import { APP_CONFIG, type AppConfig } from './app-config.js';

/** Makes the config built at boot injectable everywhere as `@Inject(APP_CONFIG)`. */
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ConfigModule,
      global: true,
      providers: [{ provide: APP_CONFIG, useValue: config }],
      exports: [APP_CONFIG],
    };
  }
}
