// The storage errors every backend maps its own failures to, so callers handle "missing" or
// "exists" once for all backends (ENOENT, NoSuchKey and 404 all become ObjectNotFoundError).
import { FsdrError, StorageError } from '../errors.js';

export class ObjectNotFoundError extends FsdrError {
  constructor(readonly key: string, where: string) {
    super('FSDR_OBJECT_NOT_FOUND', `object ${key} not found in ${where}`);
  }
}

export class ObjectExistsError extends FsdrError {
  constructor(readonly key: string, where: string) {
    super('FSDR_OBJECT_EXISTS', `object ${key} already exists in ${where}`);
  }
}

export function unreachable(where: string, err: unknown): StorageError {
  const e = err as { message?: string; code?: string; name?: string };
  const why = e.code ?? e.name ?? 'error';
  return new StorageError(`cannot reach ${where}: ${why}${e.message ? ` (${e.message.split('\n')[0]})` : ''}`, {
    code: 'FSDR_STORAGE_UNREACHABLE',
    hint: 'check the endpoint, network and credentials; fsdr retries, PostgreSQL retries archive_command',
    cause: err,
  });
}
