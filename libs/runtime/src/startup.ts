import { CampaignConfigError, loadCampaignsFile, type Campaign } from '@coupons/campaign';
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
): { config: Config; campaigns: readonly Campaign[] } {
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
