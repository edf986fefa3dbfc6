import { CampaignConfigError, loadCampaignsFile, type CampaignConfig } from '@coupons/campaign';
import type { Logger } from '@coupons/telemetry';
import { ConfigError } from './config';

/** A message for a person, on stderr, without JSON around it. */
export function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Says what is wrong and exits 1: a deployable that cannot start says why in plain words. */
export function exitWith(message: string): never {
  say(message);
  process.exit(1);
}

/**
 * A deployable's configuration and campaigns, or the exit with what is wrong: `parse` is the
 * service's or the recorder's parser (a ConfigError lists every problem), the campaigns file is
 * the one it names.
 */
export function configAndCampaignsOrExit<Config extends { readonly campaignsFile: string }>(
  parse: () => Config,
): { config: Config; campaigns: readonly CampaignConfig[] } {
  let config: Config;
  try {
    config = parse();
  } catch (err) {
    if (err instanceof ConfigError) exitWith(err.message);
    throw err;
  }
  try {
    return { config, campaigns: loadCampaignsFile(config.campaignsFile) };
  } catch (err) {
    if (err instanceof CampaignConfigError)
      exitWith(`Invalid campaigns file ${config.campaignsFile}:\n${err.message}`);
    throw err;
  }
}

/**
 * A deployable's entry point: `main` started, and the process ended with what went wrong (exit
 * 1) when it fails to start or a promise is rejected with nobody to catch it.
 */
export function runDeployable(name: string, main: () => Promise<void>): void {
  process.on('unhandledRejection', (reason) => {
    say(`unhandled rejection: ${String(reason)}`);
    process.exit(1);
  });
  main().catch((err: unknown) => {
    say(
      `${name} failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
    process.exit(1);
  });
}

/**
 * SIGTERM/SIGINT: the first one calls `stop` (which exits when it is done); a second one, while
 * the first is still stopping, exits 1 at once.
 */
export function stopOnSignals(logger: Logger, stop: (signal: NodeJS.Signals) => void): void {
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stop(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
