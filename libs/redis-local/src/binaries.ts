import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join } from 'node:path';

/**
 * The first executable file called `name` in the directories of `pathEnv` (default: PATH).
 * Empty and relative PATH entries are ignored: they would resolve against the current directory.
 */
export function findExecutableOnPath(
  name: string,
  pathEnv: string = process.env['PATH'] ?? '',
): string | undefined {
  for (const entry of pathEnv.split(delimiter)) {
    if (entry === '' || !isAbsolute(entry)) continue;
    const candidate = join(entry, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** `redis-server` on PATH, or undefined. */
export function findRedisServerBinary(): string | undefined {
  return findExecutableOnPath('redis-server');
}

/** `redis-cli` on PATH, else next to `redis-server` (both come from the same package). */
export function findRedisCliBinary(): string | undefined {
  const onPath = findExecutableOnPath('redis-cli');
  if (onPath !== undefined) return onPath;
  const server = findRedisServerBinary();
  if (server === undefined) return undefined;
  const sibling = join(dirname(server), 'redis-cli');
  return isExecutableFile(sibling) ? sibling : undefined;
}

/** What to tell a person whose machine lacks `binary`. */
export function redisInstallHint(binary: 'redis-server' | 'redis-cli' = 'redis-server'): string {
  return (
    `${binary} is not on PATH. Install Redis (Debian/Ubuntu: \`apt-get install redis-server\`, ` +
    `which also brings redis-cli; macOS: \`brew install redis\`) or add its directory to PATH.`
  );
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
