import { parseDuration } from '../core/helpers.duration.js';
import type { IOciRetentionRule } from '../oci/interfaces.oci.js';

/** How a rule is written on the command line; shown in the errors. */
export const RETENTION_FLAG_FORM = '<repositories>:keep-newest=<n>,keep-tags=<glob>,delete-untagged-after=<duration>';

/**
 * One `--retention` value as an OCI retention rule: `team/*:keep-newest=10,keep-tags=v*,keep-tags=latest,
 * delete-untagged-after=7d`. Repository names and tags hold no `:`, `,` or `=`, so the value splits
 * without quoting rules; `keep-tags` may be repeated. Throws a message naming what was wrong.
 */
export function parseRetentionFlag(value: string): IOciRetentionRule {
  const colon = value.indexOf(':');
  if (colon <= 0) throw new Error(`'${value}' is not ${RETENTION_FLAG_FORM}`);
  const rule: IOciRetentionRule = { repositories: value.slice(0, colon) };
  const settings = value.slice(colon + 1);
  if (settings === '') throw new Error(`'${value}' sets nothing: add keep-newest, keep-tags or delete-untagged-after`);
  for (const setting of settings.split(',')) {
    const [key, setTo, ...extra] = setting.split('=');
    if (setTo === undefined || setTo === '' || extra.length > 0) throw new Error(`'${setting}' in '${value}' is not <setting>=<value>`);
    if (key === 'keep-newest') {
      if (!/^[0-9]{1,9}$/.test(setTo)) throw new Error(`keep-newest must be a whole number of tags, not '${setTo}'`);
      rule.keepNewest = Number(setTo);
    } else if (key === 'keep-tags') {
      rule.keepTags = [...((rule.keepTags as string[] | undefined) ?? []), setTo];
    } else if (key === 'delete-untagged-after') {
      parseDuration(setTo, 'delete-untagged-after');
      rule.deleteUntaggedAfter = setTo;
    } else {
      throw new Error(`unknown setting '${key}' in '${value}' (keep-newest, keep-tags, delete-untagged-after)`);
    }
  }
  return rule;
}
