/**
 * The real `composer` for end-to-end tests: one run with its own COMPOSER_HOME and HOME, every
 * `COMPOSER_*` variable of the parent dropped, so nothing reaches the internet or the user's setup.
 */
import * as path from 'node:path';
import { clientMissing, envWithout, runClient, type IClientRun } from '../helpers/clients.js';

export const COMPOSER = 'composer';

// Debian: apt-get install composer php-cli php-zip unzip.
export const composerMissing = () =>
  clientMissing(COMPOSER, ['--version', '--no-ansi'], (output) => (/^Composer version 2\./m.test(output) ? null : `${output || 'no version'}, need Composer 2`));

/** Environment for one composer run: nothing from the parent's composer configuration. */
function composerEnv(home: string): NodeJS.ProcessEnv {
  return envWithout(/^COMPOSER/, {
    HOME: home,
    COMPOSER_HOME: home,
    COMPOSER_CACHE_DIR: path.join(home, 'cache'),
    COMPOSER_NO_INTERACTION: '1',
    COMPOSER_ALLOW_SUPERUSER: '1',
    COMPOSER_DISABLE_XDEBUG_WARN: '1',
  });
}

/** `composer args` in `cwd` with COMPOSER_HOME `home`; killed after three minutes. */
export const runComposer = (args: string[], home: string, cwd: string): Promise<IClientRun> =>
  runClient(COMPOSER, [...args, '--no-ansi', '--no-interaction'], { cwd, env: composerEnv(home), timeoutMs: 180_000 });
