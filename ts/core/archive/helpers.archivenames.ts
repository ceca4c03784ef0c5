import { RegistryError } from '../classes.registryerror.js';

/**
 * Refuses a member name that could escape the folder it is unpacked into (zip-slip) or mean
 * different files to different tools: empty, absolute (`/x`, `C:x`), a backslash, a NUL, a `..`
 * segment. Names are `/`-separated; a trailing `/` marks a directory.
 */
export function assertSafeMemberName(name: string): void {
  const reason =
    name === ''
      ? 'is empty'
      : name.startsWith('/') || /^[A-Za-z]:/.test(name)
        ? 'is an absolute path'
        : name.includes('\\')
          ? 'contains a backslash'
          : name.includes('\0')
            ? 'contains a NUL byte'
            : name.split('/').includes('..')
              ? 'contains a ".." segment'
              : undefined;
  if (reason) throw RegistryError.invalid(`archive member name ${JSON.stringify(name)} ${reason}`);
}
