import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { packageDir, renderAll } from './render';

/** npm run monitoring:generate: writes the rules, the PrometheusRule, the dashboard and the kustomization. */
async function main(): Promise<void> {
  const dir = packageDir();
  for (const [file, text] of Object.entries(await renderAll())) {
    const path = join(dir, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    process.stdout.write(`wrote ${relative(process.cwd(), path)}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `monitoring:generate failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
