import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';

import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { AuthGuard } from './auth.guard.js';
import { RemoteSigningKeys } from './signing-keys.js';
import { TokenVerifier } from './token-verifier.js';

/** Authentication and role checks for every GraphQL operation (a global guard); no switch turns it off. */
@Module({
  providers: [
    {
      provide: RemoteSigningKeys,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new RemoteSigningKeys(config.auth.jwksUrl),
    },
    {
      provide: TokenVerifier,
      inject: [APP_CONFIG, RemoteSigningKeys],
      useFactory: (config: AppConfig, keys: RemoteSigningKeys) => new TokenVerifier(config.auth, keys.getKey),
    },
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [TokenVerifier],
})
export class AuthModule {}
