import { Global, Module } from '@nestjs/common';

import { ShutdownState } from './shutdown-state.js';

/** Provides the process-wide {@link ShutdownState} to every module, without importing HealthModule. */
@Global()
@Module({ providers: [ShutdownState], exports: [ShutdownState] })
export class ShutdownModule {}
