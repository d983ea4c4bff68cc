// Resolves secret references (`env:NAME`, `file:/path`) after the config has been validated,
// so secrets never sit inline in fsdr.yaml and never appear in a printed config.
import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from '../errors.js';

export const SECRET_REF = /^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$/;

export function resolveSecret(path: string, ref: string): string {
  if (ref.startsWith('env:')) {
    const name = ref.slice(4);
    const v = process.env[name];
    if (v === undefined || v === '') {
      throw new ConfigError(path, `environment variable ${name} is not set`, { hint: `export ${name}=... or use file:/path` });
    }
    return v.trim();
  }
  const file = ref.slice(5);
  try {
    // As ssh does with a private key: a secret others can read (or a group can change) is refused.
    const st = statSync(file);
    const mode = st.mode & 0o777;
    if (st.isFile() && mode & 0o027) {
      throw new ConfigError(path, `key file ${file} is accessible by others (mode 0${mode.toString(8)})`, {
        hint: `chmod 600 ${file} (or 640 with the service's group)`,
      });
    }
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(path, `cannot read key file ${file} (${code})`, {
      hint: 'check the path and that the user running fsdr (e.g. postgres for archive_command) can read it',
    });
  }
}
