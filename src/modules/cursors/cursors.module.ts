import { Global, Logger, Module } from '@nestjs/common';

import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { CursorSigner } from './cursor-signer.js';

/** The one {@link CursorSigner} of the process, keyed by CURSOR_SECRET. */
@Global()
@Module({
  providers: [
    {
      provide: CursorSigner,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): CursorSigner => {
        if (config.cursors.secretGenerated) {
          new Logger('Cursors').warn(
            'CURSOR_SECRET is not set: paging cursors are signed with a random secret of this process and work on it only',
          );
        }
        return new CursorSigner(config.cursors.secret);
      },
    },
  ],
  exports: [CursorSigner],
})
export class CursorsModule {}
