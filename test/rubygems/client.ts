/**
 * The environment of one real `gem` or `bundle` run: nothing from the parent's Ruby or bundler
 * configuration; installed gems, spec cache and bundler state below `dir`, apart for each `label`.
 */
import * as path from 'node:path';
import { envWithout } from '../helpers/clients.js';

export interface IRubyEnvOptions {
  /** HOME, and where `.gemrc` is read from. */
  home: string;
  dir: string;
  label: string;
  /** The key `gem push`, `yank` and `owner` send (GEM_HOST_API_KEY). */
  apiKey?: string;
  /** Bundler's credentials for 127.0.0.1, `user:token` (the token is the Basic password). */
  bundleCredentials?: string;
}

export function rubyEnv(options: IRubyEnvOptions): NodeJS.ProcessEnv {
  const at = (what: string) => path.join(options.dir, `${what}-${options.label}`);
  return envWithout(/^(GEM_|BUNDLE_|BUNDLER_|RUBY|GEMRC$)/, {
    HOME: options.home,
    GEMRC: path.join(options.home, '.gemrc'),
    GEM_HOME: at('gems'),
    GEM_PATH: at('gems'),
    GEM_SPEC_CACHE: at('spec-cache'),
    ...(options.apiKey === undefined ? {} : { GEM_HOST_API_KEY: options.apiKey }),
    ...(options.bundleCredentials === undefined ? {} : { BUNDLE_127__0__0__1: options.bundleCredentials }),
    BUNDLE_USER_HOME: at('bundle-home'),
    BUNDLE_APP_CONFIG: at('bundle-config'),
    BUNDLE_PATH: at('bundle-path'),
    BUNDLE_DISABLE_VERSION_CHECK: 'true',
    BUNDLE_IGNORE_MESSAGES: 'true',
    BUNDLE_SILENCE_ROOT_WARNING: 'true',
    NO_COLOR: '1',
  });
}
