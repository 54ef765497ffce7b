// First start on a laptop: no manual step. A missing .env is written with fresh random secrets and the
// login is printed once; afterwards .env is only read. Production never gets a file written for it.
import { randomBytes, randomInt } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import dotenv from 'dotenv';
import { Fernet } from '#infrastructure/secrets/fernet.js';
import { ConfigError } from './config.js';
import type { Env } from './fields.js';

export type PrepareEnvironmentOptions = {
  cwd: string;
  env: Env;
  /** Where the first-start instructions go (the console); never the logger, whose output is shipped. */
  print: (line: string) => void;
};

// No 0/O, 1/l/I: the password is read off a terminal and typed into a browser.
const READABLE = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const ADMIN_PASSWORD_LENGTH = 20;

const isSet = (value: string | undefined): value is string => value !== undefined && value.trim() !== '';

export const readablePassword = (length = ADMIN_PASSWORD_LENGTH): string =>
  Array.from({ length }, () => READABLE[randomInt(READABLE.length)]).join('');

const firstStartFile = (secrets: { jwtSecret: string; adminPassword: string; fernetKey: string }, now: Date): string =>
  [
    `# Written by chatbot on its first start (${now.toISOString()}) because JWT_SECRET or ADMIN_PASSWORD was not set.`,
    '# Keep this file private (mode 0600, ignored by git). Variables already in the environment win over this file.',
    '# Every variable is described in docs/configuration.md. Do not delete this file while DATA_DIR holds data:',
    '# the data was made with these secrets (the admin password, and FERNET_KEYS to read stored secrets), and',
    '# a start without this file refuses to write new ones. To start over, move this file and DATA_DIR away.',
    '',
    '# Signs access, refresh and WebSocket tokens (48 random bytes).',
    `JWT_SECRET=${secrets.jwtSecret}`,
    '',
    '# The first admin account of the console.',
    'ADMIN_USERNAME=admin',
    `ADMIN_PASSWORD=${secrets.adminPassword}`,
    '',
    '# Fernet keys for secrets at rest, newest first, comma-separated (add a new key in front to rotate).',
    `FERNET_KEYS=${secrets.fernetKey}`,
    '',
  ].join('\n');

const loginPort = (env: Env): string => {
  const port = env.PORT?.trim();
  return port !== undefined && /^\d{1,5}$/.test(port) ? port : '8003';
};

/** Creates the file with mode 0600; false when another process created it first (its file is then used). */
const writeOnce = (path: string, content: string): boolean => {
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- path is <cwd>/.env, chosen by the operator
    writeFileSync(path, content, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- same .env path
  chmodSync(path, 0o600); // in case the file system ignored the mode
  return true;
};

const printLogin = ({
  path,
  env,
  adminPassword,
  print,
}: {
  path: string;
  env: Env;
  adminPassword: string;
  print: (line: string) => void;
}) => {
  const username = isSet(env.ADMIN_USERNAME) ? env.ADMIN_USERNAME : 'admin';
  const password = isSet(env.ADMIN_PASSWORD)
    ? 'the ADMIN_PASSWORD already set in your environment'
    : `${adminPassword}   (shown only now; it is ADMIN_PASSWORD in ${path})`;
  print(`First start: wrote ${path} with random secrets (JWT_SECRET, ADMIN_PASSWORD, FERNET_KEYS).`);
  print(`Log in at http://localhost:${loginPort(env)}/`);
  print(`  username: ${username}`);
  print(`  password: ${password}`);
};

/** Embedded data from an earlier start (PGlite writes PG_VERSION when it creates its cluster). */
const embeddedDataDir = (cwd: string, env: Env): string | null => {
  const dir = resolve(cwd, isSet(env.DATA_DIR) ? env.DATA_DIR : 'data');
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- the path is DATA_DIR from the configuration, not request input
  return existsSync(join(dir, 'pgdata', 'PG_VERSION')) ? dir : null;
};

/**
 * New secrets over old data would print an admin password that does not work (the account keeps its
 * password) and a Fernet key that cannot read the stored secrets: refuse, and say how to reset on purpose.
 */
const refuseSecretsOverData = (path: string, dataDir: string): never => {
  throw new ConfigError([
    {
      variable: '.env',
      problem: `${path} is missing, but ${dataDir} holds data made with the secrets it contained; new random secrets would print an admin password that does not work and a FERNET_KEYS key that cannot read the stored secrets`,
      fix: `Put the old .env back (or set JWT_SECRET, ADMIN_PASSWORD and FERNET_KEYS as they were). To start over on purpose, move the data away first (mv ${dataDir} ${dataDir}.old) and start again: a fresh .env and an empty data directory are created`,
    },
  ]);
};

/**
 * Returns `env` merged with the `.env` file in `cwd` (variables already in `env` always win; empty ones
 * count as unset). Outside production, writes that file first when it is missing and the required secrets
 * are not in `env`, then prints how to log in, including the generated password, this one time. Refuses
 * (ConfigError) to generate secrets when the embedded data directory already holds data.
 */
export const prepareEnvironment = ({
  cwd,
  env,
  print,
}: PrepareEnvironmentOptions): Record<string, string | undefined> => {
  const path = join(cwd, '.env');
  const production = env.NODE_ENV?.trim().toLowerCase() === 'production';
  const needsSecrets = !isSet(env.JWT_SECRET) || !isSet(env.ADMIN_PASSWORD);

  // eslint-disable-next-line security/detect-non-literal-fs-filename -- same .env path
  if (!production && needsSecrets && !existsSync(path)) {
    const dataDir = embeddedDataDir(cwd, env);
    if (dataDir !== null) refuseSecretsOverData(path, dataDir);
    const adminPassword = readablePassword();
    const content = firstStartFile(
      { jwtSecret: randomBytes(48).toString('base64url'), adminPassword, fernetKey: Fernet.generateKey() },
      new Date(),
    );
    if (writeOnce(path, content)) printLogin({ path, env, adminPassword, print });
  }

  // eslint-disable-next-line security/detect-non-literal-fs-filename -- same .env path
  const fromFile = existsSync(path) ? dotenv.parse(readFileSync(path)) : {};
  const merged: Record<string, string | undefined> = { ...env };
  for (const [key, value] of Object.entries(fromFile)) {
    if (!isSet(merged[key])) merged[key] = value;
  }
  return merged;
};
