import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_VALIDATION_WINDOW_MS } from '../../ts/core/helpers.config.js';

/**
 * Waits out the validation window (`cache.validationWindowMs`, left at its default): a write through one
 * instance is seen by the others within it, as documented; checks of what every instance serves after a race
 * between instances come after it.
 */
export const settle = () => sleep(DEFAULT_VALIDATION_WINDOW_MS + 100);
